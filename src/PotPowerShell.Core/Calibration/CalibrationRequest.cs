using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Calibration;

/// <summary>The ONNX Runtime graph optimization level of a calibration session.</summary>
public enum CalibrationGraph
{
    /// <summary>ORT_DISABLE_ALL: every node runs as written.</summary>
    Unoptimized,

    /// <summary>ORT_ENABLE_EXTENDED: fusions that leave the requested tensors bit for bit as ORT_DISABLE_ALL computes them on the models we test.</summary>
    Extended,

    /// <summary>
    /// ORT_ENABLE_ALL: adds the NCHWc convolution layout, whose kernels sum in another order, so convolution outputs
    /// differ from ORT_DISABLE_ALL in the last bits (measured: ResNet18, 12 of 31 ranges by at most 1.2e-7 relative; the
    /// digits sample, no range but 7 of 10 channel-mean tensors). DefaultQuantization calibrates float models this way:
    /// on convolutional models the unoptimized layout alone made calibration's inference 1.4x (ResNet18) to 2.5x (the
    /// sample) slower than plain ORT_ENABLE_ALL inference. Still deterministic, and batch-invariant like the others.
    /// </summary>
    All,
}

/// <summary>What one calibration pass measures.</summary>
public sealed record CalibrationRequest
{
    /// <summary>Tensors whose range is estimated (graph inputs are measured from the data itself).</summary>
    public IReadOnlyCollection<string> RangeTensors { get; init; } = Array.Empty<string>();

    public RangeEstimatorKind Estimator { get; init; } = RangeEstimatorKind.MeanMinMax;

    public RangeEstimatorOptions EstimatorOptions { get; init; } = new();

    /// <summary>
    /// Further range estimators measured in the same pass over the same tensors (AccuracyAwareQuantization's tuning
    /// grid), so that quantizing again with another estimator needs no second pass; see
    /// <see cref="CalibrationStatistics.WithEstimator"/>. Each one's ranges equal those of a pass made with it alone.
    /// </summary>
    public IReadOnlyList<RangeEstimatorOptions> AlternativeEstimators { get; init; } = Array.Empty<RangeEstimatorOptions>();

    /// <summary>Tensors whose per-channel mean is collected (bias correction), with their channel axis.</summary>
    public IReadOnlyDictionary<string, int> ChannelMeanTensors { get; init; } = new Dictionary<string, int>();

    /// <summary>Tensors whose per-channel max |x| over the last axis is collected (SmoothQuant's Linear inputs).</summary>
    public IReadOnlyCollection<string> ChannelAbsMaxTensors { get; init; } = Array.Empty<string>();

    /// <summary>
    /// Items per inference (POT's stat_batch_size); 1 is used when the model's batch axis is fixed. When the axis is
    /// dynamic, more items may share an inference (see <see cref="BatchMemoryBytes"/>): the statistics are taken per
    /// item either way, so the batch size changes the speed, not the result.
    /// </summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>
    /// When the batch axis is dynamic, items are batched beyond <see cref="BatchSize"/> while the requested tensors of
    /// one inference stay within this many bytes (at most <see cref="BatchPlan.MaxAutomaticBatch"/> items).
    /// 0 runs exactly <see cref="BatchSize"/> items per inference.
    /// </summary>
    public long BatchMemoryBytes { get; init; } = ActivationCollector.DefaultBatchMemoryBytes;

    /// <summary>
    /// How far ONNX Runtime may optimize the augmented graph. Requested tensors are graph outputs, so no optimization
    /// can fuse them away. <see cref="CalibrationGraph.Unoptimized"/> (the default) is for QDQ models, whose Q/DQ
    /// would otherwise be fused into INT8 kernels.
    /// </summary>
    public CalibrationGraph Graph { get; init; } = CalibrationGraph.Unoptimized;

    /// <summary>Compute requested Relu, Identity and Flatten outputs from their (also requested) inputs instead of fetching them.</summary>
    public bool DeriveTensors { get; init; } = true;

    /// <summary>Intra-op threads (0 = ONNX Runtime's default).</summary>
    public int Threads { get; init; }

    /// <summary>
    /// False (the default): a NaN or ±Inf in a model input or a calibrated tensor is an error (NonFiniteCalibrationData).
    /// True: such values are left out of the statistics and counted in <see cref="CalibrationStatistics.Warnings"/>.
    /// </summary>
    public bool SkipNonFiniteValues { get; init; }
}

/// <summary>The outcome of a calibration pass: ranges and channel means, never the samples themselves.</summary>
public sealed record CalibrationStatistics
{
    public required IReadOnlyDictionary<string, ActivationRange> Ranges { get; init; }
    /// <summary>
    /// The ranges of every estimator the pass measured (the main one and <see cref="CalibrationRequest.AlternativeEstimators"/>),
    /// by <see cref="RangeStatistics.Key"/>.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, ActivationRange>> RangesByEstimator { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, ActivationRange>>(StringComparer.Ordinal);
    /// <summary>Why each tensor got its range in <see cref="Ranges"/>, where the estimator says (auto does); else empty.</summary>
    public IReadOnlyDictionary<string, string> RangeChoices { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);
    /// <summary><see cref="RangeChoices"/> of every estimator the pass measured that says why, by <see cref="RangeStatistics.Key"/>.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> RangeChoicesByEstimator { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
    public required IReadOnlyDictionary<string, ChannelMeanStatistic> ChannelMeans { get; init; }
    /// <summary>Per-channel max |x| of <see cref="CalibrationRequest.ChannelAbsMaxTensors"/>.</summary>
    public IReadOnlyDictionary<string, ChannelAbsMaxStatistic> ChannelAbsMax { get; init; } = new Dictionary<string, ChannelAbsMaxStatistic>(StringComparer.Ordinal);
    public required RangeEstimatorKind Estimator { get; init; }
    /// <summary>Data-set indices that were used, ascending.</summary>
    public required IReadOnlyList<int> Items { get; init; }
    /// <summary>Items per inference actually used (1 when the batch axis is fixed or mixes items).</summary>
    public required int BatchSize { get; init; }
    public required int Inferences { get; init; }
    /// <summary>Bytes held by all accumulators at the end: independent of the number of items.</summary>
    public required long StateBytes { get; init; }
    public required TimeSpan Elapsed { get; init; }
    /// <summary>Part of <see cref="Elapsed"/> spent building the augmented model and its session.</summary>
    public TimeSpan SessionTime { get; init; }
    /// <summary>Part of <see cref="Elapsed"/> spent in ONNX Runtime's Run (inputs included).</summary>
    public TimeSpan InferenceTime { get; init; }
    /// <summary>Part of <see cref="Elapsed"/> spent updating the statistics.</summary>
    public TimeSpan StatisticsTime { get; init; }
    /// <summary>Part of <see cref="Elapsed"/> spent turning the statistics into ranges after the last item (auto's clip search).</summary>
    public TimeSpan RangeTime { get; init; }
    /// <summary>What calibration left out (non-finite values it skipped), as warnings for the user.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();

    /// <summary>Whether this pass measured the ranges of <paramref name="estimator"/>.</summary>
    public bool Measured(RangeEstimatorOptions estimator) => RangesByEstimator.ContainsKey(RangeStatistics.Key(estimator));

    /// <summary>
    /// These statistics with <see cref="Ranges"/> taken from another estimator the pass measured (channel means, items
    /// and counts stay); throws when the pass did not measure it.
    /// </summary>
    public CalibrationStatistics WithEstimator(RangeEstimatorOptions estimator)
    {
        string key = RangeStatistics.Key(estimator);
        if (!RangesByEstimator.TryGetValue(key, out var ranges))
            throw new InvalidOperationException($"The calibration pass did not measure the range estimator {key} (it measured {string.Join(", ", RangesByEstimator.Keys)}); request it as an alternative estimator.");
        return this with
        {
            Ranges = ranges,
            RangeChoices = RangeChoicesByEstimator.GetValueOrDefault(key) ?? new Dictionary<string, string>(StringComparer.Ordinal),
            Estimator = estimator.EffectiveKind,
        };
    }
}
