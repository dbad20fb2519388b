using Onnx;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// Turns any float input model into the "prepared" model the QDQ emitter works on. A pure function: the input is
/// never modified and the same input gives the same bytes. Steps, in order:
/// <list type="number">
/// <item>every node gets a unique, non-empty name (ignored scope and AAQ refer to nodes by name), see <see cref="NodeNaming"/>;</item>
/// <item>calls of model-local functions are replaced by the functions' bodies, as ONNX Runtime inlines them (<see cref="FunctionInlining"/>);</item>
/// <item>weights held in Constant nodes become initializers; initializers listed as graph inputs (IR &lt; 4) stop being inputs;</item>
/// <item>a float16 or bfloat16 model is widened to float, its inputs and outputs keeping their type behind Cast nodes (<see cref="HalfPrecision"/>);</item>
/// <item>opset upgrade to 13 for opsets 7-12 (<see cref="OpsetUpgrade"/>); below 7 is refused (OpsetUnsupported, naming the first node
/// whose op changed meaning at opset 7 or earlier);</item>
/// <item>nodes are put in topological order (stable);</item>
/// <item>data movement on constant weights (Transpose, Reshape, Flatten, Squeeze, Unsqueeze, Cast to float) is folded into
/// initializers (<see cref="ConstantFolding"/>), so such weights are quantized per channel;</item>
/// <item>BatchNormalization after Conv/ConvTranspose is folded into the weights and bias (<see cref="BatchNormFolding"/>);</item>
/// <item>Identity nodes (inference-time Dropout, and Cast to float of a float tensor) that do not produce a graph output are removed;</item>
/// <item>a spelled-out hard-swish becomes x * HardSigmoid(x) (<see cref="HardSwishFusion"/>), and Mul and Add by constants that
/// only an unpadded Conv reads are folded into it (<see cref="AffineFolding"/>), as OpenVINO's Model Optimizer folds such ops before POT.</item>
/// </list>
/// </summary>
public static class ModelPreparation
{
    /// <summary>The opset prepared models use when the input is older.</summary>
    public const long TargetOpset = 13;

    /// <summary>The oldest opset that can be upgraded (the oldest ONNX Runtime implements).</summary>
    public const long MinimumOpset = 7;

    public static ModelProto Prepare(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Graph == null)
            throw new PotException("GraphInvalid", PotErrorCategory.InvalidData, "The model holds no graph.");
        var prepared = ModelCopy.WithRawInitializers(model);
        var graph = prepared.Graph;

        long opset = ModelInspector.DefaultOpset(prepared);
        if (opset < MinimumOpset) throw OpsetUpgrade.BelowMinimum(graph, opset, MinimumOpset);

        // Named first, so a generated name reflects the node's position in the file as the user sees it.
        NodeNaming.NameNodes(graph);
        FunctionInlining.Inline(prepared);
        MoveConstantsToInitializers(graph);
        RemoveInitializerInputs(graph);
        HalfPrecision.Widen(graph);
        TopologicalSort(graph);
        if (opset < TargetOpset)
        {
            OpsetUpgrade.Upgrade(graph, opset);
            SetDefaultOpset(prepared, TargetOpset);
        }
        ConstantFolding.FoldWeightMovement(graph);
        BatchNormFolding.Fold(graph);
        RemoveIdentities(graph);
        // Fused first: the affine folding would otherwise take a hard-swish's Mul by 1/6 into the Conv after it.
        HardSwishFusion.Fuse(graph);
        AffineFolding.Fold(graph);
        // Opset 13 needs IR 7; initializers outside graph.input need IR 4.
        if (prepared.IrVersion < 7) prepared.IrVersion = 7;
        return prepared;
    }

    private static void SetDefaultOpset(ModelProto model, long version)
    {
        var ids = model.OpsetImport.Where(o => OpCatalog.IsDefaultDomain(o.Domain)).ToList();
        foreach (var id in ids) model.OpsetImport.Remove(id);
        model.OpsetImport.Insert(0, new OperatorSetIdProto { Domain = "", Version = version });
    }

    /// <summary>Constant nodes with a tensor (or value_float(s)/value_int(s)) become initializers of the same name.</summary>
    internal static void MoveConstantsToInitializers(GraphProto graph)
    {
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var keep = new List<NodeProto>();
        foreach (var node in graph.Node)
        {
            if (node.OpType == "Constant" && OpCatalog.IsDefaultDomain(node.Domain) && node.Output.Count == 1
                && !outputs.Contains(node.Output[0]) && ConstantValue(node) is { } tensor)
            {
                tensor.Name = node.Output[0];
                graph.Initializer.Add(tensor);
                continue;
            }
            keep.Add(node);
        }
        if (keep.Count == graph.Node.Count) return;
        graph.Node.Clear();
        graph.Node.AddRange(keep);
    }

    private static TensorProto? ConstantValue(NodeProto node)
    {
        if (node.Attribute.Count != 1) return null;
        var a = node.Attribute[0];
        return a.Name switch
        {
            "value" when a.T != null => a.T.Clone(),
            "value_float" => TensorProtos.FromFloats("", new[] { a.F }),
            "value_floats" => TensorProtos.FromFloats("", a.Floats.ToArray(), a.Floats.Count),
            "value_int" => TensorProtos.FromInt64("", new[] { a.I }),
            "value_ints" => TensorProtos.FromInt64("", a.Ints.ToArray(), a.Ints.Count),
            _ => null,
        };
    }

    private static void RemoveInitializerInputs(GraphProto graph)
    {
        var inputs = ModelInspector.DataInputs(graph);
        if (inputs.Count == graph.Input.Count) return;
        graph.Input.Clear();
        graph.Input.AddRange(inputs);
    }

    /// <summary>Kahn's algorithm that keeps the original order wherever it is already valid.</summary>
    internal static void TopologicalSort(GraphProto graph)
    {
        var available = graph.Input.Select(i => i.Name).Concat(graph.Initializer.Select(t => t.Name)).ToHashSet(StringComparer.Ordinal);
        available.Add("");
        var producedInside = graph.Node.SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
        if (IsSorted(graph, available)) return;
        var pending = graph.Node.ToList();
        var sorted = new List<NodeProto>(pending.Count);
        while (pending.Count > 0)
        {
            int pick = pending.FindIndex(n => NodeInputs(n).All(i => available.Contains(i) || !producedInside.Contains(i)));
            if (pick < 0)
                throw new PotException("GraphInvalid", PotErrorCategory.InvalidData,
                    $"The graph has a cycle through node '{pending[0].Name}' ({pending[0].OpType}).", pending[0].Name);
            var node = pending[pick];
            pending.RemoveAt(pick);
            sorted.Add(node);
            foreach (var o in node.Output) available.Add(o);
        }
        if (sorted.Select((n, i) => ReferenceEquals(n, graph.Node[i])).All(same => same)) return;
        graph.Node.Clear();
        graph.Node.AddRange(sorted);
    }

    private static bool IsSorted(GraphProto graph, HashSet<string> initiallyAvailable)
    {
        var available = new HashSet<string>(initiallyAvailable, StringComparer.Ordinal);
        var producedInside = graph.Node.SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            if (!NodeInputs(node).All(i => available.Contains(i) || !producedInside.Contains(i))) return false;
            foreach (var o in node.Output) available.Add(o);
        }
        return true;
    }

    /// <summary>Inputs of a node including the outer-scope names its subgraphs read.</summary>
    private static IEnumerable<string> NodeInputs(NodeProto node)
    {
        foreach (var i in node.Input) yield return i;
        foreach (var a in node.Attribute)
        {
            if (a.G != null) foreach (var i in SubgraphReads(a.G)) yield return i;
            foreach (var g in a.Graphs) foreach (var i in SubgraphReads(g)) yield return i;
        }
    }

    private static IEnumerable<string> SubgraphReads(GraphProto g)
    {
        var local = g.Input.Select(i => i.Name).Concat(g.Initializer.Select(t => t.Name)).Concat(g.Node.SelectMany(n => n.Output)).ToHashSet(StringComparer.Ordinal);
        return g.Node.SelectMany(NodeInputs).Where(i => !local.Contains(i));
    }

    /// <summary>Removes the initializers among <paramref name="names"/> that no node reads and no graph output names (after a rewrite took their readers away).</summary>
    internal static void RemoveUnread(GraphProto graph, IEnumerable<string> names)
    {
        var candidates = names.ToHashSet(StringComparer.Ordinal);
        var read = graph.Node.SelectMany(n => n.Input).Concat(graph.Output.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var t in graph.Initializer.Where(t => candidates.Contains(t.Name) && !read.Contains(t.Name)).ToList()) graph.Initializer.Remove(t);
    }

    /// <summary>Removes Identity nodes whose output is not a graph output, pointing consumers at their input.</summary>
    internal static void RemoveIdentities(GraphProto graph)
    {
        var index = new GraphIndex(graph);
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var rename = new Dictionary<string, string>(StringComparer.Ordinal);
        var keep = new List<NodeProto>();
        foreach (var node in graph.Node)
        {
            for (int k = 0; k < node.Input.Count; k++)
                if (rename.TryGetValue(node.Input[k], out var to)) node.Input[k] = to;
            if ((IsIdentityAtInference(node, graph) || IsCastToItsOwnType(node, index)) && !outputs.Contains(node.Output[0]) && !ReadBySubgraph(graph, node.Output[0]))
            {
                rename[node.Output[0]] = node.Input[0];
                continue;
            }
            keep.Add(node);
        }
        if (keep.Count == graph.Node.Count) return;
        graph.Node.Clear();
        graph.Node.AddRange(keep);
    }

    // A Cast to float of a float tensor: what an FP16 export's Casts around the ops it kept in float become once widened (HalfPrecision).
    private static bool IsCastToItsOwnType(NodeProto node, GraphIndex index) =>
        node.OpType == "Cast" && OpCatalog.IsDefaultDomain(node.Domain) && node.Input.Count == 1 && node.Output.Count == 1 && node.Output[0].Length > 0
        && node.Attribute.FirstOrDefault(a => a.Name == "to")?.I == (long)TensorProto.Types.DataType.Float && index.IsFloat(node.Input[0]);

    // Identity, or Dropout whose mask is unused and that is not forced into training mode.
    private static bool IsIdentityAtInference(NodeProto node, GraphProto graph)
    {
        if (!OpCatalog.IsDefaultDomain(node.Domain) || node.Input.Count < 1 || node.Output.Count < 1 || node.Output[0].Length == 0) return false;
        if (node.OpType == "Identity") return node.Input.Count == 1 && node.Output.Count == 1;
        if (node.OpType != "Dropout") return false;
        if (node.Output.Count > 1 && node.Output[1].Length > 0 && graph.Node.Any(n => n.Input.Contains(node.Output[1]))) return false;
        if (node.Output.Count > 1 && graph.Output.Any(o => o.Name == node.Output[1])) return false;
        if (node.Input.Count < 3 || node.Input[2].Length == 0) return true;
        // training_mode given: only a constant false keeps it an identity.
        var mode = graph.Initializer.FirstOrDefault(t => t.Name == node.Input[2]);
        if (mode == null || TensorProtos.ElementCount(mode) != 1) return false;
        return mode.DataType == (int)TensorProto.Types.DataType.Bool
            ? (mode.RawData.IsEmpty ? mode.Int32Data.FirstOrDefault() : mode.RawData[0]) == 0
            : TensorProtos.ToFloats(mode)[0] == 0;
    }

    private static bool ReadBySubgraph(GraphProto graph, string name) =>
        graph.Node.Any(n => n.Attribute.Any(a => (a.G != null && SubgraphReads(a.G).Contains(name)) || a.Graphs.Any(g => SubgraphReads(g).Contains(name))));
}
