using Onnx;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// Weighted layers (Conv, ConvTranspose, MatMul, Gemm) inside control-flow subgraphs: If branches, Loop and Scan bodies,
/// at any depth. Quantization works on the main graph only, so they stay float; DefaultQuantization warns about them
/// and Import-PotModel counts them, instead of leaving them out unsaid.
/// </summary>
public static class SubgraphLayers
{
    /// <summary>Each such layer's name (its op type when unnamed) and the main-graph node that holds it, in graph order.</summary>
    public static IReadOnlyList<(string Layer, string Parent)> Find(GraphProto main)
    {
        var found = new List<(string Layer, string Parent)>();
        foreach (var node in main.Node) Collect(node, node.Name.Length > 0 ? node.Name : node.OpType, found);
        return found;
    }

    private static void Collect(NodeProto node, string parent, List<(string Layer, string Parent)> found)
    {
        foreach (var graph in Subgraphs.Of(node))
            foreach (var inner in graph.Node)
            {
                if (OpCatalog.IsDefaultDomain(inner.Domain) && OpCatalog.WeightedLayers.Contains(inner.OpType))
                    found.Add((inner.Name.Length > 0 ? inner.Name : inner.OpType, parent));
                Collect(inner, parent, found);
            }
    }
}
