using Onnx;

namespace PotPowerShell.Core.Onnx;

/// <summary>The graphs nodes hold in their attributes (If branches, Loop and Scan bodies) and the names they read.</summary>
internal static class Subgraphs
{
    /// <summary>The graphs of <paramref name="node"/>'s attributes, in attribute order.</summary>
    public static IEnumerable<GraphProto> Of(NodeProto node) => node.Attribute.SelectMany(a => a.G is { } g ? a.Graphs.Prepend(g) : a.Graphs);

    /// <summary>
    /// Every name <paramref name="node"/> reads: its inputs, and those of the nodes of its subgraphs at any depth (a
    /// name defined inside a body counts too; that only keeps more, never drops a tensor a body reads from outside).
    /// </summary>
    public static IEnumerable<string> NamesRead(NodeProto node) => node.Input.Concat(Of(node).SelectMany(g => g.Node.SelectMany(NamesRead)));
}
