using Onnx;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// Linear layers that read one tensor, smoothed together: channel j of <paramref name="Input"/> was divided by
/// Scales[j] and row j of each layer's weights multiplied by it.
/// </summary>
/// <param name="Input">The tensor the layers read (before smoothing).</param>
/// <param name="Layers">The MatMul and Gemm nodes reading it, in graph order.</param>
/// <param name="Folded">The node the division was folded into (its constants changed), or null when a Mul was inserted.</param>
/// <param name="Mul">The inserted Mul node, or null when the division was folded.</param>
public sealed record SmoothedGroup(string Input, IReadOnlyList<string> Layers, string? Folded, string? Mul, float[] Scales)
{
    /// <summary>How the division by the scales was applied, for reports.</summary>
    public string How => Folded != null ? $"folded into {Folded}" : $"Mul {Mul} inserted";
}

/// <summary>
/// SmoothQuant (Xiao et al., 2022; NNCF's smooth_quant_alpha): moves the per-channel outliers of a Linear layer's input
/// into its weights. For input channel j, with a = max |X_j| over the calibration items and w = max |W_j| (row j of the
/// weights, over every layer reading X), s_j = a^alpha / w^(1 - alpha); X_j is divided by s_j and W_j multiplied by it,
/// so X W is unchanged (up to float rounding) while the activation's channels, quantized per tensor, come closer
/// together, and the weights, quantized per output channel, absorb the difference.
/// <para>
/// The division is folded where that is float-exact and changes nothing else: when every reader of X is smoothed and X
/// is the output of a Mul or Div by a constant, of a MatMul or Gemm with constant weights (its output channels), of a
/// LayerNormalization over the last axis, or of an Add of a constant to one of these (the decomposed layer
/// normalization's scale and shift, a bias). Otherwise (X has other readers, such as a residual Add, or comes from
/// another op) a Mul by 1/s is inserted in front of the smoothed layers only. Layers: MatMul with a 2-D float
/// initializer as second input, Gemm with transA 0 and a float initializer B. A pure function: the input is not modified.
/// </para>
/// </summary>
public static class SmoothQuant
{
    /// <summary>Scales are kept within [1/MaxScale, MaxScale]; a channel with a zero maximum keeps scale 1.</summary>
    public const double MaxScale = 1e4;

    /// <summary>The input tensors of the smoothable layers among <paramref name="layers"/>: what the statistics must cover.</summary>
    public static IReadOnlyList<string> Inputs(ModelProto model, IReadOnlyCollection<string> layers)
    {
        ArgumentNullException.ThrowIfNull(model);
        var index = new GraphIndex(model.Graph);
        return Groups(index, layers).Select(g => g.Input).ToList();
    }

    /// <summary>
    /// s_j for one group: <paramref name="activationMax"/>[j]^alpha / <paramref name="weightMax"/>[j]^(1 - alpha),
    /// clamped to [1/<see cref="MaxScale"/>, <see cref="MaxScale"/>]; 1 where either maximum is zero or not finite.
    /// </summary>
    public static float[] Scales(float[] activationMax, float[] weightMax, double alpha)
    {
        var s = new float[activationMax.Length];
        for (int j = 0; j < s.Length; j++)
        {
            double a = activationMax[j], w = weightMax[j];
            s[j] = a > 0 && w > 0 && double.IsFinite(a) && double.IsFinite(w)
                ? (float)Math.Clamp(Math.Pow(a, alpha) / Math.Pow(w, 1 - alpha), 1 / MaxScale, MaxScale)
                : 1f;
        }
        return s;
    }

    /// <summary>
    /// The smoothed copy of <paramref name="model"/>: every group of smoothable <paramref name="layers"/> whose input has
    /// a per-channel maximum in <paramref name="activationMax"/> (of the input's last axis) is smoothed with
    /// <paramref name="alpha"/> (0 to 1). Groups without statistics, or whose statistics do not match the weights, are
    /// left alone.
    /// </summary>
    public static (ModelProto Model, IReadOnlyList<SmoothedGroup> Groups) Smooth(ModelProto model, IReadOnlyCollection<string> layers,
        IReadOnlyDictionary<string, float[]> activationMax, double alpha)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(activationMax);
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "SmoothQuant's alpha is from 0 to 1.");
        var copy = model.Clone();
        var index = new GraphIndex(copy.Graph);
        var names = new UniqueNames(index.AllNames());
        var done = new List<SmoothedGroup>();
        var inserts = new List<(int Before, NodeProto Node)>();
        foreach (var group in Groups(index, layers))
        {
            if (!activationMax.TryGetValue(group.Input, out var maxima) || maxima.Length != group.Channels) continue;
            var scales = Scales(maxima, WeightMaxima(index, group), alpha);
            foreach (var layer in group.Layers) ScaleWeightRows(copy.Graph, index, layer, scales);
            string? folded = TryFold(copy.Graph, index, group, scales, names);
            string? mul = null;
            if (folded == null)
            {
                var inverse = scales.Select(v => 1f / v).ToArray();
                var constant = TensorProtos.FromFloats(names.Next(group.Input + "_smooth_scale"), inverse, group.Channels);
                copy.Graph.Initializer.Add(constant);
                string output = names.Next(group.Input + "_smoothed");
                mul = names.Next(group.Input + "_smooth");
                var node = new NodeProto { Name = mul, OpType = "Mul" };
                node.Input.Add(group.Input);
                node.Input.Add(constant.Name);
                node.Output.Add(output);
                foreach (var layer in group.Layers) copy.Graph.Node[layer].Input[0] = output;
                inserts.Add((group.Layers.Min(), node));
            }
            done.Add(new SmoothedGroup(group.Input, group.Layers.Select(l => copy.Graph.Node[l].Name).ToList(), folded, mul, scales));
        }
        // Each Mul goes right before the first layer it feeds (its input is produced earlier), last position first.
        foreach (var (before, node) in inserts.OrderByDescending(i => i.Before)) copy.Graph.Node.Insert(before, node);
        return done.Count == 0 ? (model, done) : (copy, done);
    }

    /// <summary>Smoothable layers reading one tensor, by node index in graph order.</summary>
    private sealed record Group(string Input, IReadOnlyList<int> Layers, int Channels);

    private static List<Group> Groups(GraphIndex index, IReadOnlyCollection<string> layers)
    {
        var wanted = layers.ToHashSet(StringComparer.Ordinal);
        var byInput = new SortedDictionary<string, List<int>>(StringComparer.Ordinal);
        var channels = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<string>();
        for (int i = 0; i < index.Graph.Node.Count; i++)
        {
            var node = index.Graph.Node[i];
            if (!wanted.Contains(node.Name) || InputChannels(index, node) is not int k) continue;
            // Weights read by another node would change that node too.
            if (index.Consumers(node.Input[1]).Count != 1) continue;
            string x = node.Input[0];
            if (!byInput.TryGetValue(x, out var list)) { byInput[x] = list = new List<int>(); channels[x] = k; order.Add(x); }
            if (channels[x] == k) list.Add(i);
        }
        return order.Select(x => new Group(x, byInput[x], channels[x])).ToList();
    }

    /// <summary>K, the input channels, of a smoothable MatMul or Gemm; else null.</summary>
    private static int? InputChannels(GraphIndex index, NodeProto node)
    {
        if (!OpCatalog.IsDefaultDomain(node.Domain) || node.Input.Count < 2 || node.Input[0].Length == 0 || index.IsInitializer(node.Input[0])) return null;
        if (!index.Initializers.TryGetValue(node.Input[1], out var w) || w.DataType != (int)TensorProto.Types.DataType.Float || w.Dims.Count != 2) return null;
        if (node.OpType == "MatMul") return checked((int)w.Dims[0]);
        if (node.OpType != "Gemm" || Attribute(node, "transA") != 0) return null;
        return checked((int)(Attribute(node, "transB") != 0 ? w.Dims[1] : w.Dims[0]));
    }

    private static long Attribute(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name)?.I ?? 0;

    /// <summary>Max |W| over row j (the elements that read input channel j) of every layer of the group.</summary>
    private static float[] WeightMaxima(GraphIndex index, Group group)
    {
        var max = new float[group.Channels];
        foreach (var layer in group.Layers)
        {
            var node = index.Graph.Node[layer];
            var w = TensorProtos.ToFloats(index.Initializers[node.Input[1]]);
            ForEachInputChannel(node, index.Initializers[node.Input[1]], (i, j) => max[j] = Math.Max(max[j], Math.Abs(w[i])));
        }
        return max;
    }

    private static void ScaleWeightRows(GraphProto graph, GraphIndex index, int layer, float[] scales)
    {
        var node = graph.Node[layer];
        var old = index.Initializers[node.Input[1]];
        var w = TensorProtos.ToFloats(old);
        ForEachInputChannel(node, old, (i, j) => w[i] *= scales[j]);
        Replace(graph, index, old, w);
    }

    /// <summary>Visits (element, input channel) of a [K, N] MatMul/Gemm weight, or [N, K] with transB.</summary>
    private static void ForEachInputChannel(NodeProto node, TensorProto weight, Action<int, int> visit)
    {
        int rows = checked((int)weight.Dims[0]), columns = checked((int)weight.Dims[1]);
        bool transposed = node.OpType == "Gemm" && Attribute(node, "transB") != 0;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++) visit(r * columns + c, transposed ? c : r);
    }

    /// <summary>
    /// Folds X / s into X's producer when every reader of X is in the group and that is float-exact; returns the node
    /// changed, or null (nothing changed) when it cannot.
    /// </summary>
    private static string? TryFold(GraphProto graph, GraphIndex index, Group group, float[] scales, UniqueNames names)
    {
        if (index.GraphOutputs.Contains(group.Input) || index.Consumers(group.Input).Count != group.Layers.Count) return null;
        var edits = new List<(int Node, int Input, float[] Values, long[] Dims)>();
        if (!PlanFold(index, group.Input, scales, edits, depth: 0)) return null;
        foreach (var (node, input, values, dims) in edits)
        {
            var target = graph.Node[node];
            var old = index.Initializers[target.Input[input]];
            if (index.Consumers(old.Name).Count == 1 && dims.SequenceEqual(old.Dims)) Replace(graph, index, old, values);
            else
            {
                // A constant shared with other nodes, or one that grows from a broadcast scalar to a vector: a new initializer.
                var added = TensorProtos.FromFloats(names.Next(old.Name + "_smooth"), values, dims);
                graph.Initializer.Add(added);
                target.Input[input] = added.Name;
            }
        }
        return graph.Node[index.Producer(group.Input)].Name;
    }

    /// <summary>The constant edits that divide channel j of <paramref name="tensor"/> by s_j, or false when there are none that do it exactly.</summary>
    private static bool PlanFold(GraphIndex index, string tensor, float[] s, List<(int, int, float[], long[])> edits, int depth)
    {
        int at = index.Producer(tensor);
        if (at < 0 || depth > 4) return false;
        var node = index.Graph.Node[at];
        if (!OpCatalog.IsDefaultDomain(node.Domain) || node.Output.Count != 1) return false;
        int k = s.Length;
        switch (node.OpType)
        {
            case "Mul" or "Div" or "Add" when node.Input.Count == 2:
            {
                // Div only by a constant (c / a is not linear in a).
                int c = index.IsInitializer(node.Input[1]) ? 1 : index.IsInitializer(node.Input[0]) && node.OpType != "Div" ? 0 : -1;
                if (c < 0 || index.IsInitializer(node.Input[1 - c]) || LastAxisVector(index.Initializers[node.Input[c]], k) is not { } v) return false;
                var (values, dims) = v;
                for (int j = 0; j < k; j++) values[j] = node.OpType == "Div" ? values[j] * s[j] : values[j] / s[j];
                edits.Add((at, c, values, dims));
                if (node.OpType != "Add") return true;
                // (a + c) / s = a / s + c / s: a must be divided too, and be read by this Add alone.
                string a = node.Input[1 - c];
                return index.Consumers(a).Count == 1 && !index.GraphOutputs.Contains(a) && PlanFold(index, a, s, edits, depth + 1);
            }
            case "MatMul" when node.Input.Count == 2 && index.Initializers.TryGetValue(node.Input[1], out var w) && IsFloatMatrix(w, columns: k):
            {
                var values = TensorProtos.ToFloats(w);
                for (int i = 0; i < values.Length; i++) values[i] /= s[i % k];
                edits.Add((at, 1, values, w.Dims.ToArray()));
                return true;
            }
            case "Gemm" when node.Input.Count >= 2 && Attribute(node, "transA") == 0 && index.Initializers.TryGetValue(node.Input[1], out var b):
            {
                bool transB = Attribute(node, "transB") != 0;
                if (!(transB ? IsFloatMatrix(b, rows: k) : IsFloatMatrix(b, columns: k))) return false;
                var values = TensorProtos.ToFloats(b);
                for (int i = 0; i < values.Length; i++) values[i] /= s[transB ? i / (values.Length / k) : i % k];
                if (node.Input.Count > 2 && node.Input[2].Length > 0)
                {
                    if (!index.Initializers.TryGetValue(node.Input[2], out var bias) || LastAxisVector(bias, k) is not { } v) return false;
                    for (int j = 0; j < k; j++) v.Values[j] /= s[j];
                    edits.Add((at, 2, v.Values, v.Dims));
                }
                edits.Add((at, 1, values, b.Dims.ToArray()));
                return true;
            }
            case "LayerNormalization" when node.Input.Count >= 2 && (node.Attribute.FirstOrDefault(a => a.Name == "axis")?.I ?? -1) == -1:
            {
                // Over the last axis only (axis -1, the default); scale and bias are [K].
                for (int input = 1; input < Math.Min(3, node.Input.Count); input++)
                {
                    if (node.Input[input].Length == 0) continue;
                    if (!index.Initializers.TryGetValue(node.Input[input], out var t) || LastAxisVector(t, k) is not { } v || t.Dims.Count != 1) return false;
                    for (int j = 0; j < k; j++) v.Values[j] /= s[j];
                    edits.Add((at, input, v.Values, v.Dims));
                }
                return true;
            }
            default:
                return false;
        }
    }

    private static bool IsFloatMatrix(TensorProto t, int? rows = null, int? columns = null) =>
        t.DataType == (int)TensorProto.Types.DataType.Float && t.Dims.Count == 2 && (rows == null || t.Dims[0] == rows) && (columns == null || t.Dims[1] == columns);

    /// <summary>
    /// A float constant that broadcasts along the last axis only (one value, or K values on its last axis with every
    /// other dimension 1), as K values and the dimensions that hold them; else null.
    /// </summary>
    private static (float[] Values, long[] Dims)? LastAxisVector(TensorProto t, int k)
    {
        if (t.DataType != (int)TensorProto.Types.DataType.Float) return null;
        long count = TensorProtos.ElementCount(t);
        if (t.Dims.Take(Math.Max(0, t.Dims.Count - 1)).Any(d => d != 1)) return null;
        var values = TensorProtos.ToFloats(t);
        if (count == k && t.Dims.Count >= 1) return (values, t.Dims.ToArray());
        if (count != 1) return null;
        var dims = t.Dims.Count == 0 ? new long[] { k } : t.Dims.Take(t.Dims.Count - 1).Append(k).ToArray();
        return (Enumerable.Repeat(values[0], k).ToArray(), dims);
    }

    private static void Replace(GraphProto graph, GraphIndex index, TensorProto old, float[] values)
    {
        var replacement = TensorProtos.FromFloats(old.Name, values, old.Dims.ToArray());
        int at = graph.Initializer.IndexOf(old);
        graph.Initializer[at] = replacement;
        index.Initializers[old.Name] = replacement;
    }
}
