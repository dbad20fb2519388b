using Onnx;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// Layers with float weights in ONNX Runtime's own fused ops (domain com.microsoft), as a model saved after ONNX
/// Runtime optimized it holds (optimized_model_filepath, the transformer optimizer): FusedConv, FusedGemm, FusedMatMul,
/// NhwcConv, GemmFastGelu, and Attention with its packed query, key and value weights. Quantization makes the standard
/// ops INT8 only.
/// </summary>
public static class RuntimeFusedLayers
{
    private static readonly HashSet<string> WeightedOps = new(StringComparer.Ordinal)
    {
        "FusedConv", "FusedGemm", "FusedMatMul", "NhwcConv", "GemmFastGelu", "Attention",
    };

    /// <summary>Each such layer's name (its op type when unnamed) and op type, in graph order.</summary>
    public static IReadOnlyList<(string Layer, string OpType)> Find(GraphProto graph)
    {
        var floatInitializers = graph.Initializer.Where(t => t.DataType == (int)TensorProto.Types.DataType.Float).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        return graph.Node
            .Where(n => n.Domain == "com.microsoft" && WeightedOps.Contains(n.OpType) && n.Input.Count > 1 && floatInitializers.Contains(n.Input[1]))
            .Select(n => (n.Name.Length > 0 ? n.Name : n.OpType, n.OpType)).ToList();
    }
}
