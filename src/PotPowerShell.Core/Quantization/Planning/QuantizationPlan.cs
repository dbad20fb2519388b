using Onnx;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// Everything the QDQ emitter needs to turn a prepared float model into a quantized one. The emitter is a pure
/// function of (prepared model, plan): AccuracyAwareQuantization builds every candidate by changing
/// <see cref="FloatLayers"/> and emitting again, never by editing a quantized graph.
/// </summary>
public sealed record QuantizationPlan
{
    /// <summary>Concrete types (never Auto).</summary>
    public required QuantizationTypes Types { get; init; }
    public required bool SymmetricActivations { get; init; }
    public required bool SymmetricWeights { get; init; }
    public required bool PerChannelWeights { get; init; }
    /// <summary>Null = min/max weight ranges; else the outlier probability of quantile ranges (see DefaultQuantizationOptions).</summary>
    public double? WeightOutlierProbability { get; init; }
    /// <summary>Calibrated range of every activation tensor the emitter asked for (<c>QdqEmitter.TensorsToCalibrate</c>).</summary>
    public required IReadOnlyDictionary<string, ActivationRange> Ranges { get; init; }
    /// <summary>Weighted layers (node names) left in float by the ignored scope or reverted by AAQ.</summary>
    public IReadOnlySet<string> FloatLayers { get; init; } = new HashSet<string>();
    /// <summary>Why layers of <see cref="FloatLayers"/> are float, for the emission record; a layer not listed is recorded as reverted.</summary>
    public IReadOnlyDictionary<string, FloatReason> FloatReasons { get; init; } = new Dictionary<string, FloatReason>();
    /// <summary>
    /// POT's model_type transformer: the inputs of MatMuls of two activations (attention scores and context) get
    /// symmetric quantizers whatever <see cref="SymmetricActivations"/> says.
    /// </summary>
    public bool SymmetricActivationProducts { get; init; }
    /// <summary>Layers whose weights use the 7-bit range whatever <see cref="Types"/> says (saturation_fix first_layer).</summary>
    public IReadOnlySet<string> SevenBitLayers { get; init; } = new HashSet<string>();
    /// <summary>
    /// Layers of <see cref="FloatLayers"/> that keep INT8 weights with dynamically quantized activations (restore_mode
    /// only_activations; see <see cref="DynamicForm"/>): MatMul and Gemm only, the rest of the graph as if they were float.
    /// </summary>
    public IReadOnlySet<string> DynamicLayers { get; init; } = new HashSet<string>();
    /// <summary>Bias-corrected float biases by node name; a layer not listed keeps its original bias.</summary>
    public IReadOnlyDictionary<string, float[]> CorrectedBiases { get; init; } = new Dictionary<string, float[]>();
}

/// <summary>
/// Builds quantized candidates of one calibrated model. DefaultQuantization produces it; AccuracyAwareQuantization
/// and Get-LayerRanking use it to revert layers without calibrating again.
/// </summary>
public interface IQuantizedModelBuilder
{
    /// <summary>The prepared float model (opset upgraded, Constant weights moved to initializers).</summary>
    ModelProto FloatModel { get; }

    /// <summary>
    /// The FP32 model runs are measured against: the prepared model before SmoothQuant rewrote it (<see cref="FloatModel"/>
    /// may be SmoothQuant's float-exact rewrite, whose float form the candidates' reverted layers keep).
    /// </summary>
    ModelProto BaselineModel => FloatModel;

    /// <summary>Weighted layers that are INT8 when nothing is reverted, in graph order.</summary>
    IReadOnlyList<QuantizableLayer> Layers { get; }

    /// <summary>The quantized model with <paramref name="revertedLayers"/> (node names) back in float, with their original weights and biases.</summary>
    ModelProto Build(IReadOnlySet<string> revertedLayers);

    /// <summary>
    /// Reverted layers that may run in their dynamic form instead of float (restore_mode only_activations: MatMul and
    /// Gemm whose dynamic form is faster on this CPU; see <see cref="DynamicForm"/>); empty otherwise.
    /// </summary>
    IReadOnlySet<string> DynamicCapable => EmptyLayers;

    /// <summary>
    /// As <see cref="Build(IReadOnlySet{string})"/>, with the reverted layers of <paramref name="dynamicLayers"/> (each
    /// one of <see cref="DynamicCapable"/>) keeping INT8 weights with their activations quantized at run time.
    /// </summary>
    ModelProto Build(IReadOnlySet<string> revertedLayers, IReadOnlySet<string> dynamicLayers) =>
        dynamicLayers.Count == 0 ? Build(revertedLayers) : throw new NotSupportedException("This builder has no dynamic forms.");

    internal static readonly IReadOnlySet<string> EmptyLayers = new HashSet<string>(StringComparer.Ordinal);
}

/// <summary>A weighted layer the quantizer made INT8.</summary>
/// <param name="Node">Node name.</param>
/// <param name="OpType">Conv, ConvTranspose, MatMul or Gemm.</param>
/// <param name="Input">Its activation input tensor.</param>
/// <param name="Output">Its output tensor, after the bias: for a MatMul followed by an Add of a constant bias vector, the Add's output.</param>
public sealed record QuantizableLayer(string Node, string OpType, string Input, string Output)
{
    /// <summary>
    /// The Add node that holds this MatMul's bias (a constant [N] vector), or null. The emitter treats it as the
    /// layer's bias: int32 when the layer is INT8, replaced by <see cref="QuantizationPlan.CorrectedBiases"/>.
    /// </summary>
    public string? BiasNode { get; init; }
}
