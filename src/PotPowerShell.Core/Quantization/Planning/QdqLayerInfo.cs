using Onnx;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Quantization;

/// <summary>A weighted layer the emitter can make INT8, with where its weight and bias live.</summary>
/// <param name="NodeIndex">Index in the prepared graph's node list.</param>
/// <param name="Layer">The public description.</param>
/// <param name="Weight">Initializer name of the constant weight; null for a MatMul of two activations.</param>
/// <param name="Bias">Initializer name of the float bias (Conv/ConvTranspose input 2, Gemm C), or null.</param>
/// <param name="OutputChannels">Bias length (Conv M, ConvTranspose C_out, Gemm/MatMul N); 0 when unknown.</param>
/// <param name="BiasAdd">For a MatMul whose only consumer is an Add of a constant [N] vector: that Add's node index
/// (its constant is the layer's bias, quantized to int32 so ORT fuses MatMul+Add into QGemm); else -1.</param>
internal sealed record QdqLayerInfo(int NodeIndex, QuantizableLayer Layer, string? Weight, string? Bias, int OutputChannels, int BiasAdd = -1)
{
    public bool ActivationTimesActivation => Weight == null;

    /// <summary>Input slots that take an activation quantizer when the layer is INT8.</summary>
    public bool IsActivationInput(int input) => input == 0 || (ActivationTimesActivation && input == 1);

    /// <summary>Finds every weighted layer of the graph the emitter can quantize, in graph order.</summary>
    public static List<QdqLayerInfo> Find(GraphIndex index)
    {
        var layers = new List<QdqLayerInfo>();
        for (int i = 0; i < index.Graph.Node.Count; i++)
        {
            var layer = TryCreate(index, i);
            if (layer != null) layers.Add(layer);
        }
        return layers;
    }

    private static QdqLayerInfo? TryCreate(GraphIndex index, int i)
    {
        var node = index.Node(i);
        if (QdqOpKinds.Of(node) != QdqOpKind.Weighted || node.Output.Count < 1 || node.Output[0].Length == 0) return null;
        string x = node.Input.Count > 0 ? node.Input[0] : "";
        if (x.Length == 0 || index.IsInitializer(x) || !index.IsFloat(x)) return null;
        string? w = node.Input.Count > 1 && node.Input[1].Length > 0 ? node.Input[1] : null;
        if (w == null) return null;
        string? bias = node.Input.Count > 2 && node.Input[2].Length > 0 ? node.Input[2] : null;
        var info = new QuantizableLayer(node.Name, node.OpType, x, node.Output[0]);

        if (node.OpType == "MatMul")
        {
            if (!index.IsFloat(w)) return null;
            if (!index.IsInitializer(w)) return new QdqLayerInfo(i, info, null, null, 0);
            var b = index.Initializers[w];
            int n = b.Dims.Count >= 2 ? (int)b.Dims[^1] : 0;
            if (b.Dims.Count == 2 && FindBiasAdd(index, node.Output[0], n) is { } add)
                return new QdqLayerInfo(i, info with { Output = index.Node(add.Node).Output[0], BiasNode = index.Node(add.Node).Name },
                    w, add.Bias, n, add.Node);
            return new QdqLayerInfo(i, info, w, null, n);
        }

        if (!FloatInitializer(index, w, out var weight) || weight.Dims.Count < 2) return null;
        if (bias != null && !FloatInitializer(index, bias, out _)) return null;
        switch (node.OpType)
        {
            case "Conv":
                if (weight.Dims.Count < 3) return null;
                return WithBias(index, i, info, w, bias, (int)weight.Dims[0]);
            case "ConvTranspose":
                if (weight.Dims.Count < 3) return null;
                long group = Attr(node, "group", 1);
                return WithBias(index, i, info, w, bias, (int)(weight.Dims[1] * group));
            case "Gemm":
                if (weight.Dims.Count != 2) return null;
                int nOut = (int)(Attr(node, "transB", 0) != 0 ? weight.Dims[0] : weight.Dims[1]);
                if (bias != null)
                {
                    // C must broadcast per output column: [N], [1,N], or a single value.
                    var dims = index.Initializers[bias].Dims;
                    long count = TensorProtos.ElementCount(index.Initializers[bias]);
                    bool perColumn = (dims.Count == 1 && dims[0] == nOut) || (dims.Count == 2 && dims[0] == 1 && dims[1] == nOut);
                    if (!perColumn && count != 1) return null;
                }
                return new QdqLayerInfo(i, info, w, bias, nOut);
            default:
                return null;
        }
    }

    /// <summary>Why <see cref="Find"/> passes over a weighted layer, for its record.</summary>
    public static string WhyNot(GraphIndex index, NodeProto node)
    {
        string x = node.Input.Count > 0 ? node.Input[0] : "";
        string w = node.Input.Count > 1 ? node.Input[1] : "";
        if (x.Length > 0 && index.IsInitializer(x))
            return "not quantizable: its constant is the first input (weight @ x); only x @ weight, the activation first, is quantized";
        if (x.Length > 0 && index.ElementType(x) is int t and not 0 and not (int)TensorProto.Types.DataType.Float)
            return $"not quantizable: its input is {(TensorProto.Types.DataType)t}, not float";
        if (node.OpType != "MatMul" && w.Length > 0 && !index.IsInitializer(w))
            return "not quantizable: its weight is computed in the graph, not a constant float initializer";
        return "not quantizable (weight is not a constant float initializer, or the input is not a float activation)";
    }

    /// <summary>The Add that adds a constant float [N] vector to a MatMul output read by nothing else.</summary>
    private static (int Node, string Bias)? FindBiasAdd(GraphIndex index, string output, int n)
    {
        if (n <= 0 || index.GraphOutputs.Contains(output)) return null;
        var consumers = index.Consumers(output);
        if (consumers.Count != 1) return null;
        var add = index.Node(consumers[0].Node);
        if (add.OpType != "Add" || !OpCatalog.IsDefaultDomain(add.Domain) || add.Input.Count != 2 || add.Output.Count != 1) return null;
        string other = add.Input[1 - consumers[0].Input];
        if (other == output || !FloatInitializer(index, other, out var bias)) return null;
        if (bias.Dims.Count != 1 || bias.Dims[0] != n) return null;
        return (consumers[0].Node, other);
    }

    private static QdqLayerInfo? WithBias(GraphIndex index, int i, QuantizableLayer info, string w, string? bias, int channels)
    {
        if (bias != null && TensorProtos.ElementCount(index.Initializers[bias]) != channels) return null;
        return new QdqLayerInfo(i, info, w, bias, channels);
    }

    private static bool FloatInitializer(GraphIndex index, string name, out TensorProto tensor)
    {
        tensor = index.Initializers.GetValueOrDefault(name)!;
        return tensor != null && tensor.DataType == (int)TensorProto.Types.DataType.Float;
    }

    public static long Attr(NodeProto node, string name, long fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.I : fallback;

    public static float AttrF(NodeProto node, string name, float fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.F : fallback;
}
