using System.Management.Automation;
using PotPowerShell.Core;
using PotPowerShell.Core.Comparison;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Reports;
using PotPowerShell.Infrastructure;
using PotPowerShell.Reporting;

namespace PotPowerShell.Commands;

/// <summary>
/// Writes the results piped to it (quantization, AAQ, comparison, ranking, evaluation) as one self-contained HTML page
/// with summary tables and plots, or as the Markdown summary for a CI step summary.
/// </summary>
[Cmdlet(VerbsData.Export, "PotReport", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportPotReportCommand : PotCmdlet
{
    // Plain objects, not the core's or the reporting assembly's types: those load only once a record arrives.
    private readonly List<object> _inputs = new();

    /// <summary>The file to write (.html, or .md for Markdown).</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Results of the module's cmdlets.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    public PSObject InputObject { get; set; } = null!;

    /// <summary>Html (default) or Markdown; by default Markdown for a .md path.</summary>
    [Parameter]
    [ValidateSet("Html", "Markdown")]
    public string? Format { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Title { get; set; } = "PotPowerShell report";

    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Returns the written file.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        // `$result, $comparisons | Export-PotReport` pipes an array as one object when $comparisons holds several.
        if (InputObject?.BaseObject is object[] several)
        {
            foreach (var item in several) Add(item == null ? null : PSObject.AsPSObject(item));
            return;
        }
        Add(InputObject);
    }

    private void Add(PSObject? item)
    {
        object? input = item?.BaseObject switch
        {
            QuantizationResult q => q,
            AccuracyAwareResult a => a,
            ModelComparison c => c.Result,
            ComparisonResult c => c,
            LayerRank r => r,
            ModelEvaluation e => e.Measurement,
            MeasurementResult m => m,
            _ => null,
        };
        if (input != null)
        {
            _inputs.Add(input);
            return;
        }
        string type = item?.TypeNames.FirstOrDefault() ?? "null";
        WriteError(ToErrorRecord(new PotException("ReportInputUnsupported", PotErrorCategory.InvalidArgument,
            $"Export-PotReport does not know the input of type '{type}'. Pipe results of Invoke-DefaultQuantization, Invoke-AccuracyAwareQuantization, Compare-PotModel, Get-LayerRanking or Measure-PotModel (not objects read back from CSV or JSON).", type)));
    }

    protected override void EndProcessing()
    {
        if (_inputs.Count == 0)
        {
            WriteError(ToErrorRecord(new PotException("ReportEmpty", PotErrorCategory.InvalidArgument,
                "No result reached Export-PotReport, so there is nothing to report. Pipe the results of the module's cmdlets to it.", Path)));
            return;
        }
        string path = ResolveLiteralPath(Path);
        bool markdown = Format != null ? Format == "Markdown" : System.IO.Path.GetExtension(path).Equals(".md", StringComparison.OrdinalIgnoreCase);
        if (!CheckOutputPath(path, Force, nameof(Path))) return;
        if (!ShouldProcess(path, $"Write {(markdown ? "a Markdown" : "an HTML")} report of {_inputs.Count} result(s)")) return;
        Run(() =>
        {
            var content = Content();
            ReportFile.Write(markdown ? MarkdownReport.Build(content, Title) : HtmlReport.Build(content, Title), path, Force);
            WriteVerbose($"Wrote '{path}'.");
            if (PassThru) WriteObject(new FileInfo(path));
        });
    }

    private ReportContent Content()
    {
        var content = new ReportContent();
        foreach (var input in _inputs)
        {
            switch (input)
            {
                case QuantizationResult q: content.Quantizations.Add(q); break;
                case AccuracyAwareResult a: content.AccuracyAware.Add(a); break;
                case ComparisonResult c: content.Comparisons.Add(c); break;
                case LayerRank r: content.Ranks.Add(r); break;
                case MeasurementResult m: content.Evaluations.Add(m); break;
            }
        }
        return content;
    }
}
