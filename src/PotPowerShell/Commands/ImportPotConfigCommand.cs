using System.Management.Automation;
using PotPowerShell.Core.Config;
using PotPowerShell.Infrastructure;

namespace PotPowerShell.Commands;

/// <summary>Reads POT configuration files (.json with comments, .yml/.yaml) into validated PotConfig objects.</summary>
[Cmdlet(VerbsData.Import, "PotConfig", DefaultParameterSetName = PathSet)]
[OutputType(typeof(PotConfig))]
public sealed class ImportPotConfigCommand : PotCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralPathSet = "LiteralPath";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        var files = ParameterSetName == LiteralPathSet
            ? LiteralPath.Select(ResolveLiteralPath)
            : Path.SelectMany(ResolveWildcardPath);
        foreach (var file in files)
        {
            WriteVerbose($"Reading '{file}'.");
            Run(() =>
            {
                var config = PotConfigLoader.Load(file);
                foreach (var warning in config.Warnings)
                    WriteWarning($"{System.IO.Path.GetFileName(file)}: {warning}");
                WriteObject(config);
            });
        }
    }
}
