namespace PotPowerShell.Core.Quantization;

/// <summary>POT presets: which quantizers are symmetric.</summary>
public enum QuantizationPreset
{
    /// <summary>Symmetric weights and activations (POT's default).</summary>
    Performance,
    /// <summary>Symmetric weights, asymmetric activations.</summary>
    Mixed,
    /// <summary>Asymmetric weights and activations (aliased to Mixed on ANY/CPU/GPU, as POT does).</summary>
    Accuracy,
}

/// <summary>POT's target_device. What each changes is documented in docs/en-US/about_PotPowerShell.md.</summary>
public enum TargetDevice
{
    Any,
    Cpu,
    Gpu,
    Npu,
}

/// <summary>Which integer types the emitted model uses; Auto picks them from the CPU (see HardwareProfile).</summary>
public enum QuantizationTypes
{
    Auto,
    /// <summary>uint8 activations, int8 weights in [-127,127] (x86 with VNNI).</summary>
    U8S8,
    /// <summary>uint8 activations, 7-bit weights in [-63,63] (x86 without VNNI: avoids VPMADDUBSW saturation).</summary>
    U8S7,
    /// <summary>int8 activations and weights (ARM).</summary>
    S8S8,
}

/// <summary>Range estimator for a quantizer's min or max (POT's range_estimator.min/max.type).</summary>
public enum RangeEstimatorKind
{
    /// <summary>Global min/max over all samples.</summary>
    MinMax,
    /// <summary>Mean over samples of the per-sample min/max (POT's default for per-tensor activations).</summary>
    MeanMinMax,
    /// <summary>Quantile with outlier_prob, per side.</summary>
    Quantile,
    /// <summary>Symmetric quantile of |x| with outlier_prob.</summary>
    AbsQuantile,
    /// <summary>Histogram percentile (ORT Percentile calibrator).</summary>
    Percentile,
    /// <summary>Histogram KL-divergence threshold (ORT Entropy calibrator).</summary>
    Entropy,
    /// <summary>Median over samples of the per-sample min/max (POT's aggregator median).</summary>
    MedianMinMax,
    /// <summary>Mean of the per-sample min/max between their 1% and 99% quantiles (POT's mean_no_outliers).</summary>
    MeanMinMaxNoOutliers,
    /// <summary>Median of the per-sample min/max between their 1% and 99% quantiles (POT's median_no_outliers).</summary>
    MedianMinMaxNoOutliers,
    /// <summary>Hodges-Lehmann estimate of the per-sample min/max (POT's hl_estimator).</summary>
    HodgesLehmannMinMax,
    /// <summary>
    /// The range with the least expected quantization error (rounding plus clipping) among min/max, mean min/max, the
    /// 1e-4 quantiles and an MSE-optimal clip searched on the tensor's histogram (see AutoRangeStatistic).
    /// </summary>
    Auto,
}

/// <summary>Range estimation settings for activations (POT's activations.range_estimator mapped onto our estimators).</summary>
public sealed record RangeEstimatorOptions
{
    /// <summary>Null = the default, <see cref="DefaultKind"/>.</summary>
    public RangeEstimatorKind? Kind { get; init; }

    /// <summary>
    /// What a null <see cref="Kind"/> means: POT's mean of per-item min/max. Measured in bench/Bench-Quality.ps1 it beat
    /// <see cref="RangeEstimatorKind.Auto"/> on ResNet18 (25.4 against 23.4 dB output SQNR on held-out items) and tied
    /// on MiniLM (19.1 against 19.3 dB), so auto stays opt-in until it wins.
    /// </summary>
    public const RangeEstimatorKind DefaultKind = RangeEstimatorKind.MeanMinMax;

    /// <summary>The estimator these options select.</summary>
    public RangeEstimatorKind EffectiveKind => Kind ?? DefaultKind;
    /// <summary>POT's outlier_prob for Quantile/AbsQuantile.</summary>
    public double OutlierProbability { get; init; } = 1e-4;
    /// <summary>Percentile for the histogram estimator.</summary>
    public double Percentile { get; init; } = 99.999;
    public int HistogramBins { get; init; } = 2048;
}

/// <summary>Every DefaultQuantization parameter of POT (and ours). Config files and cmdlet parameters map onto this.</summary>
public sealed record DefaultQuantizationOptions
{
    public QuantizationPreset Preset { get; init; } = QuantizationPreset.Performance;
    public TargetDevice TargetDevice { get; init; } = TargetDevice.Any;
    /// <summary>Null = the whole calibration set (POT's default).</summary>
    public int? StatSubsetSize { get; init; }
    public int StatBatchSize { get; init; } = 1;
    public bool ShuffleData { get; init; }
    public int Seed { get; init; }
    /// <summary>POT's model_type: "transformer" or null.</summary>
    public string? ModelType { get; init; }
    public bool UseFastBiasCorrection { get; init; } = true;
    /// <summary>False disables bias correction entirely (NNCF's disable_bias_correction).</summary>
    public bool BiasCorrection { get; init; } = true;
    /// <summary>FastBiasCorrection threshold: apply only if max|shift/bias| is below it.</summary>
    public double BiasCorrectionThreshold { get; init; } = 2.0;
    public RangeEstimatorOptions ActivationRange { get; init; } = new();
    /// <summary>Per-channel weights (POT's weights.granularity perchannel); forced per-tensor below opset 13.</summary>
    public bool PerChannelWeights { get; init; } = true;
    /// <summary>Null = from the preset; overrides weights.mode.</summary>
    public bool? SymmetricWeights { get; init; }
    /// <summary>
    /// Null: weight ranges are each channel's min and max (POT's default). Otherwise POT's quantile weight estimators
    /// with this outlier_prob: the 1 - p quantile of |w| (symmetric) or the p and 1 - p quantiles of w (asymmetric).
    /// </summary>
    public double? WeightOutlierProbability { get; init; }
    /// <summary>Null = from the preset; overrides activations.mode.</summary>
    public bool? SymmetricActivations { get; init; }
    public QuantizationTypes Types { get; init; } = QuantizationTypes.Auto;
    /// <summary>
    /// POT's saturation_fix first_layer: 7-bit weights in the first INT8 layers (see FirstLayerSaturation) and the
    /// weights of <see cref="Types"/> elsewhere. Nothing changes when the types already use 7-bit weights (U8S7).
    /// </summary>
    public bool FixFirstLayerSaturation { get; init; }
    /// <summary>Node names (exact) or regular expressions (written /re/ or with regex characters) to leave in float.</summary>
    public IReadOnlyList<string> IgnoredNodes { get; init; } = Array.Empty<string>();
    /// <summary>Op types to leave in float, optionally only those whose attributes match.</summary>
    public IReadOnlyList<IgnoredOperation> IgnoredOperations { get; init; } = Array.Empty<IgnoredOperation>();
    /// <summary>Intra-op threads for calibration (0 = ORT default).</summary>
    public int Threads { get; init; }
    /// <summary>
    /// Fastest (the default): on CPU targets (ANY, CPU), a layer stays float where ONNX Runtime runs the model faster
    /// that way on this CPU, measured (see Precision/LatencyAwarePrecision). AllInt8 quantizes every layer, as POT does.
    /// GPU and NPU targets always get AllInt8.
    /// </summary>
    public PrecisionMode Precision { get; init; } = PrecisionMode.Fastest;
    /// <summary>The batch size the layer timings and the final latency check use (1 = one item per inference).</summary>
    public int BatchSize { get; init; } = 1;
    /// <summary>True skips the final FP32-versus-output latency check.</summary>
    public bool SkipLatencyCheck { get; init; }
    /// <summary>How timings are taken and where layer timings are cached; null = on this machine, in the user's cache folder.</summary>
    public LatencyMeasurement? Measurement { get; init; }
    /// <summary>
    /// False (the default): a NaN or ±Inf in the calibration data or in a calibrated tensor is an error
    /// (NonFiniteCalibrationData). True: those values are left out of the statistics, with a warning that counts them
    /// (config key skip_non_finite_values, cmdlet switch -SkipNonFiniteValues).
    /// </summary>
    public bool SkipNonFiniteValues { get; init; }
}

/// <summary>An ignored-scope entry by op type (POT's ignored.operations), with optional attribute values that must match.</summary>
public sealed record IgnoredOperation(string Type, IReadOnlyDictionary<string, string>? Attributes = null);
