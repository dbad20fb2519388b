using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// A 16-bit float model (float16 or bfloat16 weights and activations) widened to the FP32 model it computes, as POT
/// quantizes an FP16 IR as the FP32 model its compressed weights decompress to. Every float16/bfloat16 tensor becomes
/// float: initializers (widened exactly), tensor attributes (Constant, ConstantOfShape), Cast's target type and the
/// generators' dtype, value_info, and the same in control-flow subgraphs. The graph's inputs and outputs keep
/// their 16-bit type behind Cast nodes, so the quantized model takes and gives what the original did. A Cast to float
/// of a tensor that is float after widening does nothing and is removed later with the identities
/// (<see cref="ModelPreparation"/>), so the INT8 kernels on either side of it still meet.
/// </summary>
public static class HalfPrecision
{
    public static bool IsHalf(int dataType) => dataType is (int)DataType.Float16 or (int)DataType.Bfloat16;

    /// <summary>True when the graph, or a subgraph of it, holds a float16 or bfloat16 tensor or type.</summary>
    public static bool Holds(GraphProto graph) =>
        graph.Initializer.Any(t => IsHalf(t.DataType))
        || graph.SparseInitializer.Any(s => s.Values != null && IsHalf(s.Values.DataType))
        || graph.Input.Concat(graph.Output).Concat(graph.ValueInfo).Any(v => Holds(v.Type))
        || graph.Node.Any(n => n.Attribute.Any(Holds));

    /// <summary>True when the main graph holds a float16 or bfloat16 weight: an initializer or a node's tensor attribute.</summary>
    public static bool HoldsWeights(GraphProto graph) =>
        graph.Initializer.Any(t => IsHalf(t.DataType)) || graph.Node.Any(n => n.Attribute.Any(HoldsTensor));

    private static bool HoldsTensor(AttributeProto a) => (a.T != null && IsHalf(a.T.DataType)) || a.Tensors.Any(t => IsHalf(t.DataType));

    private static bool Holds(AttributeProto a) =>
        HoldsTensor(a)
        || (a.Name is "to" or "dtype" && a.Type == AttributeProto.Types.AttributeType.Int && IsHalf((int)a.I))
        || (a.G != null && Holds(a.G)) || a.Graphs.Any(Holds);

    private static bool Holds(TypeProto? type) => type?.ValueCase switch
    {
        TypeProto.ValueOneofCase.TensorType => IsHalf(type.TensorType.ElemType),
        TypeProto.ValueOneofCase.SparseTensorType => IsHalf(type.SparseTensorType.ElemType),
        TypeProto.ValueOneofCase.SequenceType => Holds(type.SequenceType.ElemType),
        TypeProto.ValueOneofCase.OptionalType => Holds(type.OptionalType.ElemType),
        TypeProto.ValueOneofCase.MapType => Holds(type.MapType.ValueType),
        _ => false,
    };

    /// <summary>
    /// Widens <paramref name="graph"/> in place (see the class summary) and returns true, or returns false when it holds
    /// nothing 16-bit. Names of the Cast nodes and tensors added at the edges avoid every name in use.
    /// </summary>
    public static bool Widen(GraphProto graph)
    {
        if (!Holds(graph)) return false;
        var index = new GraphIndex(graph);
        var names = new UniqueNames(index.AllNames());
        var initializers = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = graph.Input.Where(v => !initializers.Contains(v.Name) && IsHalf(v.Type?.TensorType?.ElemType ?? 0))
            .Select(v => (v.Name, Type: v.Type.TensorType.ElemType)).ToList();
        var inputNames = graph.Input.Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
        var outputs = graph.Output.Where(v => !inputNames.Contains(v.Name) && IsHalf(v.Type?.TensorType?.ElemType ?? 0))
            .Select(v => (v.Name, Type: v.Type.TensorType.ElemType)).DistinctBy(o => o.Name).ToList();

        WidenBody(graph);

        // Inputs: reads of x go to Cast(x) instead. Outputs: y's producer writes y_float, read where y was, and a
        // Cast back to y's type writes y.
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal);
        var head = new List<NodeProto>();
        foreach (var (name, _) in inputs)
        {
            string wide = names.Next(name + "_float");
            head.Add(Cast(names.Next(name + "_to_float"), name, wide, (int)DataType.Float));
            renamed[name] = wide;
        }
        var tail = new List<NodeProto>();
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, type) in outputs)
        {
            string wide = names.Next(name + "_float");
            sources[name] = wide;
            renamed[name] = wide;
            tail.Add(Cast(names.Next(name + "_to_" + (type == (int)DataType.Float16 ? "float16" : "bfloat16")), wide, name, type));
        }
        foreach (var node in graph.Node)
            for (int k = 0; k < node.Output.Count; k++)
                if (sources.TryGetValue(node.Output[k], out var wide)) node.Output[k] = wide;
        foreach (var t in graph.Initializer)
            if (sources.TryGetValue(t.Name, out var wide)) t.Name = wide;
        foreach (var v in graph.ValueInfo)
            if (sources.TryGetValue(v.Name, out var wide)) v.Name = wide;
        foreach (var node in graph.Node) RenameReads(node, renamed);
        var nodes = head.Concat(graph.Node).Concat(tail).ToList();
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        return true;
    }

    private static NodeProto Cast(string name, string input, string output, int to)
    {
        var node = new NodeProto { OpType = "Cast", Name = name, Input = { input }, Output = { output } };
        node.Attribute.Add(GraphBuilder.Attribute("to", (long)to));
        return node;
    }

    /// <summary>Widens everything inside a graph but its own inputs' and outputs' types (a subgraph's are widened by <see cref="WidenSubgraph"/>).</summary>
    private static void WidenBody(GraphProto graph)
    {
        for (int i = 0; i < graph.Initializer.Count; i++)
            if (IsHalf(graph.Initializer[i].DataType)) graph.Initializer[i] = Widened(graph.Initializer[i]);
        foreach (var sparse in graph.SparseInitializer)
            if (sparse.Values != null && IsHalf(sparse.Values.DataType)) sparse.Values = Widened(sparse.Values);
        foreach (var v in graph.ValueInfo) WidenType(v.Type);
        foreach (var node in graph.Node)
            foreach (var a in node.Attribute)
            {
                if (a.T != null && IsHalf(a.T.DataType)) a.T = Widened(a.T);
                for (int i = 0; i < a.Tensors.Count; i++)
                    if (IsHalf(a.Tensors[i].DataType)) a.Tensors[i] = Widened(a.Tensors[i]);
                if (a.Name is "to" or "dtype" && a.Type == AttributeProto.Types.AttributeType.Int && IsHalf((int)a.I)) a.I = (long)DataType.Float;
                if (a.G != null) WidenSubgraph(a.G);
                foreach (var g in a.Graphs) WidenSubgraph(g);
            }
    }

    private static void WidenSubgraph(GraphProto graph)
    {
        WidenBody(graph);
        foreach (var v in graph.Input.Concat(graph.Output)) WidenType(v.Type);
    }

    private static void WidenType(TypeProto? type)
    {
        switch (type?.ValueCase)
        {
            case TypeProto.ValueOneofCase.TensorType when IsHalf(type.TensorType.ElemType): type.TensorType.ElemType = (int)DataType.Float; break;
            case TypeProto.ValueOneofCase.SparseTensorType when IsHalf(type.SparseTensorType.ElemType): type.SparseTensorType.ElemType = (int)DataType.Float; break;
            case TypeProto.ValueOneofCase.SequenceType: WidenType(type.SequenceType.ElemType); break;
            case TypeProto.ValueOneofCase.OptionalType: WidenType(type.OptionalType.ElemType); break;
            case TypeProto.ValueOneofCase.MapType: WidenType(type.MapType.ValueType); break;
        }
    }

    /// <summary>A float tensor of the same name, shape and values (float16 and bfloat16 widen exactly).</summary>
    private static TensorProto Widened(TensorProto t)
    {
        var values = TensorProtos.ToFloats(t);
        var wide = TensorProtos.FromFloats(t.Name, values, t.Dims.ToArray());
        if (t.HasDocString) wide.DocString = t.DocString;
        return wide;
    }

    /// <summary>Points reads of the renamed tensors at their new names, in the node and in the subgraphs that read them from outside.</summary>
    private static void RenameReads(NodeProto node, Dictionary<string, string> renamed)
    {
        for (int k = 0; k < node.Input.Count; k++)
            if (renamed.TryGetValue(node.Input[k], out var to)) node.Input[k] = to;
        foreach (var a in node.Attribute)
        {
            if (a.G != null) RenameReads(a.G, renamed);
            foreach (var g in a.Graphs) RenameReads(g, renamed);
        }
    }

    private static void RenameReads(GraphProto graph, Dictionary<string, string> renamed)
    {
        // Names the subgraph defines itself hide the outer ones.
        var local = graph.Input.Select(v => v.Name).Concat(graph.Initializer.Select(t => t.Name)).Concat(graph.Node.SelectMany(n => n.Output))
            .ToHashSet(StringComparer.Ordinal);
        var visible = renamed.Where(r => !local.Contains(r.Key)).ToDictionary(r => r.Key, r => r.Value, StringComparer.Ordinal);
        if (visible.Count == 0) return;
        foreach (var node in graph.Node) RenameReads(node, visible);
        foreach (var v in graph.Output)
            if (visible.TryGetValue(v.Name, out var to)) v.Name = to;
    }
}
