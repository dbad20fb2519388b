using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Results;

/// <summary>One watched metric: FP32 baseline, fully quantized and final values, drops and the allowed drop.</summary>
/// <param name="Name">Metric name.</param>
/// <param name="Direction">HigherBetter or HigherWorse.</param>
/// <param name="Baseline">FP32 value (measured, or metrics[].baseline_value).</param>
/// <param name="BaselineGiven">True when the baseline came from metrics[].baseline_value.</param>
/// <param name="FullyQuantized">Value of the fully quantized model (base preset).</param>
/// <param name="Final">Value of the returned model.</param>
/// <param name="FullyQuantizedDrop">Drop of the fully quantized model, in metric units, positive = worse.</param>
/// <param name="Drop">Drop of the returned model, in metric units, positive = worse.</param>
/// <param name="MaxDrop">Allowed drop in metric units (maximal_drop, times |baseline| when relative).</param>
/// <param name="Met">Drop &lt;= MaxDrop.</param>
public sealed record AccuracyAwareMetric(
    string Name,
    MetricDirection Direction,
    double Baseline,
    bool BaselineGiven,
    double FullyQuantized,
    double Final,
    double FullyQuantizedDrop,
    double Drop,
    double MaxDrop,
    bool Met)
{
    /// <summary>Drop relative to the baseline (Drop / |Baseline|), NaN for a zero baseline.</summary>
    public double RelativeDrop => Baseline == 0 ? double.NaN : Drop / Math.Abs(Baseline);

    /// <summary>"accuracy@top1 0.99 -> 0.985 (drop 0.005 of 0.01)": FP32 to returned; how a result's Metrics read where only text goes (Export-Csv, items joined by ", ").</summary>
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Name} {Baseline:G6} -> {Final:G6} (drop {Drop:G6} of {MaxDrop:G6})");
}

/// <summary>A layer the returned model keeps in float.</summary>
/// <param name="Layer">Node name.</param>
/// <param name="OpType">Conv, Gemm, MatMul...</param>
/// <param name="Score">Its ranking score when it was reverted (see <see cref="LayerRank.Score"/>).</param>
/// <param name="Method">How that score was measured.</param>
/// <param name="Iteration">The iteration that reverted it.</param>
public sealed record RevertedLayer(string Layer, string OpType, double Score, RankingMethod Method, int Iteration)
{
    /// <summary>"Float", or "Dynamic" when restore_mode only_activations kept its INT8 weights (activations quantized at run time).</summary>
    public string Precision { get; init; } = "Float";
    /// <summary>The layer name, so reverted layers bind directly to a string[] ignored scope.</summary>
    public override string ToString() => Layer;
}

/// <summary>What one iteration did with its layer.</summary>
public enum IterationAction
{
    /// <summary>The layer was reverted to float and kept.</summary>
    Reverted,
    /// <summary>Reverting the layer increased the drop; the previous model was restored (use_prev_if_drop_increase).</summary>
    RolledBack,
    /// <summary>Backward pass: the layer was quantized again and the target still holds.</summary>
    Requantized,
    /// <summary>Backward pass: quantizing the layer again breaks the target on the model returned, so it stays float (dynamic pass: so does its dynamic form).</summary>
    KeptFloat,
    /// <summary>Signal ranking: the layer was confirmed on the full set, but another confirmed layer did better and was kept.</summary>
    Outranked,
    /// <summary>Dynamic pass (restore_mode only_activations): the reverted layer keeps INT8 weights, its activations quantized at run time, and the target still holds.</summary>
    Dynamic,
}

/// <summary>
/// One full-set evaluation of the search (a layer reverted), or one decision of the backward pass (a layer quantized
/// again, or staying float), with the evaluation that made it.
/// </summary>
/// <param name="Index">1-based, over the whole run.</param>
/// <param name="Stage">"Search", "Backward" or "Dynamic".</param>
/// <param name="Layer">The layer this iteration changed.</param>
/// <param name="Metric">The metric driving the search at that point.</param>
/// <param name="DropBefore">Drop of that metric before the change.</param>
/// <param name="DropAfter">Drop of that metric with the change.</param>
/// <param name="Met">All metrics within their maximal drop with the change.</param>
/// <param name="Action">What happened to the change.</param>
/// <param name="RevertedCount">Layers in float after the iteration (reverted layers in their dynamic form not counted).</param>
public sealed record AccuracyAwareIteration(
    int Index,
    string Stage,
    string Layer,
    string Metric,
    double DropBefore,
    double DropAfter,
    bool Met,
    IterationAction Action,
    int RevertedCount)
{
    public bool Accepted => Action is IterationAction.Reverted or IterationAction.Requantized or IterationAction.Dynamic;

    /// <summary>
    /// True when the evaluation stopped once its outcome was decided (see AccuracyAwareOptions.DecideEarly): DropAfter is
    /// then the smallest drop the full set could still give after the items evaluated (every other item at its best
    /// value), which is above the limit and above DropBefore or the kept layer's drop.
    /// </summary>
    public bool DecidedEarly { get; init; }

    /// <summary>Validation items evaluated for this iteration (all of them unless <see cref="DecidedEarly"/>).</summary>
    public int Items { get; init; }

    /// <summary>"3 Search conv1 Reverted (drop 0.02 -> 0.008)": how a result's Iterations read where only text goes (Export-Csv, items joined by ", ").</summary>
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Index} {Stage} {Layer} {Action} (drop {DropBefore:G6} -> {DropAfter:G6})");
}

/// <summary>Wall time spent in one stage of the run.</summary>
public sealed record StageTime(string Stage, TimeSpan Elapsed)
{
    /// <summary>"ranking 3.2 s": how a result's stage times read where only text goes (Export-Csv).</summary>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Stage} {Elapsed.TotalSeconds:0.###} s");
}

/// <summary>The outcome of AccuracyAwareQuantization, written next to the model as a JSON report too.</summary>
public sealed record AccuracyAwareResult : IQuantizedModelResult
{
    /// <summary>The FP32 model that was quantized.</summary>
    public string? ModelPath { get; init; }
    /// <summary>Where the returned model was written (null until saved).</summary>
    public string? OutputPath { get; init; }
    /// <summary>Where the JSON report was written (null until saved).</summary>
    public string? ReportPath { get; init; }
    /// <summary>Intermediate models written with compression.dump_intermediate_model (-DumpIntermediateModel): the fully quantized model before any revert.</summary>
    public IReadOnlyList<string> IntermediateModels { get; init => field = ValueList.From(value); } = ValueList<string>.Empty;
    /// <summary>True when every metric is within its maximal drop.</summary>
    public required bool Met { get; init; }
    /// <summary>Why the run stopped, in one sentence.</summary>
    public required string Reason { get; init; }
    public required double MaximalDrop { get; init; }
    public required DropType DropType { get; init; }
    public required RankingMethod RankingMethod { get; init; }
    /// <summary>The seed of every random choice (DefaultQuantization's seed).</summary>
    public required int Seed { get; init; }
    /// <summary>Preset of the returned model (Mixed after convert_to_mixed_preset).</summary>
    public required QuantizationPreset Preset { get; init; }
    /// <summary>Activation range estimator and bias correction of the returned model, when tune_hyperparams changed them.</summary>
    public string? TunedSettings { get; init; }
    public required IReadOnlyList<AccuracyAwareMetric> Metrics { get; init => field = ValueList.From(value); }
    /// <summary>Layers DefaultQuantization made INT8.</summary>
    public required int QuantizedLayerCount { get; init; }
    public required IReadOnlyList<RevertedLayer> RevertedLayers { get; init => field = ValueList.From(value); }
    /// <summary>What reverted layers gave back (restore_mode): each reverted layer's <see cref="RevertedLayer.Precision"/> says what it runs as.</summary>
    public RestoreMode RestoreMode { get; init; }
    public required IReadOnlyList<AccuracyAwareIteration> Iterations { get; init => field = ValueList.From(value); }
    /// <summary>Model evaluations run (full set and subsets); cached repeats are not counted.</summary>
    public required int Evaluations { get; init; }
    /// <summary>
    /// Items inferred by all evaluations and output-error passes. An evaluation stopped once decided counts the items it
    /// measured: the rest of its last batch was inferred but not needed, and leaving it out keeps every figure of the
    /// result independent of <see cref="EvaluationBatchSize"/>.
    /// </summary>
    public required long Inferences { get; init; }
    /// <summary>Evaluations spent on layer ranking.</summary>
    public required int RankingEvaluations { get; init; }
    /// <summary>Items inferred for layer ranking (including output-error passes).</summary>
    public required long RankingInferences { get; init; }
    /// <summary>How many times the layers were ranked.</summary>
    public required int Rankings { get; init; }
    /// <summary>
    /// Rank precision: of the top-ranked layers evaluated on the full set (<see cref="RankTrials"/>; a group of layers
    /// reverted in one step counts once), the share whose revert lowered the drop of the driving metric. NaN when no
    /// ranking was used.
    /// </summary>
    public double RankPrecision => RankTrials == 0 ? double.NaN : (double)RankHits / RankTrials;
    public int RankTrials { get; init; }
    public int RankHits { get; init; }
    /// <summary>Evaluations stopped once their outcome for the search was decided (exact bounds; the path is unchanged).</summary>
    public int DecidedEarlyEvaluations { get; init; }
    /// <summary>Items those evaluations did not need to infer (less those measured when a stopped evaluation was resumed).</summary>
    public long InferencesSaved { get; init; }
    /// <summary>Workers that evaluated side by side on one ONNX Runtime session (eval_requests_number).</summary>
    public int EvaluationWorkers { get; init; }
    /// <summary>
    /// Items each evaluation inferred at once: the engine's batch_size or -EvaluationBatchSize, else measured on the
    /// fully quantized model before the search, or the model's own fixed batch size. Nothing else in the result depends
    /// on it; measured, so not in the report.
    /// </summary>
    public int EvaluationBatchSize { get; init; }
    /// <summary>Evaluations replayed from the checkpoint of an interrupted run (-CheckpointPath) instead of inferred; 0 for a fresh run.</summary>
    public int ResumedEvaluations { get; init; }
    /// <summary>
    /// Where the evaluations' wall time went (measured, so not in the report): building and serializing candidate
    /// models, creating their ONNX Runtime sessions, and inference with the metrics. A candidate built ahead while the
    /// previous evaluation ran counts only the time the evaluations waited for it. Replayed evaluations count nothing.
    /// </summary>
    public IReadOnlyList<StageTime> EvaluationTimes { get; init => field = ValueList.From(value); } = ValueList<StageTime>.Empty;
    /// <summary>
    /// Passes of the FP32 model over the calibration data: 1, because the pass measures what the mixed preset and the
    /// tuning grid need too (0 when the run was given a calibrated builder).
    /// </summary>
    public int CalibrationPasses { get; init; }
    /// <summary>Passes of quantized models over the calibration data: full bias correction, once per setting that uses it.</summary>
    public int BiasCorrectionPasses { get; init; }
    /// <summary>Inferences run over the calibration data by those passes.</summary>
    public long CalibrationInferences { get; init; }
    public required IReadOnlyList<StageTime> StageTimes { get; init => field = ValueList.From(value); }
    public required TimeSpan TotalTime { get; init; }
    /// <summary>The per-iteration log (also written to the verbose stream by the cmdlet).</summary>
    public required IReadOnlyList<string> Log { get; init => field = ValueList.From(value); }
    /// <summary>Fastest (layers faster in float stay float before any revert) or AllInt8.</summary>
    public PrecisionMode Precision { get; init; }
    /// <summary>Layers DefaultQuantization kept float because they run faster that way on this CPU.</summary>
    public IReadOnlyList<string> FasterInFloatLayers { get; init => field = ValueList.From(value); } = ValueList<string>.Empty;
    /// <summary>The batch size of the layer timings and the latency check.</summary>
    public int BatchSize { get; init; } = 1;
    /// <summary>Median (p50) and 90th-percentile latency of the FP32 model and of the returned model, timed interleaved at the end (null when skipped).</summary>
    public double? Fp32LatencyMs { get; init; }
    public double? LatencyMs { get; init; }
    public double? Fp32LatencyP90Ms { get; init; }
    public double? LatencyP90Ms { get; init; }
    /// <summary>FP32 p50 over output p50: above 1 when the returned model is faster (null when skipped).</summary>
    public double? Speedup { get; init; }
    /// <summary>
    /// Warnings of the run, also written to the warning stream by the cmdlet: the quantization's (ignored scope,
    /// calibration, precision, restore mode), the search's (a model that mixes the items of a batch), and the returned
    /// model's (not faster than FP32).
    /// </summary>
    public IReadOnlyList<string> Warnings { get; init => field = ValueList.From(value); } = ValueList<string>.Empty;

    /// <summary>Metric name to FP32 baseline value, in engine order (as text: "accuracy@top1=0.99; ...").</summary>
    public MetricValues BaselineMetrics => MetricValues.From(Metrics.Select(m => (m.Name, m.Baseline)));
    /// <summary>Metric name to value of the fully quantized model.</summary>
    public MetricValues QuantizedMetrics => MetricValues.From(Metrics.Select(m => (m.Name, m.FullyQuantized)));
    /// <summary>Metric name to value of the returned model.</summary>
    public MetricValues FinalMetrics => MetricValues.From(Metrics.Select(m => (m.Name, m.Final)));
    /// <summary>Metric name to drop of the returned model.</summary>
    public MetricValues Drop => MetricValues.From(Metrics.Select(m => (m.Name, m.Drop)));
    public int RevertedLayerCount => RevertedLayers.Count;
}
