using System.Management.Automation;
using PotPowerShell.Core;
using PotPowerShell.Core.Config;
using PotPowerShell.Infrastructure;

namespace PotPowerShell.Commands;

/// <summary>Writes a PotConfig as a normalized POT configuration file (JSON or YAML) that reads back equal.</summary>
[Cmdlet(VerbsData.Export, "PotConfig", SupportsShouldProcess = true)]
[OutputType(typeof(PotConfig))]
public sealed class ExportPotConfigCommand : PotCmdlet
{
    private readonly HashSet<string> _written = new(CanonicalPath.Comparer);

    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    public PotConfig InputObject { get; set; } = null!;

    [Parameter]
    [ValidateSet("Json", "Yaml")]
    public string? Format { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        Run(() =>
        {
            ConfigFormat? format = Format is null ? null : Format == "Yaml" ? ConfigFormat.Yaml : ConfigFormat.Json;
            var (target, resolvedFormat) = PotConfigWriter.ResolveTarget(ResolveLiteralPath(Path), format);
            // Several configs piped to one -Path would silently overwrite each other.
            if (_written.Contains(target))
                throw new Core.PotException("OutputWrittenTwice", Core.PotErrorCategory.ResourceExists,
                    $"'{target}' was already written by this command; export each config to its own file.", target);
            if (!CheckOutputPath(target, Force, nameof(Path))) return;
            if (!ShouldProcess(target, $"Write the config '{InputObject.Path}' as {resolvedFormat}")) return;
            var export = PotConfigWriter.Save(InputObject, target, resolvedFormat, overwrite: Force);
            _written.Add(target);
            WriteVerbose($"Wrote '{target}'.");
            foreach (var warning in export.Warnings) WriteWarning(warning);
            if (PassThru) WriteObject(export.Config);
        });
    }
}
