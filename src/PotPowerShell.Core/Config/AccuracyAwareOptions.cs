namespace PotPowerShell.Core.Config;

public enum DropType
{
    Absolute,
    Relative,
}

/// <summary>How layers are ranked for reverting.</summary>
public enum RankingMethod
{
    /// <summary>POT: revert each layer and measure the real metric on the ranking subset.</summary>
    Metric,
    /// <summary>Ours: one instrumented pass scores layers by output error; the real metric confirms only the top few.</summary>
    OutputError,
    /// <summary>
    /// Ours: revert each layer and measure a continuous per-item signal tied to the metric (the label's margin
    /// for accuracy, 1 / (1 + edit distance) for exact text match, the value itself for continuous metrics) on a
    /// ranking set of the hardest items plus a seeded random part; the top few are then confirmed on the full set and
    /// the best of them is kept.
    /// </summary>
    Signal,
    /// <summary>
    /// Ours (default): Metric ranking where the fully quantized model leaves most items at the driving metric's best
    /// value (on every item, decided early, when the ranking subset covers them), else Signal ranking (see
    /// <c>RankingChoice</c> in Quantization/AccuracyAware).
    /// </summary>
    Auto,
}

/// <summary>
/// What a layer AccuracyAwareQuantization reverts gives back (NNCF's restore_mode, RestoreMode). POT reverts the
/// whole layer; NNCF can keep its weights quantized.
/// </summary>
public enum RestoreMode
{
    /// <summary>activations_and_weights (POT, NNCF's default): the layer runs in float.</summary>
    ActivationsAndWeights,
    /// <summary>
    /// only_activations: a reverted MatMul or Gemm keeps INT8 weights and ONNX Runtime quantizes its activation at run
    /// time (DynamicQuantizeMatMul), where the layer timings of this CPU say that is faster than float; other reverted
    /// layers run in float.
    /// </summary>
    OnlyActivations,
}

/// <summary>A metric AccuracyAwareQuantization watches, optionally with a known FP32 baseline (POT's metrics[]).</summary>
/// <param name="Name">The engine metric's name; for an entry that gives only a type, that type.</param>
public sealed record MetricTarget(string Name, double? BaselineValue = null)
{
    /// <summary>
    /// The metric's type as the entry gave it (POT's metrics[].type, e.g. accuracy): when no engine metric has
    /// <see cref="Name"/>, the one metric of this type is meant. Null = by name only.
    /// </summary>
    public string? Type { get; init; }
}

/// <summary>Every AccuracyAwareQuantization parameter of the POT seed, plus our budgets.</summary>
public sealed record AccuracyAwareOptions
{
    /// <summary>The base algorithm's parameters (all DefaultQuantization parameters are valid for AAQ).</summary>
    public DefaultQuantizationOptions Quantization { get; init; } = new();
    public string BaseAlgorithm { get; init; } = "DefaultQuantization";
    public double MaximalDrop { get; init; } = 0.01;
    public DropType DropType { get; init; } = DropType.Absolute;
    /// <summary>Null = min(validation size, 300).</summary>
    public int? RankingSubsetSize { get; init; }
    /// <summary>max_iter_num; null = no cap, as POT (sys.maxsize).</summary>
    public int? MaxIterations { get; init; }
    public bool UsePreviousIfDropIncrease { get; init; } = true;
    public bool ConvertToMixedPreset { get; init; }
    public IReadOnlyList<MetricTarget> Metrics { get; init; } = Array.Empty<MetricTarget>();
    public double MetricSubsetRatio { get; init; } = 0.5;
    public bool TuneHyperparameters { get; init; }
    public RankingMethod RankingMethod { get; init; } = RankingMethod.Auto;
    /// <summary>OutputError ranking: how many top layers the real metric confirms.</summary>
    public int ConfirmTopLayers { get; init; } = 5;
    /// <summary>Signal ranking: how many top layers are evaluated on the full validation set before the best one is kept.</summary>
    public int ConfirmOnFullSet { get; init; } = 3;
    /// <summary>
    /// Stop a candidate's full-set evaluation once its outcome for the search is decided (exact bounds of mean metrics);
    /// the search path is the same as with complete evaluations.
    /// </summary>
    public bool DecideEarly { get; init; } = true;
    /// <summary>
    /// Run a candidate one layer away from a model evaluated before as the part of the model its layer changes, from
    /// that model's stored activations (src/PotPowerShell.Core/Quantization/AccuracyAware/ActivationReuse.cs); the
    /// results are the same bits.
    /// </summary>
    public bool ReuseActivations { get; init; } = true;
    /// <summary>After success, try re-quantizing reverted layers that are not needed.</summary>
    public bool BackwardPass { get; init; } = true;
    /// <summary>Stop after this many model evaluations (null = no limit); the best model so far is returned.</summary>
    public int? MaxEvaluations { get; init; }
    /// <summary>Stop after this much time (null = no limit); the best model so far is returned.</summary>
    public TimeSpan? TimeLimit { get; init; }
    /// <summary>POT's annotation_free / annotation_conf_threshold are accepted for compatibility.</summary>
    public bool AnnotationFree { get; init; }
    public double AnnotationConfidenceThreshold { get; init; } = 0.6;
    /// <summary>
    /// Workers that evaluate and rank side by side, on one ONNX Runtime session per candidate (POT's
    /// eval_requests_number, NNCF's num_ranking_workers); null = automatic (two where two threads are allowed, see
    /// Evaluator.Workers). The result does not depend on it.
    /// </summary>
    public int? EvaluationWorkers { get; init; }
    /// <summary>
    /// Items each evaluation infers at once (-EvaluationBatchSize); null = the engine's batch_size, else measured before
    /// the search (Evaluation/BatchSizeProbe.cs). The result does not depend on it.
    /// </summary>
    public int? EvaluationBatchSize { get; init; }
    /// <summary>
    /// Where the search state is written after every evaluation (checkpoint_path, -CheckpointPath); a run that finds it
    /// resumes from it and ends with the same model. Null = no checkpoint. Deleted once the outputs are written.
    /// </summary>
    public string? CheckpointPath { get; init; }
    /// <summary>What a reverted layer gives back (restore_mode, -RestoreMode).</summary>
    public RestoreMode RestoreMode { get; init; } = RestoreMode.ActivationsAndWeights;
}
