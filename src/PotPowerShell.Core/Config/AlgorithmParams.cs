using PotPowerShell.Core.Calibration;

namespace PotPowerShell.Core.Config;

/// <summary>POT's quantizer mode.</summary>
public enum QuantizationMode
{
    Symmetric,
    Asymmetric,
}

/// <summary>POT's granularity.</summary>
public enum Granularity
{
    PerChannel,
    PerTensor,
}

/// <summary>POT's saturation_fix: how to avoid the int16 overflow of u8*s8 kernels on x86 CPUs without VNNI.</summary>
public enum SaturationFix
{
    /// <summary>Full 8-bit weights everywhere.</summary>
    No,
    /// <summary>7-bit weights in the first INT8 layers, full 8-bit weights elsewhere.</summary>
    FirstLayer,
    /// <summary>7-bit weights everywhere.</summary>
    All,
}

/// <summary>
/// POT's DefaultQuantization parameters with their effective values (the file's, or POT's default).
/// AccuracyAwareQuantization's parameters (<see cref="AccuracyAwareParams"/>) include all of these.
/// </summary>
public record DefaultQuantizationParams
{
    public QuantizationPreset Preset { get; init; } = QuantizationPreset.Performance;
    /// <summary>Null = the whole calibration set.</summary>
    public int? StatSubsetSize { get; init; }
    public int StatBatchSize { get; init; } = 1;
    public bool ShuffleData { get; init; }
    public int Seed { get; init; }
    /// <summary>FastBiasCorrection (true) or BiasCorrection (false).</summary>
    public bool UseFastBias { get; init; } = true;
    /// <summary>Ours: false turns bias correction off.</summary>
    public bool BiasCorrection { get; init; } = true;
    /// <summary>Bias correction threshold (POT's threshold); null = POT's 2.0, verified by the self-check (ours).</summary>
    public double? Threshold { get; init; }
    /// <summary>Ours: cross-layer equalization (key equalization: none, depthwise, all (default)).</summary>
    public EqualizationScope Equalization { get; init; } = EqualizationScope.All;
    /// <summary>NNCF's smooth_quant_alpha: null = measured default checked by the self-check, 0 to 1 = that alpha, negative = off.</summary>
    public double? SmoothQuantAlpha { get; init; }
    public IgnoredScopeParams Ignored { get; init; } = new();
    public WeightsParams Weights { get; init; } = new();
    public ActivationsParams Activations { get; init; } = new();
    /// <summary>Null = automatic: 7-bit weights on x86 CPUs without VNNI, 8-bit otherwise.</summary>
    public SaturationFix? SaturationFix { get; init; }
    /// <summary>Ours: intra-op threads for calibration (0 = ONNX Runtime's default).</summary>
    public int Threads { get; init; }
    /// <summary>Ours: Fastest keeps float the layers that run faster that way on this CPU (CPU targets); AllInt8 quantizes all (key precision).</summary>
    public PrecisionMode Precision { get; init; } = PrecisionMode.Fastest;
    /// <summary>Ours: the batch size of the layer timings and the latency check (key latency_batch_size).</summary>
    public int LatencyBatchSize { get; init; } = 1;
    /// <summary>Ours: true leaves NaN and Inf out of the calibration statistics (with a warning) instead of failing.</summary>
    public bool SkipNonFiniteValues { get; init; }

    /// <summary>The integer types these parameters ask for (see about_PotPowerShell_Config: "Kernel types").</summary>
    public QuantizationTypes Types => OptionsMapping.TypesOf(this);
}

/// <summary>AccuracyAwareQuantization parameters: POT's (seed page) and ours, on top of DefaultQuantization's.</summary>
public sealed record AccuracyAwareParams : DefaultQuantizationParams
{
    /// <summary>Null = min(validation size, 300).</summary>
    public int? RankingSubsetSize { get; init; }
    /// <summary>Null = no limit (the number of quantized layers).</summary>
    public int? MaxIterNum { get; init; }
    public double MaximalDrop { get; init; } = 0.01;
    public DropType DropType { get; init; } = DropType.Absolute;
    public bool UsePrevIfDropIncrease { get; init; } = true;
    public string BaseAlgorithm { get; init; } = AlgorithmNames.Default;
    public bool ConvertToMixedPreset { get; init; }
    public ValueList<MetricTarget> Metrics { get; init; } = ValueList<MetricTarget>.Empty;
    public double MetricSubsetRatio { get; init; } = 0.5;
    public bool TuneHyperparams { get; init; }
    public bool AnnotationFree { get; init; }
    public double AnnotationConfThreshold { get; init; } = 0.6;
    /// <summary>Ours: how layers are ranked.</summary>
    public RankingMethod RankingMethod { get; init; } = RankingMethod.Auto;
    /// <summary>Ours: with output_error ranking, how many top layers the real metric confirms.</summary>
    public int ConfirmTopLayers { get; init; } = 5;
    /// <summary>Ours: after success, try re-quantizing reverted layers that are not needed.</summary>
    public bool BackwardPass { get; init; } = true;
    /// <summary>Ours: stop after this many model evaluations (null = no limit).</summary>
    public int? MaxEvaluations { get; init; }
    /// <summary>Ours: stop after this much time (null = no limit).</summary>
    public TimeSpan? TimeLimit { get; init; }
    /// <summary>Ours: where the search state is written after every evaluation, and resumed from (null = none).</summary>
    public string? CheckpointPath { get; init; }
    /// <summary>NNCF's restore_mode: what a reverted layer gives back.</summary>
    public RestoreMode RestoreMode { get; init; } = RestoreMode.ActivationsAndWeights;
}

/// <summary>POT's ignored section.</summary>
public sealed record IgnoredScopeParams
{
    /// <summary>Node names, or regular expressions written /like this/.</summary>
    public ValueList<string> Scope { get; init; } = ValueList<string>.Empty;
    public ValueList<IgnoredOperationParams> Operations { get; init; } = ValueList<IgnoredOperationParams>.Empty;

    public override string ToString() =>
        Scope.Count + Operations.Count == 0 ? "(none)" : string.Join("; ", Scope.Concat(Operations.Select(o => o.ToString())));
}

/// <summary>An op type to leave in float, optionally only when its attributes have these values (canonical text).</summary>
public sealed record IgnoredOperationParams(string Type, ValueList<IgnoredAttribute> Attributes)
{
    public override string ToString() => Attributes.Count == 0 ? Type : $"{Type}({Attributes})";
}

public sealed record IgnoredAttribute(string Name, string Value)
{
    public override string ToString() => $"{Name}={Value}";
}

/// <summary>POT's weights section (weights have no range_estimator choice here: symmetric abs-max, asymmetric min/max).</summary>
public sealed record WeightsParams
{
    /// <summary>8, or 7 (7-bit weights, the saturation-free kernel range).</summary>
    public int Bits { get; init; } = 8;
    /// <summary>Null = from the preset and target device (symmetric, except preset accuracy on NPU).</summary>
    public QuantizationMode? Mode { get; init; }
    public Granularity Granularity { get; init; } = Granularity.PerChannel;
    /// <summary>Null = the range of <see cref="Bits"/>.</summary>
    public int? LevelLow { get; init; }
    public int? LevelHigh { get; init; }
    /// <summary>Null = POT's default weight estimators (min/max); else quantile ranges with this outlier_prob.</summary>
    public double? OutlierProb { get; init; }

    public override string ToString() => $"{Bits}-bit {Mode?.ToString() ?? "preset mode"} {Granularity}";
}

/// <summary>POT's activations section.</summary>
public sealed record ActivationsParams
{
    public int Bits { get; init; } = 8;
    /// <summary>Null = from the preset (symmetric for performance, asymmetric otherwise).</summary>
    public QuantizationMode? Mode { get; init; }
    public Granularity Granularity { get; init; } = Granularity.PerTensor;
    /// <summary>Null = chosen with the kernel types; -128/127 or -127/127 ask for signed activations.</summary>
    public int? LevelLow { get; init; }
    public int? LevelHigh { get; init; }
    /// <summary>POT's range_estimator mapped onto our estimators (see about_PotPowerShell_Config).</summary>
    public RangeEstimatorOptions RangeEstimator { get; init; } = new() { Kind = RangeEstimatorOptions.DefaultKind };

    public override string ToString() => $"{Bits}-bit {Mode?.ToString() ?? "preset mode"} {Granularity}, {RangeEstimator.Kind}";

    /// <summary>Whether the activations end up symmetric: the mode, or else the preset's.</summary>
    internal static bool IsSymmetric(QuantizationMode? mode, QuantizationPreset preset) =>
        (mode ?? (preset == QuantizationPreset.Performance ? QuantizationMode.Symmetric : QuantizationMode.Asymmetric)) == QuantizationMode.Symmetric;
}
