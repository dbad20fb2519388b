using System.Management.Automation;
using PotPowerShell.Core.Results;
using PotPowerShell.Infrastructure;

namespace PotPowerShell.Commands;

/// <summary>Reads ONNX model files and describes them as PotModel objects.</summary>
[Cmdlet(VerbsData.Import, "PotModel", DefaultParameterSetName = PathSet)]
[OutputType(typeof(PotModel))]
public sealed class ImportPotModelCommand : FileReadingCmdlet
{
    protected override void Read(string file) => WriteObject(PotModelInspector.Inspect(file));
}
