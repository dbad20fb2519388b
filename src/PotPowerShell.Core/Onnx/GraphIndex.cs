using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// Read-only lookups over one graph: who produces and who consumes each tensor, initializers, graph inputs/outputs
/// and element types. Nodes are referred to by their index in <c>graph.Node</c> (protobuf messages compare by value,
/// so they make poor dictionary keys).
/// </summary>
internal sealed class GraphIndex
{
    private static readonly IReadOnlyList<(int Node, int Input)> NoConsumers = Array.Empty<(int, int)>();
    private readonly Dictionary<string, List<(int Node, int Input)>> _consumers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int Node, int Output)> _producer = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _types = new(StringComparer.Ordinal);

    public GraphIndex(GraphProto graph)
    {
        Graph = graph;
        Initializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in graph.Initializer) Initializers[t.Name] = t;
        GraphInputs = graph.Input.Select(i => i.Name).Where(n => !Initializers.ContainsKey(n)).ToHashSet(StringComparer.Ordinal);
        GraphOutputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        for (int i = 0; i < graph.Node.Count; i++)
        {
            var node = graph.Node[i];
            for (int k = 0; k < node.Input.Count; k++)
            {
                string name = node.Input[k];
                if (name.Length == 0) continue;
                if (!_consumers.TryGetValue(name, out var list)) _consumers[name] = list = new List<(int, int)>();
                list.Add((i, k));
            }
            for (int k = 0; k < node.Output.Count; k++)
                if (node.Output[k].Length > 0) _producer[node.Output[k]] = (i, k);
        }
        InferTypes();
    }

    public GraphProto Graph { get; }
    public Dictionary<string, TensorProto> Initializers { get; }
    public HashSet<string> GraphInputs { get; }
    public HashSet<string> GraphOutputs { get; }

    public NodeProto Node(int index) => Graph.Node[index];

    public IReadOnlyList<(int Node, int Input)> Consumers(string tensor) =>
        _consumers.TryGetValue(tensor, out var list) ? list : NoConsumers;

    /// <summary>The producing node index, or -1 for graph inputs, initializers and unknown names.</summary>
    public int Producer(string tensor) => _producer.TryGetValue(tensor, out var p) ? p.Node : -1;

    public bool IsInitializer(string tensor) => Initializers.ContainsKey(tensor);

    /// <summary>The ONNX element type of a tensor, or 0 when it is not known.</summary>
    public int ElementType(string tensor) => _types.TryGetValue(tensor, out var t) ? t : 0;

    public bool IsFloat(string tensor) => ElementType(tensor) == (int)DataType.Float;

    /// <summary>Every tensor, node and graph name in use, so new names can avoid them.</summary>
    public HashSet<string> AllNames()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in Graph.Initializer) names.Add(t.Name);
        foreach (var v in Graph.Input) names.Add(v.Name);
        foreach (var v in Graph.Output) names.Add(v.Name);
        foreach (var v in Graph.ValueInfo) names.Add(v.Name);
        foreach (var n in Graph.Node)
        {
            names.Add(n.Name);
            foreach (var s in n.Input) names.Add(s);
            foreach (var s in n.Output) names.Add(s);
        }
        return names;
    }

    // Element types from declarations where present, else propagated through the nodes with the few rules that
    // matter for telling float activations from shape arithmetic (int64) and masks (bool).
    private void InferTypes()
    {
        foreach (var t in Graph.Initializer) _types[t.Name] = t.DataType;
        foreach (var v in Graph.Input.Concat(Graph.ValueInfo).Concat(Graph.Output))
            if (v.Type?.TensorType != null && v.Type.TensorType.ElemType != 0)
                _types.TryAdd(v.Name, v.Type.TensorType.ElemType);
        Propagate();
        // Ops of other domains (com.microsoft's Attention, SkipLayerNormalization, FastGelu in models ONNX Runtime's
        // transformer optimizer wrote) have no rule above. A Conv, ConvTranspose, MatMul or Gemm takes its input in the
        // type of its weight (one type T in the ONNX spec), which types the output of such an op that feeds a layer.
        bool added = false;
        foreach (var node in Graph.Node)
            if (OpCatalog.IsDefaultDomain(node.Domain) && OpCatalog.WeightedLayers.Contains(node.OpType) && node.Input.Count > 1
                && node.Input[0].Length > 0 && ElementType(node.Input[0]) == 0 && ElementType(node.Input[1]) is int t and not 0)
                added |= _types.TryAdd(node.Input[0], t);
        if (added) Propagate();
    }

    private void Propagate()
    {
        foreach (var node in Graph.Node)
            for (int k = 0; k < node.Output.Count; k++)
            {
                string o = node.Output[k];
                if (o.Length == 0 || _types.ContainsKey(o)) continue;
                int t = OutputType(node, k);
                if (t != 0) _types[o] = t;
            }
    }

    private int InputType(NodeProto node, int k) => k < node.Input.Count ? ElementType(node.Input[k]) : 0;

    private int OutputType(NodeProto node, int k)
    {
        if (!OpCatalog.IsDefaultDomain(node.Domain)) return 0;
        switch (node.OpType)
        {
            case "Constant":
                foreach (var a in node.Attribute)
                    switch (a.Name)
                    {
                        case "value": return a.T?.DataType ?? 0;
                        case "value_float" or "value_floats": return (int)DataType.Float;
                        case "value_int" or "value_ints": return (int)DataType.Int64;
                        case "value_string" or "value_strings": return (int)DataType.String;
                    }
                return 0;
            case "Cast":
                return (int)(node.Attribute.FirstOrDefault(a => a.Name == "to")?.I ?? 0);
            case "CastLike":
                return InputType(node, 1);
            case "Shape" or "Size" or "NonZero" or "ArgMax" or "ArgMin" or "NonMaxSuppression":
                return (int)DataType.Int64;
            case "Equal" or "Less" or "Greater" or "LessOrEqual" or "GreaterOrEqual" or "And" or "Or" or "Xor" or "Not" or "IsNaN" or "IsInf":
                return (int)DataType.Bool;
            case "TopK" or "MaxPool" when k == 1:
                return (int)DataType.Int64;
            case "Unique" when k > 0:
                return (int)DataType.Int64;
            case "ConstantOfShape":
                return node.Attribute.FirstOrDefault(a => a.Name == "value")?.T?.DataType ?? (int)DataType.Float;
            case "QuantizeLinear":
                return node.Input.Count > 2 ? InputType(node, 2) : (int)DataType.Uint8;
            case "DequantizeLinear":
                return (int)DataType.Float;
            case "DynamicQuantizeLinear":
                return k == 1 ? (int)DataType.Float : (int)DataType.Uint8;
            case "Where":
                return InputType(node, 1);
            case "EyeLike" or "RandomNormalLike" or "RandomUniformLike":
                return (int)(node.Attribute.FirstOrDefault(a => a.Name == "dtype")?.I ?? InputType(node, 0));
            case "RandomNormal" or "RandomUniform":
                return (int)(node.Attribute.FirstOrDefault(a => a.Name == "dtype")?.I ?? (int)DataType.Float);
            default:
                for (int i = 0; i < node.Input.Count; i++)
                {
                    int t = InputType(node, i);
                    if (t != 0) return t;
                }
                return 0;
        }
    }
}
