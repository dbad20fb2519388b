using Onnx;

namespace PotPowerShell.Core.Quantization;

/// <summary>Why a weighted layer has the precision it has (<see cref="LayerEmission.Code"/>).</summary>
public enum LayerReason
{
    /// <summary>INT8.</summary>
    Quantized,
    /// <summary>INT8 with 7-bit weights (saturation fix of the first layers).</summary>
    QuantizedSevenBit,
    /// <summary>Float: the ignored scope names it.</summary>
    IgnoredScope,
    /// <summary>Float: ONNX Runtime runs the model faster with it float (latency-aware precision).</summary>
    FasterInFloat,
    /// <summary>Float: reverted by AccuracyAwareQuantization (or a caller of the builder).</summary>
    Reverted,
    /// <summary>
    /// Reverted by AccuracyAwareQuantization with restore_mode only_activations: INT8 weights, activations quantized
    /// per inference by ONNX Runtime (DynamicQuantizeLinear + MatMulInteger, fused into DynamicQuantizeMatMul).
    /// </summary>
    RevertedDynamic,
    /// <summary>Float: the emitter cannot quantize it (weight not a constant float initializer, input not a float activation).</summary>
    NotQuantizable,
}

/// <summary>Why a layer stays float, as the plan carries it to the emitter.</summary>
public sealed record FloatReason(LayerReason Code, string Text);

/// <summary>
/// What the emitter did with one weighted layer: its precision, the reason (a code and its text) and the quantizer
/// parameters it wrote. The report (<see cref="QuantizationReport"/>) and the cmdlets read this; nothing re-derives it.
/// <see cref="Int8"/> means static INT8 (a fused INT8 kernel); a dynamic layer has <see cref="Int8"/> false and
/// <see cref="Dynamic"/> true.
/// </summary>
public sealed record LayerEmission(string Node, string OpType, bool Int8, LayerReason Code, string Reason)
{
    /// <summary>INT8 weights with activations quantized at run time (<see cref="LayerReason.RevertedDynamic"/>).</summary>
    public bool Dynamic { get; init; }
    /// <summary>"INT8", "Dynamic" (INT8 weights, activations quantized at run time) or "Float": the report rows' precision.</summary>
    public string Precision => Int8 ? "INT8" : Dynamic ? "Dynamic" : "Float";
    /// <summary>Scales of the activation input's quantizer (one, per tensor), or null for a float layer.</summary>
    public float[]? InputScales { get; init; }
    public int[]? InputZeroPoints { get; init; }
    /// <summary>Scales of the weights' quantizer (one per output channel when per channel), or null.</summary>
    public float[]? WeightScales { get; init; }
    /// <summary>7 or 8 for an INT8 or dynamic layer, null for a float one.</summary>
    public int? WeightBits { get; init; }
}

/// <summary>The emitted QDQ model and the record of every weighted layer of the prepared model, in graph order.</summary>
public sealed record Emission(ModelProto Model, IReadOnlyList<LayerEmission> Layers);
