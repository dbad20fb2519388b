using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Config;

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

/// <summary>Every DefaultQuantization parameter of POT (and ours). Config files and cmdlet parameters map onto this.</summary>
public sealed record DefaultQuantizationOptions
{
    /// <summary>"Preset = Performance, TargetDevice = Any, ...": how a result's Options read where only text goes (Export-Csv).</summary>
    public override string ToString()
    {
        var text = new System.Text.StringBuilder();
        PrintMembers(text);
        return text.ToString();
    }

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
    /// <summary>
    /// POT's rule: a layer's correction is applied only if max|shift/bias| is below the threshold. Null (the default):
    /// POT's 2.0, and the corrections are kept only when the self-check finds the model closer to FP32 with them than
    /// without (see Quantization/BiasCorrection/BiasCorrectionVerification.cs). A number (a config's threshold): POT's rule as is.
    /// </summary>
    public double? BiasCorrectionThreshold { get; init; }
    /// <summary>
    /// Cross-layer equalization (ours): rescales the channels of Conv pairs joined by Relu, Clip or nothing so that
    /// their weight ranges match, float-exact (see Onnx/CrossLayerEqualization.cs). All (the default): every such pair,
    /// which lowered the error on every bench model with Conv pairs (docs/en-US/about_PotPowerShell.md). Config key equalization.
    /// </summary>
    public EqualizationScope Equalization { get; init; } = EqualizationScope.All;
    /// <summary>
    /// SmoothQuant's alpha (NNCF's smooth_quant_alpha) for the Linear layers of transformer models (see
    /// Onnx/SmoothQuant.cs). Null (the default): the measured default alpha, kept only when the self-check finds the
    /// model closer to FP32 with it by 0.5 dB or more (Quantization/Preparation/SmoothQuantChoice.cs). From 0 to 1: that alpha, applied
    /// on transformer models. Negative: off. Config key smooth_quant_alpha.
    /// </summary>
    public double? SmoothQuantAlpha { get; init; }
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
    public IReadOnlyList<string> IgnoredNodes { get; init => field = ValueList.From(value); } = ValueList<string>.Empty;
    /// <summary>Op types to leave in float, optionally only those whose attributes match.</summary>
    public IReadOnlyList<IgnoredOperation> IgnoredOperations { get; init => field = ValueList.From(value); } = ValueList<IgnoredOperation>.Empty;
    /// <summary>Intra-op threads for calibration (0 = ORT default).</summary>
    public int Threads { get; init; }
    /// <summary>
    /// Memory the self-check's per-layer pass may give both models' layer outputs of one item (0 = a quarter of the
    /// memory the process may use; see Quantization/Reporting/OutputAgreementCheck.cs). Tests set it to split the pass.
    /// </summary>
    internal long LayerOutputBudgetBytes { get; init; }
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

/// <summary>Which Conv pairs cross-layer equalization rescales (config key equalization: none, depthwise, all).</summary>
public enum EqualizationScope
{
    /// <summary>None (POT has no equalization in DefaultQuantization).</summary>
    None,
    /// <summary>Pairs whose first Conv is depthwise (depthwise -> pointwise).</summary>
    Depthwise,
    /// <summary>Every Conv -> Conv pair through Relu, Clip(min 0), LeakyRelu, PRelu or nothing.</summary>
    All,
}

/// <summary>An ignored-scope entry by op type (POT's ignored.operations), with optional attribute values that must match.</summary>
public sealed record IgnoredOperation(string Type, IReadOnlyDictionary<string, string>? Attributes = null)
{
    /// <summary>"Conv" or "Conv(group=1)", as ignored_scope writes it.</summary>
    public override string ToString() =>
        Attributes is not { Count: > 0 } ? Type : $"{Type}({string.Join(", ", Attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={a.Value}"))})";
}
