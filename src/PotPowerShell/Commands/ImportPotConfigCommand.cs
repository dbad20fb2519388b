using System.Management.Automation;
using PotPowerShell.Core.Config;
using PotPowerShell.Infrastructure;

namespace PotPowerShell.Commands;

/// <summary>Reads POT configuration files (.json with comments, .yml/.yaml) into validated PotConfig objects.</summary>
[Cmdlet(VerbsData.Import, "PotConfig", DefaultParameterSetName = PathSet)]
[OutputType(typeof(PotConfig))]
public sealed class ImportPotConfigCommand : FileReadingCmdlet
{
    protected override void Read(string file)
    {
        var config = PotConfigLoader.Load(file);
        foreach (var warning in config.Warnings)
            WriteWarning($"{System.IO.Path.GetFileName(file)}: {warning}");
        WriteObject(config);
    }
}
