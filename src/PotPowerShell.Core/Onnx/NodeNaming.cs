using Onnx;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// Gives every node of a graph a unique, non-empty name, deterministically: named nodes keep their name (the first of
/// a set of duplicates keeps it too); the others get "&lt;OpType&gt;_&lt;index&gt;" (suffixed if that is taken).
/// Ignored scope and AccuracyAwareQuantization refer to layers by these names.
/// </summary>
public static class NodeNaming
{
    public static void NameNodes(GraphProto graph)
    {
        var taken = new HashSet<string>(StringComparer.Ordinal);
        var needName = new List<int>();
        for (int i = 0; i < graph.Node.Count; i++)
        {
            string name = graph.Node[i].Name;
            if (name.Length == 0 || !taken.Add(name)) needName.Add(i);
        }
        // Tensor names may coincide with node names harmlessly, but avoiding them keeps error messages unambiguous.
        var names = new UniqueNames(taken);
        foreach (int i in needName)
        {
            var node = graph.Node[i];
            node.Name = names.Next(node.Name.Length == 0 ? $"{node.OpType}_{i}" : node.Name);
        }
    }
}
