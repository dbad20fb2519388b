using Onnx;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// Weighted layers inside control-flow subgraphs (If branches, Loop and Scan bodies). DefaultQuantization quantizes the
/// main graph only, so they stay float; the result says so in a warning instead of leaving them out of its layer list.
/// </summary>
internal static class SubgraphLayers
{
    public static string? Warning(GraphProto main, string modelPath)
    {
        var found = new List<(string Layer, string Parent)>();
        foreach (var node in main.Node) Collect(node, node.Name.Length > 0 ? node.Name : node.OpType, found);
        if (found.Count == 0) return null;
        return $"'{modelPath}' has {found.Count} Conv, ConvTranspose, MatMul or Gemm layer(s) inside control-flow subgraphs " +
               $"(If, Loop, Scan; the first is '{found[0].Layer}' in '{found[0].Parent}'). They stay float: DefaultQuantization quantizes the main graph.";
    }

    private static void Collect(NodeProto node, string parent, List<(string Layer, string Parent)> found)
    {
        foreach (var attribute in node.Attribute)
            foreach (var graph in attribute.G != null ? attribute.Graphs.Prepend(attribute.G) : attribute.Graphs)
                foreach (var inner in graph.Node)
                {
                    if (OpCatalog.IsDefaultDomain(inner.Domain) && OpCatalog.WeightedLayers.Contains(inner.OpType))
                        found.Add((inner.Name.Length > 0 ? inner.Name : inner.OpType, parent));
                    Collect(inner, parent, found);
                }
    }
}
