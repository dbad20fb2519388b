using System.Runtime.CompilerServices;
using Google.Protobuf;
using Onnx;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// The part of a model that differs from another model it was derived from, as a model of its own: the changed nodes
/// and everything after them, fed at the cut with tensors the other model computes the same way. Accuracy-aware
/// candidates differ from the current model in one layer, so a candidate can run from the current model's stored
/// activations instead of from the data (src/PotPowerShell.Core/Quantization/AccuracyAware/ActivationStore.cs).
/// </summary>
/// <remarks>
/// The cut runs only through the outputs of QuantizeLinear nodes (and graph inputs). ONNX Runtime fuses a
/// QuantizeLinear into the INT8 kernel before it, whose output that tensor is, and a DequantizeLinear into the kernel
/// after it, so no fusion spans such a tensor: the part after it runs the same kernels alone as in the whole model, and
/// gives the same bits. A float tensor could be the inside of a fusion (Conv + Add accumulates in another order), so a
/// cut never runs through one: the part grows backwards to the QuantizeLinear outputs before it.
/// </remarks>
public sealed class SuffixCut
{
    /// <summary>Model metadata key: the inputs fed from stored activations (names joined by new lines).</summary>
    public const string StoredInputsKey = "potpowershell.stored_inputs";

    /// <summary>Model metadata key: outputs added to be stored, not read by metrics (names joined by new lines).</summary>
    public const string CapturedOutputsKey = "potpowershell.captured_outputs";

    /// <summary>
    /// Model metadata key: the batch size the whole model fixes (a fixed first axis of an input), which a suffix fed
    /// only stored inputs must keep: its graph may hard-code it (Reshape to [1, -1]).
    /// </summary>
    public const string FixedBatchKey = "potpowershell.fixed_batch";

    private SuffixCut(ModelProto model, IReadOnlyList<string> stored, IReadOnlySet<string> produced, double share)
    {
        Model = model;
        StoredInputs = stored;
        Produced = produced;
        NodeShare = share;
    }

    /// <summary>The suffix: the candidate's outputs, computed from its stored inputs (and graph inputs it still reads).</summary>
    public ModelProto Model { get; }

    /// <summary>Tensors of the base model the suffix reads instead of computing them.</summary>
    public IReadOnlyList<string> StoredInputs { get; }

    /// <summary>Every tensor the suffix computes: these may differ from the base model's.</summary>
    public IReadOnlySet<string> Produced { get; }

    /// <summary>The suffix's share of the candidate's nodes.</summary>
    public double NodeShare { get; }

    /// <summary>
    /// Tensors a cut may run through: outputs of QuantizeLinear nodes that quantize a computed tensor (not a weight).
    /// </summary>
    public static IReadOnlyList<string> CutTensors(GraphProto graph)
    {
        var initializers = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        return graph.Node.Where(n => n.OpType == "QuantizeLinear" && n.Domain is "" or "ai.onnx" && n.Input.Count > 0 && !initializers.Contains(n.Input[0]) && n.Output.Count == 1)
            .Select(n => n.Output[0]).ToList();
    }

    /// <summary>
    /// <paramref name="model"/> with its cut tensors as outputs too, so a run of it can store them (marked in the
    /// metadata so that evaluation does not take them for the model's own outputs).
    /// </summary>
    public static ModelProto Capturing(ModelProto model, IReadOnlyCollection<string> tensors)
    {
        var copy = ShallowCopy.Of(model);
        AddCaptured(copy, tensors);
        return copy;
    }

    /// <summary>
    /// The suffix of <paramref name="candidate"/> after the cut through <paramref name="stored"/> tensors of
    /// <paramref name="baseModel"/>, or null when the whole graph changed, the part would be more than
    /// <paramref name="maxShare"/> of the nodes, or the graph holds what the diff does not follow (subgraphs, a graph
    /// output the part does not compute).
    /// </summary>
    /// <param name="capture">Cut tensors the suffix computes are added as outputs to be stored (marked in the metadata):
    /// those in <paramref name="capturable"/>, or all of them when it is null.</param>
    /// <param name="declared">Each stored tensor's shape as ONNX Runtime inferred it in the model it was captured from
    /// (see <see cref="Declare"/>); a tensor without one is not cut through.</param>
    public static SuffixCut? Find(ModelProto baseModel, ModelProto candidate, IReadOnlySet<string> stored, Func<string, IReadOnlyList<string>?> declared,
        double maxShare, bool capture, IReadOnlySet<string>? capturable = null)
    {
        var bg = baseModel.Graph;
        var cg = candidate.Graph;
        if (bg.Node.Concat(cg.Node).Any(n => n.Attribute.Any(a => a.G != null || a.Graphs.Count > 0))) return null;
        if (!bg.Input.Select(i => i.Name).SequenceEqual(cg.Input.Select(i => i.Name))) return null;

        var baseInitializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in bg.Initializer) baseInitializers.TryAdd(t.Name, t);
        var initializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in cg.Initializer) initializers.TryAdd(t.Name, t);
        var baseNodes = NodeBytes(bg);
        var graphInputs = cg.Input.Select(i => i.Name).Where(n => !initializers.ContainsKey(n)).ToHashSet(StringComparer.Ordinal);

        // Tensors the candidate computes as the base does: graph inputs, then outputs of the same node fed the same way.
        var same = new HashSet<string>(graphInputs, StringComparer.Ordinal) { "" };
        var producer = new Dictionary<string, int>(StringComparer.Ordinal);
        var changed = new bool[cg.Node.Count];
        for (int i = 0; i < cg.Node.Count; i++)
        {
            var node = cg.Node[i];
            foreach (var o in node.Output) producer[o] = i;
            bool unchanged = baseNodes.Contains(node.ToByteString()) && node.Input.All(x => same.Contains(x) || SameInitializer(x, initializers, baseInitializers));
            changed[i] = !unchanged;
            if (unchanged) same.UnionWith(node.Output);
        }
        if (!changed.Any(c => c)) return null;

        // Grow the part backwards until every tensor it reads from outside is stored, a graph input or an initializer.
        var work = new Stack<int>(Enumerable.Range(0, changed.Length).Where(i => changed[i]));
        while (work.Count > 0)
        {
            foreach (var input in cg.Node[work.Pop()].Input)
            {
                if (input == "" || initializers.ContainsKey(input) || graphInputs.Contains(input) || stored.Contains(input) && declared(input) != null) continue;
                if (!producer.TryGetValue(input, out int p)) return null;
                if (changed[p]) continue;
                changed[p] = true;
                work.Push(p);
            }
        }

        var nodes = Enumerable.Range(0, changed.Length).Where(i => changed[i]).Select(i => cg.Node[i]).ToList();
        double share = nodes.Count / (double)cg.Node.Count;
        if (share > maxShare) return null;
        var produced = nodes.SelectMany(n => n.Output).Where(o => o != "").ToHashSet(StringComparer.Ordinal);
        if (cg.Output.Any(o => !produced.Contains(o.Name))) return null;

        var read = nodes.SelectMany(n => n.Input).Where(x => x != "").ToHashSet(StringComparer.Ordinal);
        var storedInputs = read.Where(x => !produced.Contains(x) && !initializers.ContainsKey(x) && !graphInputs.Contains(x)).OrderBy(x => x, StringComparer.Ordinal).ToList();
        var storedTypes = StoredTypes(bg, storedInputs);
        if (storedTypes == null) return null;

        var model = ShallowCopy.Of(candidate);
        var g = model.Graph;
        g.Node.Clear();
        g.Node.AddRange(nodes);
        g.Initializer.Clear();
        g.Initializer.AddRange(cg.Initializer.Where(t => read.Contains(t.Name)));
        g.Input.Clear();
        g.Input.AddRange(cg.Input.Where(i => read.Contains(i.Name) && graphInputs.Contains(i.Name)));
        foreach (var name in storedInputs)
            g.Input.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = storedTypes[name], Shape = Declare(declared(name)!) } } });
        g.ValueInfo.Clear();
        g.ValueInfo.AddRange(cg.ValueInfo.Where(v => produced.Contains(v.Name)));
        model.MetadataProps.Add(new StringStringEntryProto { Key = StoredInputsKey, Value = string.Join("\n", storedInputs) });
        if (FixedBatch(cg) is long batch)
            model.MetadataProps.Add(new StringStringEntryProto { Key = FixedBatchKey, Value = batch.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        if (capture) AddCaptured(model, CutTensors(g).Where(t => capturable == null || capturable.Contains(t)).ToList());
        return new SuffixCut(model, storedInputs, produced, share);
    }

    /// <summary>
    /// A stored input's shape as the whole model knows it: each axis a number, a symbol, or "" for an axis ONNX Runtime
    /// could not infer. The suffix must know what the whole model knows: without the rank ONNX Runtime skips fusions
    /// (seen on PaddleOCR's neck), and the results differ in the last bits; knowing more could enable other ones.
    /// </summary>
    /// <returns>Null for no axes: ONNX Runtime did not know the rank (a stored tensor is never a scalar: it has a batch axis).</returns>
    public static TensorShapeProto? Declare(IReadOnlyList<string> dims)
    {
        if (dims.Count == 0) return null;
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(long.TryParse(d, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long value)
                ? new TensorShapeProto.Types.Dimension { DimValue = value }
                : d.Length > 0 ? new TensorShapeProto.Types.Dimension { DimParam = d } : new TensorShapeProto.Types.Dimension());
        return shape;
    }

    /// <summary>The names listed under <paramref name="key"/> in a model's metadata (as ONNX Runtime gives it back).</summary>
    public static IReadOnlyList<string> Listed(IReadOnlyDictionary<string, string> metadata, string key) =>
        metadata.TryGetValue(key, out var value) && value.Length > 0 ? value.Split('\n') : Array.Empty<string>();

    /// <summary>The batch the graph inputs fix, as the evaluation's session runner reads them: a fixed first axis (the largest), or 1 for a scalar input.</summary>
    private static long? FixedBatch(GraphProto graph)
    {
        long? batch = null;
        foreach (var input in ModelInspector.DataInputs(graph))
        {
            if (input.Type?.TensorType?.Shape is not { } shape) continue;
            if (shape.Dim.Count == 0) return 1;
            if (shape.Dim[0].HasDimValue && shape.Dim[0].DimValue > 0) batch = Math.Max(batch ?? 0, shape.Dim[0].DimValue);
        }
        return batch;
    }

    private static void AddCaptured(ModelProto model, IReadOnlyCollection<string> tensors)
    {
        var g = model.Graph;
        var outputs = g.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var added = tensors.Where(t => !outputs.Contains(t)).Distinct().ToList();
        var types = StoredTypes(g, added);
        if (types == null || added.Count == 0) return;
        foreach (var name in added)
            g.Output.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = types[name] } } });
        model.MetadataProps.Add(new StringStringEntryProto { Key = CapturedOutputsKey, Value = string.Join("\n", added) });
    }

    /// <summary>Element types of QuantizeLinear outputs: the zero point's (uint8 without one, as the operator says); null when one is not such an output.</summary>
    private static Dictionary<string, int>? StoredTypes(GraphProto graph, IReadOnlyCollection<string> names)
    {
        var wanted = names.ToHashSet(StringComparer.Ordinal);
        var types = new Dictionary<string, int>(StringComparer.Ordinal);
        var initializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in graph.Initializer) initializers.TryAdd(t.Name, t);
        foreach (var node in graph.Node)
        {
            if (node.OpType != "QuantizeLinear" || node.Output.Count != 1 || !wanted.Contains(node.Output[0])) continue;
            if (node.Input.Count < 3 || node.Input[2] == "") types[node.Output[0]] = (int)TensorProto.Types.DataType.Uint8;
            else if (initializers.TryGetValue(node.Input[2], out var zeroPoint)) types[node.Output[0]] = zeroPoint.DataType;
        }
        return types.Count == wanted.Count ? types : null;
    }

    /// <summary>
    /// Each graph's nodes as bytes, per graph object: a base model is compared with many candidates (every layer of
    /// ActivationReuse.Capturable, every candidate run from one store), and serializing its nodes was a third of each
    /// comparison. Kept with the node objects they came from, so a graph whose node list changed since is serialized
    /// again (models are not changed once built; a node changed in place would not be seen).
    /// </summary>
    private static readonly ConditionalWeakTable<GraphProto, SerializedNodes> Nodes = new();

    private sealed record SerializedNodes(NodeProto[] From, HashSet<ByteString> Bytes);

    private static HashSet<ByteString> NodeBytes(GraphProto graph)
    {
        static SerializedNodes Serialize(GraphProto g) => new(g.Node.ToArray(), new HashSet<ByteString>(g.Node.Select(n => n.ToByteString())));
        var known = Nodes.GetValue(graph, Serialize);
        if (known.From.Length == graph.Node.Count && known.From.Select((n, k) => ReferenceEquals(n, graph.Node[k])).All(same => same)) return known.Bytes;
        var fresh = Serialize(graph);
        Nodes.AddOrUpdate(graph, fresh);
        return fresh.Bytes;
    }

    private static bool SameInitializer(string name, Dictionary<string, TensorProto> candidate, Dictionary<string, TensorProto> baseModel) =>
        candidate.TryGetValue(name, out var a) && baseModel.TryGetValue(name, out var b) && (ReferenceEquals(a, b) || a.Equals(b));
}
