using System.Management.Automation;
using PotPowerShell.Core.Comparison;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Requests;
using PotPowerShell.Infrastructure;

namespace PotPowerShell.Commands;

/// <summary>
/// Compares quantized models with their FP32 model on an engine's data: every metric of both with its drop and a
/// paired-bootstrap interval, top-1 agreement, latency of both timed interleaved, file sizes and layer precisions.
/// </summary>
[Cmdlet(VerbsData.Compare, "PotModel", DefaultParameterSetName = DataSet)]
[OutputType(typeof(ModelComparison))]
public sealed class ComparePotModelCommand : PotCmdlet, IDisposable
{
    private const string EngineSet = "Engine";
    private const string DataSet = "Data";
    private const string ConfigSet = "Config";

    private ComparisonPipeline? _pipeline;
    private bool _referenceIsParameter;
    private bool _warnedReference;

    /// <summary>
    /// The candidate models (wildcards allowed). Piped objects bind by property name: OutputPath (quantization and AAQ
    /// results: the INT8 model), Path (Import-PotModel), PSPath and FullName (files).
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("OutputPath", "PSPath", "FullName")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>The FP32 model. Binds from the ModelPath of a piped quantization or AAQ result.</summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Alias("ModelPath")]
    [ValidateNotNullOrEmpty]
    public string ReferencePath { get; set; } = "";

    /// <summary>An engine YAML file (about_PotPowerShell_Engine).</summary>
    [Parameter(Mandatory = true, ParameterSetName = EngineSet)]
    [ValidateNotNullOrEmpty]
    public string EnginePath { get; set; } = "";

    /// <summary>A folder of .npy files or an .npz archive; with labels.npy, accuracy@top1 of a classification adapter.</summary>
    [Parameter(Mandatory = true, ParameterSetName = DataSet)]
    [ValidateNotNullOrEmpty]
    public string DataPath { get; set; } = "";

    /// <summary>A POT configuration (Import-PotConfig): its engine section gives the data, adapters and metrics.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ConfigSet)]
    [ValidateNotNull]
    public PotConfig Config { get; set; } = null!;

    /// <summary>Timed runs of each model, interleaved, after the warm-up; 0 skips the latency measurement.</summary>
    [Parameter]
    [ValidateRange(0, 100000)]
    public int LatencyRuns { get; set; } = 50;

    [Parameter]
    [ValidateRange(0, 1000)]
    public int WarmupRuns { get; set; } = 3;

    /// <summary>Resamples of the paired bootstrap behind DropLower95 and DropUpper95.</summary>
    [Parameter]
    [ValidateRange(100, 1000000)]
    public int BootstrapSamples { get; set; } = 2000;

    /// <summary>Seed of the bootstrap: the same seed gives the same interval.</summary>
    [Parameter]
    public int Seed { get; set; }

    [Parameter]
    [ValidateRange(0, 1024)]
    public int? Threads { get; set; }

    [Parameter]
    [ValidateRange(1, 1 << 20)]
    public int? BatchSize { get; set; }

    // Parameters are bound by now, pipeline values not yet: a -ReferencePath given here serves every input.
    protected override void BeginProcessing() => _referenceIsParameter = MyInvocation.BoundParameters.ContainsKey(nameof(ReferencePath));

    protected override void ProcessRecord()
    {
        // The engine (or data) serves every input: its errors stop the command before the first comparison (the error rule).
        if (_pipeline == null) Run(() => _pipeline = ComparisonPipeline.Open(BuildRequest(), new WarningLog(this)), terminating: true);
        var pipeline = _pipeline!;
        string reference = ResolveLiteralPath(ReferencePath);
        // One evaluator per reference model: reference: fp32 metrics compare with it, and its evaluation is cached. A
        // reference bound from a piped result belongs to that input: its error is written and the next input runs.
        bool read = false;
        if (!Run(() => read = pipeline.UseReference(reference), terminating: _referenceIsParameter)) return;
        if (read && pipeline.NoMetricsWarning is { } warning) WriteWarning(warning);
        if (read) _warnedReference = false;
        foreach (string pattern in Path)
            foreach (string model in ResolveWildcardPath(pattern))
            {
                WriteVerbose($"Comparing '{model}' with '{reference}' on '{pipeline.Engine.Source}'.");
                Run(() =>
                {
                    var comparison = pipeline.Compare(model, Progress, CancellationToken);
                    WriteObject(new ModelComparison(comparison).ToPSObject());
                    foreach (var c in comparison.Metrics.Where(c => double.IsNaN(c.ReferenceValue) || double.IsNaN(c.Value)))
                        WriteWarning($"'{(double.IsNaN(c.ReferenceValue) ? reference : model)}': {pipeline.Evaluator!.NoValue(c.Name, comparison.ItemCount)}");
                });
                // Once per reference: its items with NaN or Inf outputs score the worst value for every candidate.
                if (!_warnedReference && pipeline.ReferenceWarning is { } referenceWarning)
                {
                    _warnedReference = true;
                    WriteWarning(referenceWarning);
                }
            }
    }

    private ComparisonRequest BuildRequest() => new()
    {
        Engine = ParameterSetName == ConfigSet
            ? EngineSource.FromConfig(Config)
            : EngineSource.FromPaths(
                ParameterSetName == EngineSet ? ResolveLiteralPath(EnginePath) : null,
                ParameterSetName == DataSet ? ResolveLiteralPath(DataPath) : null),
        Comparison = new ComparisonOptions { LatencyRuns = LatencyRuns, WarmupRuns = WarmupRuns, BootstrapSamples = BootstrapSamples, Seed = Seed },
        ScriptMetrics = ScriptBlockMetric.FactoryFor(this),
        Threads = Threads,
        BatchSize = BatchSize,
    };

    protected override void EndProcessing()
    {
        _pipeline?.Dispose();
        _pipeline = null;
    }

    // The pipeline may stop before EndProcessing (Ctrl+C); PowerShell still disposes the cmdlet.
    void IDisposable.Dispose()
    {
        _pipeline?.Dispose();
        _pipeline = null;
        Dispose();
    }
}
