using System.Management.Automation;

namespace PotPowerShell.Infrastructure;

/// <summary>
/// A cmdlet that reads files named by -Path (wildcards, pipeline) or -LiteralPath (PSPath by property name) and
/// writes one object per file: the Import-* cmdlets. Each file is read in <see cref="PotCmdlet.Run"/>, so one bad
/// file is that file's error and the others are still read.
/// </summary>
public abstract class FileReadingCmdlet : PotCmdlet
{
    protected const string PathSet = "Path";
    private const string LiteralPathSet = "LiteralPath";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Reads one resolved file and writes what it holds.</summary>
    protected abstract void Read(string file);

    protected override void ProcessRecord()
    {
        var files = ParameterSetName == LiteralPathSet
            ? LiteralPath.Select(ResolveLiteralPath)
            : Path.SelectMany(ResolveWildcardPath);
        foreach (var file in files)
        {
            WriteVerbose($"Reading '{file}'.");
            Run(() => Read(file));
        }
    }
}
