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
        var names = Names(graph);
        for (int i = 0; i < graph.Node.Count; i++) graph.Node[i].Name = names[i];
    }

    /// <summary>The names <see cref="NameNodes"/> gives, in node order, without changing the graph.</summary>
    public static IReadOnlyList<string> Names(GraphProto graph)
    {
        var result = graph.Node.Select(n => n.Name).ToArray();
        var taken = new HashSet<string>(StringComparer.Ordinal);
        var needName = new List<int>();
        for (int i = 0; i < result.Length; i++)
            if (result[i].Length == 0 || !taken.Add(result[i])) needName.Add(i);
        // Tensor names may coincide with node names harmlessly, but avoiding them keeps error messages unambiguous.
        var names = new UniqueNames(taken);
        foreach (int i in needName)
            result[i] = names.Next(result[i].Length == 0 ? $"{graph.Node[i].OpType}_{i}" : result[i]);
        return result;
    }
}
