using System.Management.Automation;
using PotPowerShell.Core;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
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

    private Evaluator? _evaluator;
    private PotConfig? _evaluatorConfig;
    private bool _warnedNoMetrics;

    /// <summary>
    /// The model to evaluate. Piped objects bind by property name in this order: Path (Import-PotModel), PSPath and
    /// FullName (files), OutputPath (quantization results: the quantized model, not their source ModelPath), ModelPath.
    /// Not in the Config set: a piped PotConfig would otherwise bind its own Path (the config file).
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = EngineSet)]
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = DataSet)]
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ConfigModelSet)]
    [Alias("PSPath", "FullName", "OutputPath", "ModelPath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>An engine YAML file (about_PotPowerShell_Engine).</summary>
    [Parameter(Mandatory = true, ParameterSetName = EngineSet)]
    [ValidateNotNullOrEmpty]
    public string EnginePath { get; set; } = "";

    /// <summary>A folder of .npy files or an .npz archive; with labels.npy, accuracy@top1 of a classification adapter.</summary>
    [Parameter(Mandatory = true, ParameterSetName = DataSet)]
    [ValidateNotNullOrEmpty]
    public string DataPath { get; set; } = "";

    /// <summary>
    /// A POT configuration (Import-PotConfig): its engine section gives the data, adapters and metrics; piped alone, its
    /// model is the one evaluated.
    /// </summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ConfigSet)]
    [Parameter(Mandatory = true, ParameterSetName = ConfigModelSet)]
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

    /// <summary>The FP32 model for metrics that compare with its outputs (cosine_similarity, reference: fp32).</summary>
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
    [ValidateRange(0, 1024)]
    public int? Threads { get; set; }

    [Parameter]
    [ValidateRange(1, 1 << 20)]
    public int? BatchSize { get; set; }

    protected override void ProcessRecord()
    {
        // One evaluator per engine: a new piped config with another engine gets its own.
        if (_evaluator != null && ParameterSetName == ConfigSet && !ReferenceEquals(_evaluatorConfig, Config))
        {
            _evaluator.Dispose();
            _evaluator = null;
        }
        if (_evaluator == null) Run(() => _evaluator = CreateEvaluator(), terminating: true);
        _evaluatorConfig = ParameterSetName == ConfigSet ? Config : null;
        string model = ParameterSetName == ConfigSet ? Config.Model.ModelPath : ResolveLiteralPath(Path);
        WriteVerbose($"Evaluating '{model}' on '{_evaluator!.Engine.Source}'.");
        Run(() =>
        {
            // Reading a large model and creating its session take a while before the first batch reports.
            Progress.Report(new PotProgress("Evaluating " + System.IO.Path.GetFileName(model), "Loading the model", -1));
            var m = ModelMeasurement.Measure(_evaluator, model, PerSample, Latency, WarmupRuns, CancellationToken, Progress);
            if (m.Evaluation.BatchFallback)
                WriteWarning($"ONNX Runtime refused a batch of several items of '{model}' although its batch axis is dynamic (the graph probably hard-codes batch 1), so it was evaluated one item per inference. Set batch_size: 1 in the engine (or -BatchSize 1) to skip the failed attempt.");
            if (m.Evaluation.NonFiniteItems > 0)
                WriteWarning($"'{model}' gave NaN or Inf outputs on {m.Evaluation.NonFiniteItems} items (first item {m.Evaluation.FirstNonFiniteItem}); every metric scored them at its worst value.");
            var rows = PerSample ? ModelEvaluation.Rows(m.Evaluation, _evaluator.Metrics) : null;
            WriteObject(new ModelEvaluation(m, rows));
        });
    }

    private Evaluator CreateEvaluator()
    {
        var engine = ParameterSetName is ConfigSet or ConfigModelSet
            ? EngineResolver.FromConfig(Config)
            : EngineResolver.FromPaths(
                ParameterSetName == EngineSet ? ResolveLiteralPath(EnginePath) : null,
                ParameterSetName == DataSet ? ResolveLiteralPath(DataPath) : null);
        foreach (var warning in engine.Warnings) WriteWarning(warning);
        var custom = Metric == null
            ? Array.Empty<CustomMetric>()
            : new[] { new CustomMetric(MetricName, Direction(MetricDirection), new ScriptBlockMetric(Metric, MetricName, null), requiresAnnotation: false) };
        byte[]? reference = ReferenceModelPath == null ? null : ModelMeasurement.ReadModel(ResolveLiteralPath(ReferenceModelPath));
        var evaluator = new Evaluator(engine, new EvaluatorOptions
        {
            ReferenceModel = reference,
            ReferenceSource = ReferenceModelPath ?? "",
            CustomMetrics = custom,
            ScriptMetrics = ScriptBlockMetric.FactoryFor(this),
            Threads = Threads,
            BatchSize = BatchSize,
        });
        if (evaluator.Metrics.Count == 0 && !_warnedNoMetrics)
        {
            _warnedNoMetrics = true;
            WriteWarning($"'{engine.Source}' defines no metrics{(engine.HasAnnotations ? "" : " and its data has no labels")}: only inference runs. Add labels and metrics to the engine, or a -Metric scriptblock.");
        }
        return evaluator;
    }

    private static MetricDirection Direction(string word) =>
        word.Equals("HigherWorse", StringComparison.OrdinalIgnoreCase) ? Core.Evaluation.MetricDirection.HigherWorse : Core.Evaluation.MetricDirection.HigherBetter;

    protected override void EndProcessing()
    {
        _evaluator?.Dispose();
        _evaluator = null;
    }

    // The pipeline may stop before EndProcessing (Ctrl+C); PowerShell still disposes the cmdlet.
    void IDisposable.Dispose()
    {
        _evaluator?.Dispose();
        _evaluator = null;
        Dispose();
    }
}
