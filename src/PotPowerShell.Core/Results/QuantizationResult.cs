using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Results;

/// <summary>One weighted layer (Conv, ConvTranspose, MatMul, Gemm) of a quantized model and how it was quantized.</summary>
public sealed record QuantizedLayerInfo
{
    public required string Node { get; init; }
    public required string OpType { get; init; }
    /// <summary>"INT8", "Float", or "Dynamic" (INT8 weights, activations quantized at run time: restore_mode only_activations).</summary>
    public required string Precision { get; init; }
    /// <summary>Why the layer has that precision (e.g. "quantized", "ignored scope (name)", "weight is not constant").</summary>
    public required string Reason { get; init; }
    /// <summary>The reason as a code (Quantized, QuantizedSevenBit, IgnoredScope, FasterInFloat, Reverted, NotQuantizable), from the emitter's record.</summary>
    public string ReasonCode { get; init; } = "";
    /// <summary>The activation input tensor.</summary>
    public required string Input { get; init; }
    /// <summary>Calibrated range of the activation input (null when it was not calibrated).</summary>
    public float? InputMin { get; init; }
    public float? InputMax { get; init; }
    /// <summary>Scale and zero point of the input activation quantizer in the emitted model.</summary>
    public float? InputScale { get; init; }
    public int? InputZeroPoint { get; init; }
    /// <summary>Smallest and largest weight scale (per channel or the one per-tensor scale).</summary>
    public float? WeightScaleMin { get; init; }
    public float? WeightScaleMax { get; init; }
    public int WeightScaleCount { get; init; }
    /// <summary>Bits of the weight codes: 8, or 7 for the saturation-free range (U8S7, or saturation_fix first_layer); null when float.</summary>
    public int? WeightBits { get; init; }
    /// <summary>The range estimator used for the input activation.</summary>
    public required string Estimator { get; init; }
    /// <summary>Which range the input got and why: auto says per tensor; another estimator is the run's (null for float layers).</summary>
    public string? RangeChoice { get; init; }
    public required bool BiasCorrected { get; init; }
    /// <summary>Why bias correction was not applied (null when applied or disabled).</summary>
    public string? BiasNote { get; init; }
    /// <summary>
    /// Measured on this CPU by the latency-aware precision choice (null when it did not run): what the model costs for
    /// this layer as INT8 (its kernel and the conversions that changes) and as float, in milliseconds at <see cref="QuantizationResult.BatchSize"/>.
    /// </summary>
    public double? Int8Ms { get; init; }
    public double? FloatMs { get; init; }

    /// <summary>"/conv1/Conv INT8", "fc Float (FasterInFloat)": how a result's Layers read where only text goes (Export-Csv).</summary>
    public override string ToString() => ReasonCode is "" or "Quantized" ? $"{Node} {Precision}" : $"{Node} {Precision} ({ReasonCode})";
}

/// <summary>An ONNX Runtime kernel the quantized model runs, with how many nodes use it after optimization.</summary>
public sealed record KernelCount(string Kernel, int Count)
{
    public override string ToString() => $"{Kernel}={Count}";
}

/// <summary>What Invoke-DefaultQuantization did: where, how, with which types, per layer, and how long each stage took.</summary>
public sealed record QuantizationResult : IQuantizedModelResult
{
    public required string ModelPath { get; init; }
    public required string OutputPath { get; init; }
    /// <summary>The JSON report written next to the output, &lt;name&gt;.report.json (see ReportJson).</summary>
    public string? ReportPath { get; init; }
    public required string CalibrationDataPath { get; init; }
    /// <summary>The options the model was quantized with: Get-LayerRanking rebuilds the same quantization from them.</summary>
    public DefaultQuantizationOptions? Options { get; init; }

    /// <summary>The preset asked for.</summary>
    public required QuantizationPreset Preset { get; init; }
    /// <summary>The preset applied after POT's per-device aliasing (accuracy -> mixed on ANY/CPU/GPU).</summary>
    public required QuantizationPreset EffectivePreset { get; init; }
    public required bool SymmetricWeights { get; init; }
    public required bool SymmetricActivations { get; init; }
    /// <summary>Why the activations are symmetric or asymmetric (the preset on the target, or activations.mode).</summary>
    public string ActivationsReason { get; init; } = "";
    public required bool PerChannelWeights { get; init; }
    public required TargetDevice TargetDevice { get; init; }
    /// <summary>Integer types of the emitted model (never Auto).</summary>
    public required QuantizationTypes Types { get; init; }
    /// <summary>Why these types: the override, or what the CPU offers.</summary>
    public required string TypesReason { get; init; }
    public required string ActivationEstimator { get; init; }
    /// <summary>Why that estimator: with auto (the default), the self-check of auto's ranges against POT's mean min/max ranges.</summary>
    public string ActivationEstimatorReason { get; init; } = "";
    /// <summary>"FastBiasCorrection", "BiasCorrection" or "None".</summary>
    public required string BiasCorrection { get; init; }
    /// <summary>Which bias shifts were applied: POT's threshold rule (a config set threshold) or ours, per channel against the output's spread.</summary>
    public string BiasCorrectionRule { get; init; } = "";
    /// <summary>"transformer" or "none": whether POT's transformer rules applied.</summary>
    public string ModelType { get; init; } = "none";
    /// <summary>Why: model_type given, or what detection found in the graph.</summary>
    public string ModelTypeReason { get; init; } = "";
    /// <summary>Conv pairs rescaled by cross-layer equalization, "first -> second" (empty when it is off or found none).</summary>
    public IReadOnlyList<string> EqualizedPairs { get; init => field = ValueList.From(value); } = ValueList<string>.Empty;
    /// <summary>Whether SmoothQuant was applied to the Linear layers, and why or why not (the self-check's numbers when it decided).</summary>
    public string SmoothQuant { get; init; } = "";
    /// <summary>The Linear layer groups SmoothQuant rescaled, "input -> layers (how)" (empty when it was not applied).</summary>
    public IReadOnlyList<string> SmoothedLayers { get; init => field = ValueList.From(value); } = ValueList<string>.Empty;

    public required IReadOnlyList<QuantizedLayerInfo> Layers { get; init => field = ValueList.From(value); }
    public required int LayerCount { get; init; }
    public required int QuantizedLayerCount { get; init; }
    public required int BiasCorrectedLayerCount { get; init; }
    /// <summary>Quantized layers that ONNX Runtime runs as INT8 kernels (QLinearConv, QLinearMatMul, QGemm...).</summary>
    public required int FusedLayerCount { get; init; }
    /// <summary>Quantized kernels in the optimized graph, by kernel name.</summary>
    public required IReadOnlyList<KernelCount> FusedKernels { get; init => field = ValueList.From(value); }
    /// <summary>Node names the ignored scope kept in float.</summary>
    public required IReadOnlyList<string> IgnoredNodes { get; init => field = ValueList.From(value); }
    public required IReadOnlyList<string> Warnings { get; init => field = ValueList.From(value); }

    public required long SourceOpset { get; init; }
    public required long Opset { get; init; }
    public required int Seed { get; init; }
    public required bool ShuffleData { get; init; }
    /// <summary>Calibration items actually used.</summary>
    public required int StatSubsetSize { get; init; }
    /// <summary>Items per calibration inference actually used.</summary>
    public required int StatBatchSize { get; init; }

    /// <summary>Loading and preparing the model, and the preparation checks.</summary>
    public required TimeSpan PrepareTime { get; init; }
    /// <summary>Timing layers and candidate models on this CPU to choose the precisions (nothing when the timings were cached).</summary>
    public TimeSpan PrecisionTime { get; init; }
    public required TimeSpan CalibrationTime { get; init; }
    public required TimeSpan BiasCorrectionTime { get; init; }
    public required TimeSpan EmitTime { get; init; }
    /// <summary>
    /// The self-checks against FP32 that chose among the candidates (smoothing, ranges, bias corrections), with building
    /// the candidates they compared (SmoothQuant's second calibration pass, the other candidates' bias corrections), and
    /// naming the worst layers when the kept one fails. The stage times, in the order they ran, add up to about
    /// <see cref="TotalTime"/>.
    /// </summary>
    public TimeSpan CheckTime { get; init; }
    /// <summary>Timing the output against the FP32 model (<see cref="Speedup"/>).</summary>
    public TimeSpan LatencyCheckTime { get; init; }
    public required TimeSpan SaveTime { get; init; }
    public required TimeSpan TotalTime { get; init; }

    public required string OnnxRuntimeVersion { get; init; }
    public required string CpuFeatures { get; init; }
    public required long OutputFileSize { get; init; }

    /// <summary>The emitted model against FP32 on a few calibration items (null when the result was not made by DefaultQuantization.Run).</summary>
    public QuantizationCheck? Check { get; init; }
    /// <summary>Fastest (layers faster in float stay float) or AllInt8; GPU and NPU targets always AllInt8.</summary>
    public PrecisionMode Precision { get; init; }
    /// <summary>The batch size the layer timings and the latency check used.</summary>
    public int BatchSize { get; init; } = 1;
    /// <summary>The whole models timed to choose the precisions (Fastest on a CPU target), the chosen one marked.</summary>
    public IReadOnlyList<PrecisionCandidate> PrecisionCandidates { get; init => field = ValueList.From(value); } = ValueList<PrecisionCandidate>.Empty;
    /// <summary>The file the layer timings were cached in (null when no layer was timed).</summary>
    public string? LatencyCachePath { get; init; }
    /// <summary>Median (p50) and 90th-percentile latency of the FP32 model and of the output, timed interleaved at the end (null when skipped).</summary>
    public double? Fp32LatencyMs { get; init; }
    public double? LatencyMs { get; init; }
    public double? Fp32LatencyP90Ms { get; init; }
    public double? LatencyP90Ms { get; init; }
    /// <summary>FP32 p50 over output p50: above 1 when the output is faster (null when the check was skipped).</summary>
    public double? Speedup { get; init; }
    /// <summary>Timed rounds of the latency check (each ran both models once).</summary>
    public int LatencyRuns { get; init; }

    /// <summary>Intermediate models written with dump_intermediate_model (-DumpIntermediateModel): prepared FP32, then before bias correction.</summary>
    public IReadOnlyList<string> IntermediateModels { get; init => field = ValueList.From(value); } = ValueList<string>.Empty;
}
