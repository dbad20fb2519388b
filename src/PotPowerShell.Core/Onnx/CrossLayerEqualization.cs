using Onnx;

namespace PotPowerShell.Core.Onnx;

/// <summary>Two Conv nodes equalized: the first's output channel c was divided by Scales[c], the second's input channel c multiplied by it.</summary>
/// <param name="First">The producing Conv (depthwise or not).</param>
/// <param name="Second">The consuming Conv.</param>
/// <param name="Between">The op between them (Relu, Clip, LeakyRelu, PRelu) or null when the first feeds the second directly.</param>
public sealed record EqualizedPair(string First, string Second, string? Between, float[] Scales);

/// <summary>
/// Cross-layer equalization (Nagel et al., "Data-Free Quantization", 2019) of Conv -> Conv pairs, directly or through a
/// positively homogeneous op: Relu, LeakyRelu, PRelu, Clip without a max and with min 0 (f(x / s) = f(x) / s for s &gt; 0).
/// For each channel c between them, with r1 = max |W1[c, ...]| (the first's output channel) and r2 = max |W2[:, c, ...]|
/// (the second's input channel), s = sqrt(r1 / r2): W1[c] and b1[c] are divided by s, W2[:, c] multiplied by it, so
/// both ranges become sqrt(r1 r2). The FP32 outputs are unchanged up to float rounding; what changes is the per-tensor
/// quantization of the second's weights along its input channels and of the tensor between them (depthwise -> pointwise
/// pairs, whose depthwise output channels differ by orders of magnitude, gain most). Chains (A -> B -> C) are swept
/// <see cref="Sweeps"/> times in graph order. A pair is left alone when any tensor it changes has another reader or is
/// a graph output or input, or when a weight is not a float initializer. A pure function: the input is not modified.
/// </summary>
public static class CrossLayerEqualization
{
    /// <summary>Passes over the pairs; each pass equalizes every pair once, in graph order.</summary>
    public const int Sweeps = 4;

    /// <summary>Scales are kept within [1/MaxScale, MaxScale], so a dead channel cannot blow up its neighbour.</summary>
    public const float MaxScale = 1e4f;

    /// <summary>
    /// The equalized copy of <paramref name="model"/> and the pairs it changed (empty: the model is returned as is). With
    /// <paramref name="depthwiseOnly"/>, only pairs whose first Conv is depthwise (one input channel per group).
    /// </summary>
    public static (ModelProto Model, IReadOnlyList<EqualizedPair> Pairs) Equalize(ModelProto model, bool depthwiseOnly = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        var pairs = FindPairs(new GraphIndex(model.Graph)).Where(p => !depthwiseOnly || p.DepthwiseFirst).ToList();
        if (pairs.Count == 0) return (model, Array.Empty<EqualizedPair>());
        var copy = model.Clone();
        var index = new GraphIndex(copy.Graph);
        var weights = new Dictionary<string, float[]>(StringComparer.Ordinal);
        float[] Values(string name) => weights.TryGetValue(name, out var v) ? v : weights[name] = TensorProtos.ToFloats(index.Initializers[name]);

        var total = pairs.ToDictionary(p => p, p => Enumerable.Repeat(1.0, p.Channels).ToArray());
        for (int sweep = 0; sweep < Sweeps; sweep++)
            foreach (var p in pairs)
            {
                var w1 = Values(p.W1);
                var w2 = Values(p.W2);
                var b1 = p.B1 == null ? null : Values(p.B1);
                var r1 = OutputRanges(w1, p.Channels);
                var r2 = InputRanges(w2, p.Shape2, p.Group2);
                for (int c = 0; c < p.Channels; c++)
                {
                    if (!(r1[c] > 0) || !(r2[c] > 0)) continue;
                    double s = Math.Clamp(Math.Sqrt(r1[c] / r2[c]), 1 / MaxScale, MaxScale);
                    ScaleOutputChannel(w1, p.Channels, c, 1 / s);
                    if (b1 != null) b1[c] = (float)(b1[c] / s);
                    ScaleInputChannel(w2, p.Shape2, p.Group2, c, s);
                    total[p][c] *= s;
                }
            }
        foreach (var (name, values) in weights)
        {
            var old = index.Initializers[name];
            var replacement = TensorProtos.FromFloats(name, values, old.Dims.ToArray());
            int at = copy.Graph.Initializer.IndexOf(old);
            copy.Graph.Initializer[at] = replacement;
        }
        return (copy, pairs.Select(p => new EqualizedPair(p.First, p.Second, p.Between, total[p].Select(v => (float)v).ToArray())).ToList());
    }

    private sealed record Pair(string First, string Second, string? Between, string W1, string? B1, string W2, long[] Shape2, int Group2, int Channels, bool DepthwiseFirst);

    private static List<Pair> FindPairs(GraphIndex index)
    {
        var graph = index.Graph;
        var pairs = new List<Pair>();
        foreach (var second in graph.Node)
        {
            if (!IsFloatConv(second, index) || second.Input[0].Length == 0) continue;
            string between = second.Input[0];
            int at = index.Producer(between);
            if (at < 0) continue;
            var middle = graph.Node[at];
            NodeProto first = middle;
            string? op = null;
            if (IsHomogeneous(middle, index))
            {
                if (!OnlyReader(index, between)) continue;
                op = middle.OpType;
                int firstAt = index.Producer(middle.Input[0]);
                if (firstAt < 0) continue;
                first = graph.Node[firstAt];
            }
            if (!IsFloatConv(first, index) || !OnlyReader(index, first.Output[0])) continue;
            var w1 = index.Initializers[first.Input[1]];
            var w2 = index.Initializers[second.Input[1]];
            int channels = checked((int)w1.Dims[0]);
            int group2 = checked((int)(second.Attribute.FirstOrDefault(a => a.Name == "group")?.I ?? 1));
            if (w2.Dims[1] * group2 != channels) continue;
            string? b1 = first.Input.Count > 2 && first.Input[2].Length > 0 ? first.Input[2] : null;
            if (b1 != null && (!index.Initializers.TryGetValue(b1, out var bias) || TensorProtos.ElementCount(bias) != channels
                || bias.DataType != (int)TensorProto.Types.DataType.Float || index.Consumers(b1).Count != 1)) continue;
            // Weights shared with another node are left alone (a Conv is the first of one pair at most, its output having
            // one reader, and the second of one at most, its input having one producer).
            if (index.Consumers(first.Input[1]).Count != 1 || index.Consumers(second.Input[1]).Count != 1) continue;
            long group1 = first.Attribute.FirstOrDefault(a => a.Name == "group")?.I ?? 1;
            pairs.Add(new Pair(first.Name, second.Name, op, first.Input[1], b1, second.Input[1], w2.Dims.ToArray(), group2, channels,
                DepthwiseFirst: group1 > 1 && group1 == channels && w1.Dims[1] == 1));
        }
        return pairs;
    }

    private static bool IsFloatConv(NodeProto node, GraphIndex index) =>
        node.OpType == "Conv" && OpCatalog.IsDefaultDomain(node.Domain) && node.Input.Count >= 2 && node.Output.Count == 1
        && index.Initializers.TryGetValue(node.Input[1], out var w) && w.DataType == (int)TensorProto.Types.DataType.Float && w.Dims.Count >= 3
        && !index.GraphInputs.Contains(node.Input[1]);

    /// <summary>f(x / s) = f(x) / s for every s &gt; 0.</summary>
    private static bool IsHomogeneous(NodeProto node, GraphIndex index)
    {
        if (!OpCatalog.IsDefaultDomain(node.Domain) || node.Output.Count != 1 || node.Input.Count == 0) return false;
        switch (node.OpType)
        {
            case "Relu":
            case "LeakyRelu":
                return true;
            case "PRelu":
                return node.Input.Count == 2 && index.IsInitializer(node.Input[1]);
            case "Clip":
                // Opset 11+: min and max are inputs. Homogeneous only as Relu: min 0 and no max.
                if (node.Attribute.Any(a => a.Name is "min" or "max")) return false;
                if (node.Input.Count > 2 && node.Input[2].Length > 0) return false;
                if (node.Input.Count < 2 || node.Input[1].Length == 0) return true;
                return index.Initializers.TryGetValue(node.Input[1], out var min) && TensorProtos.ToFloats(min) is [0f];
            default:
                return false;
        }
    }

    private static bool OnlyReader(GraphIndex index, string tensor) => index.Consumers(tensor).Count == 1 && !index.GraphOutputs.Contains(tensor);

    private static double[] OutputRanges(float[] w, int channels)
    {
        int per = w.Length / channels;
        var r = new double[channels];
        for (int c = 0; c < channels; c++)
            for (int i = c * per; i < (c + 1) * per; i++) r[c] = Math.Max(r[c], Math.Abs(w[i]));
        return r;
    }

    private static void ScaleOutputChannel(float[] w, int channels, int c, double factor)
    {
        int per = w.Length / channels;
        for (int i = c * per; i < (c + 1) * per; i++) w[i] = (float)(w[i] * factor);
    }

    /// <summary>Max |W2| over the elements that read input channel c of a Conv with <paramref name="group"/> groups ([M, C/group, k...]).</summary>
    private static double[] InputRanges(float[] w, long[] shape, int group)
    {
        int perGroupIn = (int)shape[1];
        var r = new double[perGroupIn * group];
        for (int c = 0; c < r.Length; c++) ForInputChannel(w, shape, group, c, i => r[c] = Math.Max(r[c], Math.Abs(w[i])));
        return r;
    }

    private static void ScaleInputChannel(float[] w, long[] shape, int group, int c, double factor) =>
        ForInputChannel(w, shape, group, c, i => w[i] = (float)(w[i] * factor));

    private static void ForInputChannel(float[] w, long[] shape, int group, int c, Action<int> visit)
    {
        int outputs = (int)shape[0], perGroupIn = (int)shape[1];
        int kernel = w.Length / (outputs * perGroupIn);
        int outPerGroup = outputs / group;
        int g = c / perGroupIn, j = c % perGroupIn;
        for (int o = g * outPerGroup; o < (g + 1) * outPerGroup; o++)
        {
            int start = (o * perGroupIn + j) * kernel;
            for (int k = 0; k < kernel; k++) visit(start + k);
        }
    }
}
