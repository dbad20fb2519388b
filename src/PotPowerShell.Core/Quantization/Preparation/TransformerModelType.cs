using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Quantization;

/// <summary>Whether the transformer rules apply to a model, and why.</summary>
/// <param name="Transformer">True when the model is treated as POT's model_type transformer.</param>
/// <param name="Reason">What decided it: the option, or what the graph holds.</param>
public sealed record ModelTypeChoice(bool Transformer, string Reason)
{
    /// <summary>"transformer" or "none", as the config key writes it.</summary>
    public string Name => Transformer ? TransformerModelType.Name : TransformerModelType.NoneName;
}

/// <summary>
/// POT's model_type transformer. POT does two things: it adds Add, Power, Squeeze, Multiply, Subtract, ReduceMean and
/// SquaredDifference to the ignored operations, so that no quantizer is placed on their inputs; and on target devices
/// ANY, CPU and GPU it quantizes the inputs of MatMuls of two activations (attention scores, attention times values)
/// symmetrically whatever the preset says. The first needs nothing here: the emitter never adds a quantizer for an
/// Add, Mul or other non-weighted op; such an op runs INT8 only when its inputs are already quantized for INT8
/// layers and an INT8 layer reads its output. The second is <see cref="QuantizationPlan.SymmetricActivationProducts"/>.
/// Unlike POT, the model type need not be given: without one (model_type absent), a graph with all three marks of a
/// transformer (<see cref="Detect"/>) is treated as one; model_type none opts out.
/// </summary>
public static class TransformerModelType
{
    public const string Name = "transformer";

    /// <summary>The model_type value that opts out of detection.</summary>
    public const string NoneName = "none";

    /// <summary>The model_type a cmdlet's -ModelType word stands for: Auto (null: detect), None or Transformer.</summary>
    public static string? FromParameter(string word) =>
        word.Equals("Auto", StringComparison.OrdinalIgnoreCase) ? null
        : word.Equals("None", StringComparison.OrdinalIgnoreCase) ? NoneName
        : word.Equals("Transformer", StringComparison.OrdinalIgnoreCase) ? Name
        : throw new ArgumentException($"'{word}' is not a model type: use Auto, None or Transformer.", nameof(word));

    /// <summary>The option if it names a model type, else what <see cref="Detect"/> finds in <paramref name="prepared"/>.</summary>
    public static ModelTypeChoice Resolve(DefaultQuantizationOptions options, ModelProto prepared)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(prepared);
        if (string.Equals(options.ModelType, Name, StringComparison.OrdinalIgnoreCase)) return new(true, "model_type transformer");
        if (string.Equals(options.ModelType, NoneName, StringComparison.OrdinalIgnoreCase)) return new(false, "model_type none");
        string? marks = Detect(prepared.Graph);
        return marks == null
            ? new(false, "detected: the graph lacks a transformer's marks (MatMul of two activations, Softmax, layer normalization)")
            : new(true, "detected: " + marks);
    }

    /// <summary>True when activation-times-activation MatMuls get symmetric input quantizers (POT applies it on ANY, CPU and GPU).</summary>
    public static bool SymmetricProducts(ModelTypeChoice choice, DefaultQuantizationOptions options) =>
        choice.Transformer && options.TargetDevice is TargetDevice.Any or TargetDevice.Cpu or TargetDevice.Gpu;

    /// <summary>
    /// The marks of a transformer when the graph has all three, else null: a MatMul of two activations (neither input
    /// an initializer), a Softmax, and a layer normalization (LayerNormalization, ONNX Runtime's fused forms, or the
    /// decomposed pattern: a ReduceMean subtracted from its input and a Div by a Sqrt).
    /// </summary>
    public static string? Detect(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var index = new GraphIndex(graph);
        int products = graph.Node.Count(n => n.OpType == "MatMul" && n.Input.Count == 2 && n.Input.All(i => !index.IsInitializer(i) && !IsConstant(index, i)));
        int softmax = graph.Node.Count(n => n.OpType == "Softmax");
        int fused = graph.Node.Count(n => n.OpType is "LayerNormalization" or "SimplifiedLayerNormalization" or "SkipLayerNormalization" or "SkipSimplifiedLayerNormalization");
        int decomposed = graph.Node.Count(n => n.OpType == "Div" && n.Input.Count == 2 && index.Producer(n.Input[1]) is int p && p >= 0 && graph.Node[p].OpType == "Sqrt")
            > 0 && graph.Node.Any(n => n.OpType == "Sub" && n.Input.Count == 2 && index.Producer(n.Input[1]) is int m && m >= 0
                && graph.Node[m].OpType == "ReduceMean" && graph.Node[m].Input[0] == n.Input[0])
            ? graph.Node.Count(n => n.OpType == "ReduceMean") / 2 : 0;
        if (products == 0 || softmax == 0 || fused + decomposed == 0) return null;
        return $"{products} MatMul(s) of two activations, {softmax} Softmax, {fused + decomposed} layer normalization(s)";
    }

    private static bool IsConstant(GraphIndex index, string tensor) =>
        index.Producer(tensor) is int p && p >= 0 && index.Graph.Node[p].OpType == "Constant";
}
