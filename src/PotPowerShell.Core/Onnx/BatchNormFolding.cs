using Onnx;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// Folds an inference BatchNormalization into the Conv or ConvTranspose that feeds it, per output channel:
/// k = gamma / sqrt(var + eps); W' = W * k (on the output-channel axis); b' = (b - mean) * k + beta. Done in float64.
/// Only when the Conv output goes to the BatchNormalization alone, the weights/bias and the BN parameters are
/// initializers, and the BN has no training outputs in use. The Conv then writes the BN's output tensor.
/// </summary>
public static class BatchNormFolding
{
    public static int Fold(GraphProto graph)
    {
        var index = new GraphIndex(graph);
        var remove = new HashSet<int>();
        var replacements = new List<(int Conv, NodeProto NewConv, List<TensorProto> NewTensors)>();
        for (int i = 0; i < graph.Node.Count; i++)
        {
            var bn = graph.Node[i];
            if (bn.OpType != "BatchNormalization" || !OpCatalog.IsDefaultDomain(bn.Domain) || bn.Input.Count < 5) continue;
            if (bn.Output.Skip(1).Any(o => o.Length > 0 && (index.Consumers(o).Count > 0 || index.GraphOutputs.Contains(o)))) continue;
            if (bn.Attribute.Any(a => a.Name == "training_mode" && a.I != 0)) continue;
            int convAt = index.Producer(bn.Input[0]);
            if (convAt < 0 || remove.Contains(convAt)) continue;
            var conv = graph.Node[convAt];
            if (conv.OpType is not ("Conv" or "ConvTranspose") || !OpCatalog.IsDefaultDomain(conv.Domain)) continue;
            if (index.Consumers(conv.Output[0]).Count != 1 || index.GraphOutputs.Contains(conv.Output[0])) continue;
            if (conv.Input.Count < 2 || !index.Initializers.TryGetValue(conv.Input[1], out var w)) continue;
            if (w.DataType != (int)TensorProto.Types.DataType.Float || w.Dims.Count < 3) continue;
            // Shared weights would change the other user too.
            if (index.Consumers(conv.Input[1]).Count != 1) continue;
            TensorProto? b = null;
            if (conv.Input.Count > 2 && conv.Input[2].Length > 0)
            {
                if (!index.Initializers.TryGetValue(conv.Input[2], out b) || index.Consumers(conv.Input[2]).Count != 1) continue;
            }
            var p = new float[4][];
            bool ok = true;
            for (int k = 0; k < 4; k++)
            {
                if (!index.Initializers.TryGetValue(bn.Input[k + 1], out var t)) { ok = false; break; }
                p[k] = TensorProtos.ToFloats(t);
            }
            if (!ok) continue;
            bool transpose = conv.OpType == "ConvTranspose";
            long group = conv.Attribute.FirstOrDefault(a => a.Name == "group")?.I ?? 1;
            long channels = transpose ? w.Dims[1] * group : w.Dims[0];
            if (p.Any(v => v.Length != channels)) continue;
            float eps = bn.Attribute.FirstOrDefault(a => a.Name == "epsilon")?.F ?? 1e-5f;

            var (newW, newB) = Folded(w, b, p[0], p[1], p[2], p[3], eps, transpose, group, conv.Name);
            var newConv = conv.Clone();
            newConv.Input[1] = newW.Name;
            while (newConv.Input.Count < 3) newConv.Input.Add("");
            newConv.Input[2] = newB.Name;
            newConv.Output[0] = bn.Output[0];
            replacements.Add((convAt, newConv, new List<TensorProto> { newW, newB }));
            remove.Add(i);
            remove.Add(convAt);
        }
        if (replacements.Count == 0) return 0;

        var names = new UniqueNames(index.AllNames());
        var byConv = replacements.ToDictionary(r => r.Conv);
        var nodes = new List<NodeProto>();
        var dropInitializers = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < graph.Node.Count; i++)
        {
            if (byConv.TryGetValue(i, out var r))
            {
                var old = graph.Node[i];
                dropInitializers.Add(old.Input[1]);
                if (old.Input.Count > 2 && old.Input[2].Length > 0) dropInitializers.Add(old.Input[2]);
                foreach (var t in r.NewTensors)
                {
                    string name = names.Next(t.Name);
                    if (r.NewConv.Input[1] == t.Name) r.NewConv.Input[1] = name; else r.NewConv.Input[2] = name;
                    t.Name = name;
                }
                nodes.Add(r.NewConv);
                continue;
            }
            if (!remove.Contains(i)) nodes.Add(graph.Node[i]);
        }
        var initializers = graph.Initializer.Where(t => !dropInitializers.Contains(t.Name)).ToList();
        initializers.AddRange(replacements.SelectMany(r => r.NewTensors));
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        graph.Initializer.Clear();
        graph.Initializer.AddRange(initializers);
        // BN parameters nobody reads any more.
        var used = graph.Node.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        var keep = graph.Initializer.Where(t => used.Contains(t.Name) || graph.Output.Any(o => o.Name == t.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.AddRange(keep);
        return replacements.Count;
    }

    private static (TensorProto W, TensorProto B) Folded(TensorProto w, TensorProto? b, float[] gamma, float[] beta, float[] mean, float[] var,
        float eps, bool transpose, long group, string convName)
    {
        var values = TensorProtos.ToFloats(w);
        var dims = w.Dims.ToArray();
        long channels = gamma.Length;
        var k = new double[channels];
        for (int c = 0; c < channels; c++) k[c] = gamma[c] / Math.Sqrt((double)var[c] + eps);
        var folded = new float[values.Length];
        if (!transpose)
        {
            long per = values.Length / dims[0];
            for (long i = 0; i < values.Length; i++) folded[i] = (float)(values[i] * k[i / per]);
        }
        else
        {
            // [C_in, C_out/group, k...]: output channel = (input channel's group) * C_out/group + axis-1 index.
            long outPerGroup = dims[1], inPerGroup = dims[0] / group, inner = values.Length / (dims[0] * dims[1]);
            for (long i = 0; i < values.Length; i++)
            {
                long ci = i / (outPerGroup * inner), co = i / inner % outPerGroup;
                folded[i] = (float)(values[i] * k[ci / inPerGroup * outPerGroup + co]);
            }
        }
        var bias = b != null ? TensorProtos.ToFloats(b) : new float[channels];
        var newBias = new float[channels];
        for (int c = 0; c < channels; c++) newBias[c] = (float)((bias[c] - (double)mean[c]) * k[c] + beta[c]);
        return (TensorProtos.FromFloats(convName + "_W_bnfolded", folded, dims), TensorProtos.FromFloats(convName + "_B_bnfolded", newBias, channels));
    }
}
