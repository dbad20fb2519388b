using Onnx;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// Replaces each main-graph call of a model-local function (ModelProto.functions, as exporters write a module once and
/// call it per block) by the function's body, as ONNX Runtime inlines it when it loads the model: the layers inside
/// become layers of the graph, named "&lt;call&gt;/&lt;body node&gt;", so they can be calibrated, quantized and
/// named in an ignored scope. Calls inside a body are inlined too; calls inside control-flow subgraphs are left to
/// ONNX Runtime (their layers stay float, as every subgraph's do, see <see cref="SubgraphLayers"/>). A function whose
/// opset imports disagree with the model's is left as it is, and so is any call of it.
/// </summary>
internal static class FunctionInlining
{
    /// <summary>How deep calls may nest (ONNX forbids recursion; this stops a file that has it).</summary>
    internal const int MaxDepth = 32;

    /// <summary>The most nodes inlining may produce: a small file whose functions call each other twice per level would otherwise grow without bound.</summary>
    internal const int MaxNodes = 1_000_000;

    public static void Inline(ModelProto model)
    {
        if (model.Functions.Count == 0) return;
        var functions = new Dictionary<(string, string, string), FunctionProto>();
        foreach (var f in model.Functions)
            if (OpsetsAgree(model, f)) functions.TryAdd(Key(f.Domain, f.Name, f.Overload), f);
        if (functions.Count == 0) return;
        var graph = model.Graph;
        if (!graph.Node.Any(n => functions.ContainsKey(Key(n.Domain, n.OpType, n.Overload)))) return;

        var names = new UniqueNames(new GraphIndex(graph).AllNames());
        var nodes = new List<NodeProto>();
        foreach (var node in graph.Node) Expand(node, functions, names, nodes, 0);
        graph.Node.Clear();
        graph.Node.AddRange(nodes);

        // The body's ops may come from domains the model did not import (e.g. com.microsoft).
        foreach (var import in functions.Values.SelectMany(f => f.OpsetImport))
            if (!model.OpsetImport.Any(o => SameDomain(o.Domain, import.Domain)))
                model.OpsetImport.Add(import.Clone());
        // A function still called (from a subgraph, or from a function left as it is) stays; the others are gone, and so
        // are their domains' imports when nothing else uses them.
        var called = new HashSet<(string, string, string)>();
        CollectCalls(graph.Node, called);
        foreach (var f in model.Functions.Where(f => !functions.ContainsKey(Key(f.Domain, f.Name, f.Overload)))) CollectCalls(f.Node, called);
        var inlined = model.Functions.Where(f => functions.ContainsKey(Key(f.Domain, f.Name, f.Overload)) && !called.Contains(Key(f.Domain, f.Name, f.Overload))).ToList();
        foreach (var f in inlined) model.Functions.Remove(f);
        var stillUsed = new HashSet<string>(called.Select(c => c.Item1).Concat(model.Functions.Select(f => f.Domain)), StringComparer.Ordinal);
        foreach (var import in model.OpsetImport.Where(o => inlined.Any(f => f.Domain == o.Domain) && !stillUsed.Contains(o.Domain)).ToList())
            model.OpsetImport.Remove(import);
    }

    private static (string, string, string) Key(string domain, string name, string overload) => (domain, name, overload);

    private static bool SameDomain(string a, string b) => a == b || OpCatalog.IsDefaultDomain(a) && OpCatalog.IsDefaultDomain(b);

    /// <summary>Every domain the function imports is imported by the model at the same version, or not at all.</summary>
    private static bool OpsetsAgree(ModelProto model, FunctionProto f) =>
        f.OpsetImport.All(i => model.OpsetImport.FirstOrDefault(o => SameDomain(o.Domain, i.Domain)) is not { } m || m.Version == i.Version);

    private static void Expand(NodeProto node, Dictionary<(string, string, string), FunctionProto> functions, UniqueNames names, List<NodeProto> output, int depth)
    {
        if (!functions.TryGetValue(Key(node.Domain, node.OpType, node.Overload), out var f))
        {
            if (output.Count >= MaxNodes) throw TooLarge(node);
            output.Add(node);
            return;
        }
        if (depth >= MaxDepth)
            throw new PotException("GraphInvalid", PotErrorCategory.InvalidData,
                $"Node '{node.Name}' calls function '{f.Name}' through more than {MaxDepth} nested function calls: ONNX functions may not call themselves. Export the model again.", node.Name);

        // Formal names to actual ones: the call's inputs (a missing optional one is ""), its outputs, and new names for
        // the rest, outputs the call leaves out included (the body may still read them).
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < f.Input.Count; i++) map[f.Input[i]] = i < node.Input.Count ? node.Input[i] : "";
        for (int i = 0; i < f.Output.Count && i < node.Output.Count; i++)
            if (node.Output[i].Length > 0) map[f.Output[i]] = node.Output[i];
        string prefix = node.Name.Length > 0 ? node.Name : f.Name;
        string Actual(string formal)
        {
            if (formal.Length == 0) return "";
            if (!map.TryGetValue(formal, out var actual)) map[formal] = actual = names.Next($"{prefix}/{formal}");
            return actual;
        }

        foreach (var inner in f.Node)
        {
            var copy = inner.Clone();
            copy.Name = names.Next($"{prefix}/{(inner.Name.Length > 0 ? inner.Name : inner.OpType)}");
            for (int i = 0; i < copy.Input.Count; i++) copy.Input[i] = Actual(copy.Input[i]);
            for (int i = 0; i < copy.Output.Count; i++) copy.Output[i] = Actual(copy.Output[i]);
            BindAttributes(copy, node, f);
            foreach (var g in Subgraphs.Of(copy)) RenameOuterReferences(g, map);
            Expand(copy, functions, names, output, depth + 1);
        }
    }

    /// <summary>An attribute that refers to one of the function's (ref_attr_name) takes the call's value, or the function's default, or is left out.</summary>
    private static void BindAttributes(NodeProto copy, NodeProto call, FunctionProto f)
    {
        for (int i = copy.Attribute.Count - 1; i >= 0; i--)
        {
            var a = copy.Attribute[i];
            if (a.RefAttrName.Length == 0) continue;
            var given = call.Attribute.FirstOrDefault(c => c.Name == a.RefAttrName) ?? f.AttributeProto.FirstOrDefault(d => d.Name == a.RefAttrName);
            if (given == null) { copy.Attribute.RemoveAt(i); continue; }
            var bound = given.Clone();
            bound.Name = a.Name;
            copy.Attribute[i] = bound;
        }
    }

    /// <summary>Names a subgraph reads from the body around it take their inlined names; names it defines stay.</summary>
    private static void RenameOuterReferences(GraphProto graph, Dictionary<string, string> map)
    {
        var defined = new HashSet<string>(StringComparer.Ordinal);
        foreach (var v in graph.Input) defined.Add(v.Name);
        foreach (var t in graph.Initializer) defined.Add(t.Name);
        foreach (var n in graph.Node) foreach (var o in n.Output) defined.Add(o);
        var inner = new Dictionary<string, string>(map.Where(kv => !defined.Contains(kv.Key)), StringComparer.Ordinal);
        foreach (var n in graph.Node)
        {
            for (int i = 0; i < n.Input.Count; i++)
                if (inner.TryGetValue(n.Input[i], out var actual)) n.Input[i] = actual;
            foreach (var g in Subgraphs.Of(n)) RenameOuterReferences(g, inner);
        }
        foreach (var o in graph.Output)
            if (inner.TryGetValue(o.Name, out var actual)) o.Name = actual;
    }

    /// <summary>The op of every node, in subgraphs too.</summary>
    private static void CollectCalls(IEnumerable<NodeProto> nodes, HashSet<(string, string, string)> called)
    {
        foreach (var n in nodes)
        {
            called.Add(Key(n.Domain, n.OpType, n.Overload));
            foreach (var g in Subgraphs.Of(n)) CollectCalls(g.Node, called);
        }
    }

    private static PotException TooLarge(NodeProto node) =>
        new("GraphInvalid", PotErrorCategory.InvalidData,
            $"Inlining the model's functions would give more than {MaxNodes:N0} nodes (at node '{node.Name}'): the functions call each other too often to be inlined.", node.Name);
}
