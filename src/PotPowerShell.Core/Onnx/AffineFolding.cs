using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// Folds multiplications and additions by constants into the Conv that reads their result: Mul(c) / Add(b) ... -> Conv
/// without padding, each constant one value: W' = W * s, b'[o] = b[o] + t * sum(W[o]), where the chain computes s * x + t.
/// ONNX Runtime folds none of them once the Conv is in QDQ form: each stays a float pass over the activation between two
/// INT8 kernels (PaddleOCR's learnable affine blocks, bench/Bench-DefaultQuantization.ps1 NOTES). With padding the zeros
/// the Conv pads with would have become t, so padded Convs are left alone; a per-channel constant could broadcast the
/// Conv's input to more channels, so only single values fold. Mul and Add right after a Conv are not folded into it:
/// the Conv's output quantizer would then quantize the shifted tensor, and on PaddleOCR's recognizer every layer INT8
/// agreed with FP32 on 39 of 100 held-out lines that way against 51 without (bench/Bench-Quality.ps1; NOTES there).
/// In float64. Only where each intermediate tensor feeds the next step alone and is no graph output, and the Conv's weight
/// and bias are float initializers it alone reads. The Conv keeps its name.
/// </summary>
public static class AffineFolding
{
    /// <summary>Folds every chain it can; returns the number of Mul and Add nodes removed.</summary>
    public static int Fold(GraphProto graph)
    {
        int removed = 0;
        while (FoldOne(graph) is int n and > 0) removed += n;
        return removed;
    }

    private static int FoldOne(GraphProto graph)
    {
        var index = new GraphIndex(graph);
        // Graph outputs stay, and so does a tensor a subgraph reads (the index does not see those reads).
        var kept = index.GraphOutputs.Concat(graph.Node.SelectMany(Subgraphs.Of).SelectMany(g => g.Node.SelectMany(Subgraphs.NamesRead))).ToHashSet(StringComparer.Ordinal);
        for (int i = 0; i < graph.Node.Count; i++)
        {
            var conv = graph.Node[i];
            if (conv.OpType != "Conv" || !OpCatalog.IsDefaultDomain(conv.Domain) || !Weights(index, conv, out var w, out var b)) continue;
            if (Chain(index, kept, conv, w) is { Count: > 0 } chain)
                return Apply(graph, index, i, w, b, chain);
        }
        return 0;
    }

    /// <summary>One Mul or Add of the chain: its node, and the scale and shift it applies.</summary>
    private sealed record Step(int Node, double Scale, double Shift);

    private static bool Weights(GraphIndex index, NodeProto conv, out TensorProto w, out TensorProto? b)
    {
        b = null;
        w = null!;
        if (conv.Input.Count < 2 || !index.Initializers.TryGetValue(conv.Input[1], out w!) || w.DataType != (int)DataType.Float || w.Dims.Count < 3) return false;
        if (index.Consumers(conv.Input[1]).Count != 1) return false;
        if (conv.Input.Count > 2 && conv.Input[2].Length > 0)
            return index.Initializers.TryGetValue(conv.Input[2], out b) && b.DataType == (int)DataType.Float
                && TensorProtos.ElementCount(b) == w.Dims[0] && index.Consumers(conv.Input[2]).Count == 1;
        return true;
    }

    private static List<Step> Chain(GraphIndex index, HashSet<string> kept, NodeProto conv, TensorProto w)
    {
        var autoPad = conv.Attribute.FirstOrDefault(a => a.Name == "auto_pad")?.S.ToStringUtf8() ?? "NOTSET";
        var pads = conv.Attribute.FirstOrDefault(a => a.Name == "pads")?.Ints;
        if (!(autoPad == "VALID" || (autoPad == "NOTSET" && (pads == null || pads.All(p => p == 0))))) return new List<Step>();
        // Walked from the Conv back to the chain's source; returned in graph order.
        var steps = new List<Step>();
        string tensor = conv.Input[0];
        while (!kept.Contains(tensor) && index.Consumers(tensor).Count == 1 && index.Producer(tensor) is int at and >= 0
            && AffineStep(index, at, w.Dims.Count, out string source) is { } step)
        {
            steps.Insert(0, step);
            tensor = source;
        }
        return steps;
    }

    /// <summary>
    /// The node as a step of the chain: a Mul or Add of a tensor (<paramref name="source"/>) and a float initializer
    /// holding one value, with no more dimensions than the Conv's input, so the result has the tensor's own shape.
    /// </summary>
    private static Step? AffineStep(GraphIndex index, int at, int rank, out string source)
    {
        var node = index.Node(at);
        source = "";
        if (node.OpType is not ("Mul" or "Add") || !OpCatalog.IsDefaultDomain(node.Domain) || node.Output.Count != 1) return null;
        if (Operand(index, node, out source) is not [float value]) return null;
        if (index.Initializers[node.Input[0] == source ? node.Input[1] : node.Input[0]].Dims.Count > rank) return null;
        return node.OpType == "Mul" ? new Step(at, value, 0) : new Step(at, 1, value);
    }

    /// <summary>The values of a Mul's or Add's float initializer operand, and the other (flowing) input; null if neither or both are initializers.</summary>
    private static float[]? Operand(GraphIndex index, NodeProto node, out string flowing)
    {
        flowing = "";
        if (node.Input.Count != 2) return null;
        bool first = index.Initializers.ContainsKey(node.Input[0]), second = index.Initializers.ContainsKey(node.Input[1]);
        if (first == second) return null;
        var constant = index.Initializers[node.Input[first ? 0 : 1]];
        if (constant.DataType != (int)DataType.Float) return null;
        flowing = node.Input[first ? 1 : 0];
        return TensorProtos.ToFloats(constant);
    }

    private static int Apply(GraphProto graph, GraphIndex index, int convAt, TensorProto w, TensorProto? b, List<Step> steps)
    {
        var conv = graph.Node[convAt];
        var weights = TensorProtos.ToFloats(w);
        long outChannels = w.Dims[0], per = weights.Length / outChannels;
        var bias = b != null ? TensorProtos.ToFloats(b).Select(v => (double)v).ToArray() : new double[outChannels];
        // The Conv reads s * x + t of the chain's source x, composed in graph order.
        double s = 1, t = 0;
        foreach (var step in steps)
        {
            s *= step.Scale;
            t = t * step.Scale + step.Shift;
        }
        var newW = new float[weights.Length];
        for (long k = 0; k < weights.Length; k++) newW[k] = (float)(weights[k] * s);
        for (int o = 0; o < outChannels; o++)
        {
            double sum = 0;
            for (long k = o * per; k < (o + 1) * per; k++) sum += weights[k];
            bias[o] += t * sum;
        }
        Operand(index, graph.Node[steps[0].Node], out string source);
        conv.Input[0] = source;

        var names = new UniqueNames(index.AllNames());
        var wTensor = TensorProtos.FromFloats(names.Next(conv.Name + "_W_folded"), newW, w.Dims.ToArray());
        var bTensor = TensorProtos.FromFloats(names.Next(conv.Name + "_B_folded"), bias.Select(v => (float)v).ToArray(), outChannels);
        string oldW = conv.Input[1], oldB = conv.Input.Count > 2 ? conv.Input[2] : "";
        conv.Input[1] = wTensor.Name;
        while (conv.Input.Count < 3) conv.Input.Add("");
        conv.Input[2] = bTensor.Name;
        graph.Initializer.Add(wTensor);
        graph.Initializer.Add(bTensor);

        var removed = steps.Select(step => graph.Node[step.Node]).ToList();
        foreach (var node in removed) graph.Node.Remove(node);
        // Initializers nobody reads any more: the old weight and bias, and the chain's constants.
        ModelPreparation.RemoveUnread(graph, removed.SelectMany(n => n.Input).Append(oldW).Append(oldB));
        return removed.Count;
    }
}
