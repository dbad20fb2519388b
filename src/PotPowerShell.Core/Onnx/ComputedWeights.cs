using Onnx;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// Layer weights a graph computes from stored tensors: weight normalization exported without constant folding
/// (ReduceL2, Div and Mul of a direction and a gain), a standardized convolution's mean and variance, a transposed or
/// reshaped weight behind arithmetic. Left as they are, the layer reads no constant weight and stays float (the model
/// had "no layer that DefaultQuantization quantizes"); ONNX Runtime folds such nodes when it loads the model, so the
/// values it runs with are the nodes' outputs on their stored inputs. This class finds those nodes and puts given values
/// in their place; running them is the Runtime seam's job (Quantization's <c>ComputedWeightFolding</c>).
/// </summary>
internal static class ComputedWeights
{
    /// <summary>The weights to compute and, in graph order, the nodes that compute them from the initializers they read.</summary>
    public sealed record Plan(IReadOnlyList<string> Weights, IReadOnlyList<NodeProto> Nodes, IReadOnlyList<TensorProto> Initializers);

    /// <summary>All the values a plan's nodes may compute together (4 GB of float).</summary>
    public const long MaxPlanElements = 1L << 30;

    /// <summary>
    /// The weights of Conv, ConvTranspose, Gemm and MatMul and the biases of the first three (<see cref="ConstantInputs"/>) that are not initializers but
    /// computed from initializers alone, by ops of the default domain whose output shapes are known before they run
    /// and hold at most <see cref="ConstantShapes.MaxElements"/> values each (<see cref="ConstantShapes"/>); null when
    /// there are none, or when together they would compute more than <see cref="MaxPlanElements"/> values. The graph is
    /// in topological order (<see cref="ModelPreparation.Prepare"/>).
    /// </summary>
    public static Plan? Find(GraphProto graph)
    {
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        var shapes = new ConstantShapes(initializers);
        var constant = new HashSet<string>(initializers.Keys, StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output)
                if (output.Length > 0) producer[output] = node;
            if (OpCatalog.IsDefaultDomain(node.Domain) && !Subgraphs.Of(node).Any() && node.Input.All(i => i.Length == 0 || constant.Contains(i)) && shapes.Add(node))
                constant.Add(node.Output[0]);
        }
        // A graph output stays the output of its node.
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var weights = WeightedLayers(graph)
            .SelectMany(ConstantInputs)
            .Where(w => !initializers.ContainsKey(w) && constant.Contains(w) && producer.ContainsKey(w) && !outputs.Contains(w))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (weights.Count == 0) return null;
        var needed = new HashSet<NodeProto>();
        var pending = new Stack<string>(weights);
        while (pending.Count > 0)
            if (producer.TryGetValue(pending.Pop(), out var node) && needed.Add(node))
                foreach (var input in node.Input)
                    if (input.Length > 0) pending.Push(input);
        var nodes = graph.Node.Where(needed.Contains).ToList();
        if (nodes.Sum(n => shapes.Elements(n.Output[0])) > MaxPlanElements) return null;
        var read = nodes.SelectMany(n => n.Input).Where(initializers.ContainsKey).Distinct(StringComparer.Ordinal).Select(i => initializers[i]).ToList();
        return new Plan(weights, nodes, read);
    }

    /// <summary>
    /// The weights and biases (as <see cref="Find"/> looks for them) not stored but computed from stored tensors alone,
    /// by any nodes: after <see cref="Replace"/>, those a plan could not hold. Layer name and tensor.
    /// </summary>
    public static IReadOnlyList<(string Layer, string Weight)> FromStoredTensors(GraphProto graph)
    {
        var initializers = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var stored = new HashSet<string>(initializers, StringComparer.Ordinal);
        foreach (var node in graph.Node)
            if (!Subgraphs.Of(node).Any() && node.Input.All(i => i.Length == 0 || stored.Contains(i)))
                foreach (var output in node.Output)
                    if (output.Length > 0) stored.Add(output);
        return WeightedLayers(graph).SelectMany(l => ConstantInputs(l).Where(i => !initializers.Contains(i) && stored.Contains(i)).Select(i => (l.Name, i))).ToList();
    }

    /// <summary>Conv, ConvTranspose, Gemm and MatMul nodes with a second input.</summary>
    public static IEnumerable<NodeProto> WeightedLayers(GraphProto graph) =>
        graph.Node.Where(n => OpCatalog.IsDefaultDomain(n.Domain) && OpCatalog.WeightedLayers.Contains(n.OpType) && n.Input.Count > 1);

    /// <summary>The inputs of a weighted layer that quantization needs stored: its weight, and the bias of Conv, ConvTranspose and Gemm.</summary>
    public static IEnumerable<string> ConstantInputs(NodeProto layer) =>
        layer.Input.Skip(1).Take(layer.OpType == "MatMul" ? 1 : 2).Where(i => i.Length > 0);

    /// <summary>A model of the plan's nodes alone: no inputs, the initializers they read, the weights as its outputs.</summary>
    public static ModelProto Extract(ModelProto model, Plan plan)
    {
        var graph = new GraphProto { Name = "computed_weights" };
        graph.Node.AddRange(plan.Nodes);
        graph.Initializer.AddRange(plan.Initializers);
        foreach (var weight in plan.Weights)
            graph.Output.Add(new ValueInfoProto
            {
                Name = weight,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
            });
        var extracted = new ModelProto { IrVersion = model.IrVersion, Graph = graph };
        extracted.OpsetImport.AddRange(model.OpsetImport);
        return extracted;
    }

    /// <summary>
    /// Puts <paramref name="values"/> (by weight name) in the graph as initializers in place of the nodes that computed
    /// them, and removes the plan's nodes and initializers that nothing reads any more (a gain may also scale something
    /// else, and stays). A weight whose node has another output still read keeps its node.
    /// </summary>
    public static void Replace(GraphProto graph, Plan plan, IReadOnlyDictionary<string, TensorProto> values)
    {
        var planned = plan.Nodes.ToHashSet();
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var read = graph.Node.Where(n => !planned.Contains(n)).SelectMany(Subgraphs.NamesRead).Concat(outputs).ToHashSet(StringComparer.Ordinal);
        // Consumers come after producers, so in reverse order a node's readers are all decided before it.
        var removed = new HashSet<NodeProto>();
        foreach (var node in plan.Nodes.Reverse())
        {
            if (node.Output.All(o => o.Length == 0 || values.ContainsKey(o) || !read.Contains(o))) removed.Add(node);
            else read.UnionWith(node.Input);
        }
        if (removed.Count == 0) return;
        var keep = graph.Node.Where(n => !removed.Contains(n)).ToList();
        graph.Node.Clear();
        graph.Node.AddRange(keep);
        graph.Initializer.AddRange(removed.SelectMany(n => n.Output).Where(values.ContainsKey).Select(o => values[o]));
        var stored = plan.Initializers.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var initializers = graph.Initializer.Where(t => !stored.Contains(t.Name) || read.Contains(t.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.AddRange(initializers);
    }
}
