using System.Management.Automation;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Infrastructure;

namespace PotPowerShell.Commands;

/// <summary>Reads ONNX model files and describes them as PotModel objects.</summary>
[Cmdlet(VerbsData.Import, "PotModel", DefaultParameterSetName = PathSet)]
[OutputType(typeof(PotModel))]
public sealed class ImportPotModelCommand : PotCmdlet
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
            Run(() => WriteObject(PotModelInspector.Inspect(file)));
        }
    }
}
