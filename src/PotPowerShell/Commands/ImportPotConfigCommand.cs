using System.Management.Automation;
using PotPowerShell.Core.Config;
using PotPowerShell.Infrastructure;

namespace PotPowerShell.Commands;

/// <summary>Reads POT configuration files (.json with comments, .yml/.yaml) into validated PotConfig objects.</summary>
[Cmdlet(VerbsData.Import, "PotConfig", DefaultParameterSetName = PathSet)]
[OutputType(typeof(PotConfig))]
public sealed class ImportPotConfigCommand : FileReadingCmdlet
{
    /// <summary>The .onnx model, in place of the file's model section (which the file may then leave out).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ModelPath { get; set; }

    /// <summary>An engine file or a folder of calibration data, in place of the file's engine section.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? EnginePath { get; set; }

    protected override void Read(string file)
    {
        var given = ModelPath == null && EnginePath == null ? null
            : new GivenSections(ModelPath == null ? null : ResolveLiteralPath(ModelPath), EnginePath == null ? null : ResolveLiteralPath(EnginePath));
        var config = PotConfigLoader.Load(file, given);
        foreach (var warning in config.Warnings)
            WriteWarning($"{System.IO.Path.GetFileName(file)}: {warning}");
        WriteObject(config);
    }
}
