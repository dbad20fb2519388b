using Onnx;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Results;

/// <summary>How many weighted layers of a model run in INT8 and how many in float.</summary>
public readonly record struct LayerPrecisionCount(int Int8, int Float)
{
    /// <summary>Integer-only operators that are weighted layers themselves (the QOperator format, ORT's contrib ops).</summary>
    private static readonly HashSet<string> IntegerLayers = new(StringComparer.Ordinal)
    {
        "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger", "QGemm", "QLinearConvTranspose",
    };

    /// <summary>
    /// Counts Conv, ConvTranspose, MatMul and Gemm nodes (the layers quantization makes INT8): INT8 when their weight
    /// (input 1) is produced by a DequantizeLinear, as in the QDQ models this module writes; integer operators count as INT8.
    /// </summary>
    public static LayerPrecisionCount Of(ModelProto model)
    {
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var n in model.Graph.Node) foreach (var o in n.Output) if (o.Length > 0) producers[o] = n;
        int int8 = 0, fp = 0;
        foreach (var node in model.Graph.Node)
        {
            if (IntegerLayers.Contains(node.OpType)) int8++;
            else if (OpCatalog.IsDefaultDomain(node.Domain) && OpCatalog.WeightedLayers.Contains(node.OpType))
            {
                bool dequantized = node.Input.Count > 1 && producers.TryGetValue(node.Input[1], out var p) && p.OpType == "DequantizeLinear";
                if (dequantized) int8++;
                else fp++;
            }
        }
        return new LayerPrecisionCount(int8, fp);
    }
}
