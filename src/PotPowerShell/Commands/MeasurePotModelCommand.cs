using System.Management.Automation;
using PotPowerShell.Core;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Requests;
using PotPowerShell.Core.Results;
using PotPowerShell.Infrastructure;

namespace PotPowerShell.Commands;

/// <summary>
/// Evaluates ONNX models (FP32 or quantized) on an engine's data: metric values, per-sample values, latency.
/// POT's -e (evaluate). One evaluator serves every model of the pipeline, so items are read and preprocessed once.
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "PotModel", DefaultParameterSetName = EngineSet)]
[OutputType(typeof(ModelEvaluation))]
public sealed class MeasurePotModelCommand : PotCmdlet, IDisposable
{
    private const string EngineSet = "Engine";
    private const string DataSet = "Data";
    // A piped PotConfig evaluates the config's own model; -Config with models from the pipeline evaluates those models
    // with the config's engine. Two sets, so that a piped PotConfig never binds its own Path to -Path.
    private const string ConfigSet = "Config";
    private const string ConfigModelSet = "ConfigModel";
    // The same three ways with -LiteralPath instead of -Path.
    private const string EngineLiteralSet = "EngineLiteralPath";
    private const string DataLiteralSet = "DataLiteralPath";
    private const string ConfigModelLiteralSet = "ConfigModelLiteralPath";

    // One pipeline (one evaluator) serves every model while the request's engine and reference stay the same.
    private MeasurementPipeline? _pipeline;
    private bool _warnedNoMetrics;
    private bool _warnedReference;

    /// <summary>
    /// Models to evaluate; wildcards are expanded. Path strings and PotModel objects (their Path) bind from the pipeline.
    /// Not in the Config set: a piped PotConfig would otherwise bind its own Path (the config file).
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = EngineSet)]
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = DataSet)]
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ConfigModelSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>
    /// Models to evaluate, taken literally. Piped objects bind by property name in this order: PSPath and FullName
    /// (files), OutputPath (quantization results: the quantized model, not their source ModelPath), ModelPath.
    /// </summary>
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = EngineLiteralSet)]
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = DataLiteralSet)]
    [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ConfigModelLiteralSet)]
    [Alias("PSPath", "LP", "FullName", "OutputPath", "ModelPath")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>
    /// A piped quantization result as it is, besides its OutputPath bound to -LiteralPath: its ModelPath is the default
    /// reference (see <see cref="ReferenceFor"/>). Hidden: it is never given by name. Only in the LiteralPath sets, where
    /// a result's OutputPath binds; in every set it would bind first and keep the pipeline in the default set.
    /// </summary>
    [Parameter(ValueFromPipeline = true, DontShow = true, ParameterSetName = EngineLiteralSet)]
    [Parameter(ValueFromPipeline = true, DontShow = true, ParameterSetName = DataLiteralSet)]
    [Parameter(ValueFromPipeline = true, DontShow = true, ParameterSetName = ConfigModelLiteralSet)]
    public IQuantizedModelResult? QuantizationResult { get; set; }

    /// <summary>An engine YAML file (about_PotPowerShell_Engine).</summary>
    [Parameter(Mandatory = true, ParameterSetName = EngineSet)]
    [Parameter(Mandatory = true, ParameterSetName = EngineLiteralSet)]
    [ValidateNotNullOrEmpty]
    public string EnginePath { get; set; } = "";

    /// <summary>A folder of .npy files or an .npz archive; with labels.npy, accuracy@top1 of a classification adapter.</summary>
    [Parameter(Mandatory = true, ParameterSetName = DataSet)]
    [Parameter(Mandatory = true, ParameterSetName = DataLiteralSet)]
    [ValidateNotNullOrEmpty]
    public string DataPath { get; set; } = "";

    /// <summary>
    /// A POT configuration (Import-PotConfig): its engine section gives the data, adapters and metrics; piped alone, its
    /// model is the one evaluated.
    /// </summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ConfigSet)]
    [Parameter(Mandatory = true, ParameterSetName = ConfigModelSet)]
    [Parameter(Mandatory = true, ParameterSetName = ConfigModelLiteralSet)]
    [ValidateNotNull]
    public PotConfig Config { get; set; } = null!;

    /// <summary>A custom metric: param($Outputs, $Annotation, $Sample), returning one number per sample.</summary>
    [Parameter]
    public ScriptBlock? Metric { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string MetricName { get; set; } = "custom";

    // A string, not the core's MetricDirection: a value-type field of a core type would make PowerShell load the core
    // while importing the module, before the private load context is in place.
    [Parameter]
    [ValidateSet("HigherBetter", "HigherWorse")]
    public string MetricDirection { get; set; } = "HigherBetter";

    /// <summary>Item: -Metric runs per sample (the mean is the value). Dataset: once, as param($Samples), over every item.</summary>
    [Parameter]
    [ValidateSet("Item", "Dataset")]
    public string MetricLevel { get; set; } = "Item";

    /// <summary>
    /// The FP32 model for metrics that compare with its outputs (reference: fp32). Default: the ModelPath of a piped
    /// quantization result.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ReferenceModelPath { get; set; }

    [Parameter]
    public SwitchParameter PerSample { get; set; }

    [Parameter]
    public SwitchParameter Latency { get; set; }

    [Parameter]
    [ValidateRange(0, 1000)]
    public int WarmupRuns { get; set; } = 3;

    [Parameter]
    [ValidateRange(0, PotPowerShell.Core.Runtime.OrtSessions.MaxThreads)]
    public int? Threads { get; set; }

    [Parameter]
    [ValidateRange(1, 1 << 20)]
    public int? BatchSize { get; set; }

    protected override void ProcessRecord()
    {
        bool ownConfig = ParameterSetName == ConfigSet;
        var request = BuildRequest();
        // One evaluator per engine and reference: a new piped config with another engine, or a piped result with
        // another FP32 model for the engine's reference metrics, gets its own.
        if (_pipeline != null && !_pipeline.Serves(request))
        {
            _pipeline.Dispose();
            _pipeline = null;
        }
        // The error rule (ARCHITECTURE.md, "Errors"): an engine or data given as a parameter serves every model, so a
        // failure stops the command; the engine of a piped configuration belongs to that input only. So does the FP32
        // model of a piped result, while a -ReferenceModelPath serves every input.
        var models = (ownConfig ? new[] { Config.Model.ModelPath }
            : ParameterSetName.EndsWith("LiteralPath", StringComparison.Ordinal) ? LiteralPath.Select(ResolveLiteralPath)
            : Path.SelectMany(ResolveWildcardPath)).ToList();
        if (_pipeline == null && !Run(() => _pipeline = MeasurementPipeline.Open(request, new WarningLog(this)), terminating: !ownConfig)) return;
        var pipeline = _pipeline!;
        if (!Run(() => pipeline.UseReference(request), terminating: request.ReferenceGiven)) return;
        if (!Run(pipeline.Prepare, terminating: !ownConfig)) return;
        WarnNoMetricsOnce();
        foreach (string model in models) Measure(model);
    }

    private void Measure(string model)
    {
        var pipeline = _pipeline!;
        WriteVerbose($"Evaluating '{model}' on '{pipeline.Engine.Source}'.");
        Run(() =>
        {
            // Reading a large model and creating its session take a while before the first batch reports.
            Progress.Report(new PotProgress("Evaluating " + System.IO.Path.GetFileName(model), "Loading the model", -1));
            var m = pipeline.Measure(model, Progress, CancellationToken);
            WarnNoMetricsOnce();
            if (m.Evaluation.BatchFallback)
                WriteWarning($"A batch of several items of '{model}' could not run although its batch axis is dynamic, so it was evaluated one item per inference: {m.Evaluation.BatchFallbackReason} Set batch_size: 1 in the engine (or -BatchSize 1) where that is expected.");
            if (m.Evaluation.NonFiniteItems > 0)
                WriteWarning($"'{model}' gave NaN or Inf outputs on {m.Evaluation.NonFiniteItems} items (first item {m.Evaluation.FirstNonFiniteItem}); every metric scored them at its worst value.");
            else if (!_warnedReference && pipeline.ReferenceWarning is { } referenceWarning)
            {
                _warnedReference = true;
                WriteWarning(referenceWarning);
            }
            foreach (var metric in pipeline.Evaluator!.Metrics.Where(x => m.Evaluation.Values.TryGetValue(x.Name, out double v) && double.IsNaN(v)))
                WriteWarning($"'{model}': {pipeline.Evaluator.NoValue(metric.Name, m.Evaluation.Items.Count)}");
            var rows = PerSample ? ModelEvaluation.Rows(m.Evaluation, pipeline.Evaluator!.Metrics) : null;
            WriteObject(new ModelEvaluation(m, rows).ToPSObject());
        });
    }

    private void WarnNoMetricsOnce()
    {
        if (_warnedNoMetrics || _pipeline?.NoMetricsWarning is not { } warning) return;
        _warnedNoMetrics = true;
        WriteWarning(warning);
    }

    /// <summary>This input's request: the engine (parameters or configuration), the reference and the evaluator settings.</summary>
    private MeasurementRequest BuildRequest()
    {
        var bound = MyInvocation.BoundParameters;
        var engine = ParameterSetName is ConfigSet or ConfigModelSet or ConfigModelLiteralSet
            ? EngineSource.FromConfig(Config)
            : EngineSource.FromPaths(
                bound.ContainsKey(nameof(EnginePath)) ? ResolveLiteralPath(EnginePath) : null,
                bound.ContainsKey(nameof(DataPath)) ? ResolveLiteralPath(DataPath) : null);
        return new MeasurementRequest
        {
            Engine = engine,
            ReferenceModelPath = ReferenceFor(),
            ReferenceGiven = ReferenceModelPath != null,
            CustomMetrics = Metric == null ? Array.Empty<CustomMetric>() : new[] { CustomMetricOf(new ScriptBlockMetric(Metric, MetricName, null)) },
            ScriptMetrics = ScriptBlockMetric.FactoryFor(this),
            Threads = Threads,
            BatchSize = BatchSize,
            PerSample = PerSample,
            Latency = Latency,
            WarmupRuns = WarmupRuns,
        };
    }

    /// <summary>
    /// The FP32 model for reference: fp32 metrics: -ReferenceModelPath, else the source model of a piped
    /// Invoke-DefaultQuantization or Invoke-AccuracyAwareQuantization result (whose OutputPath is the model measured).
    /// </summary>
    private string? ReferenceFor()
    {
        if (ReferenceModelPath != null) return ResolveLiteralPath(ReferenceModelPath);
        string? source = QuantizationResult?.ModelPath;
        return source == null ? null : ResolveLiteralPath(source);
    }

    private CustomMetric CustomMetricOf(ScriptBlockMetric metric) =>
        MetricLevel.Equals("Dataset", StringComparison.OrdinalIgnoreCase)
            ? new CustomMetric(MetricName, Direction(MetricDirection), (IDatasetMetric)metric, requiresAnnotation: false)
            : new CustomMetric(MetricName, Direction(MetricDirection), (ISampleMetric)metric, requiresAnnotation: false);

    private static MetricDirection Direction(string word) =>
        word.Equals("HigherWorse", StringComparison.OrdinalIgnoreCase) ? Core.Results.MetricDirection.HigherWorse : Core.Results.MetricDirection.HigherBetter;

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
