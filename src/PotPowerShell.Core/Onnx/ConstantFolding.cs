using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// Folds the data movement some exporters put between a constant weight and its layer (Constant -> Transpose -> MatMul,
/// a Reshape or Unsqueeze of a stored weight, a Cast of float16/double weights to float) into a plain float initializer,
/// so the layer sees a constant weight and gets per-channel scales. Only exact operations are folded: moving values and
/// widening float16 (or rounding double) to float, as ONNX Runtime would compute them. Nodes whose output is a graph
/// output, or whose inputs are not all initializers, stay.
/// </summary>
internal static class ConstantFolding
{
    public static void FoldWeightMovement(GraphProto graph)
    {
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var folded = new HashSet<NodeProto>();
        foreach (var node in graph.Node)
        {
            if (!OpCatalog.IsDefaultDomain(node.Domain) || node.Output.Count != 1 || outputs.Contains(node.Output[0])) continue;
            if (node.Input.Count == 0 || node.Input.Any(i => i.Length > 0 && !initializers.ContainsKey(i))) continue;
            var result = Fold(node, initializers);
            if (result == null) continue;
            result.Name = node.Output[0];
            initializers[result.Name] = result;
            graph.Initializer.Add(result);
            folded.Add(node);
        }
        if (folded.Count == 0) return;
        var keep = graph.Node.Where(n => !folded.Contains(n)).ToList();
        graph.Node.Clear();
        graph.Node.AddRange(keep);
        // Inputs of folded nodes that nothing reads any more (the original weight, shapes, axes) go too.
        var read = graph.Node.SelectMany(Subgraphs.NamesRead).Concat(outputs).ToHashSet(StringComparer.Ordinal);
        var inputs = graph.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var unused = folded.SelectMany(n => n.Input).Where(i => i.Length > 0 && !read.Contains(i) && !inputs.Contains(i)).ToHashSet(StringComparer.Ordinal);
        var remaining = graph.Initializer.Where(t => !unused.Contains(t.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.AddRange(remaining);
    }

    private static TensorProto? Fold(NodeProto node, Dictionary<string, TensorProto> initializers)
    {
        var data = initializers[node.Input[0]];
        var type = (DataType)data.DataType;
        if (node.OpType == "Cast")
        {
            long to = node.Attribute.FirstOrDefault(a => a.Name == "to")?.I ?? 0;
            return to == (long)DataType.Float && type is DataType.Float or DataType.Float16 or DataType.Double
                ? TensorProtos.FromFloats("", TensorProtos.ToFloats(data), data.Dims.ToArray())
                : null;
        }
        if (type != DataType.Float) return null;
        var dims = data.Dims.ToArray();
        long[]? Ints(int slot) => node.Input.Count > slot && node.Input[slot].Length > 0 ? TensorProtos.ToInt64(initializers[node.Input[slot]]) : null;
        switch (node.OpType)
        {
            case "Transpose":
            {
                var perm = node.Attribute.FirstOrDefault(a => a.Name == "perm")?.Ints.ToArray()
                    ?? Enumerable.Range(0, dims.Length).Reverse().Select(i => (long)i).ToArray();
                if (perm.Length != dims.Length || perm.Distinct().Count() != perm.Length || perm.Any(p => p < 0 || p >= dims.Length)) return null;
                return Transpose(TensorProtos.ToFloats(data), dims, perm);
            }
            case "Reshape":
            {
                var shape = Ints(1);
                bool allowZero = (node.Attribute.FirstOrDefault(a => a.Name == "allowzero")?.I ?? 0) != 0;
                var target = shape == null ? null : ReshapeTarget(dims, shape, allowZero);
                return target == null ? null : TensorProtos.FromFloats("", TensorProtos.ToFloats(data), target);
            }
            case "Flatten":
            {
                long axis = node.Attribute.FirstOrDefault(a => a.Name == "axis")?.I ?? 1;
                if (axis < 0) axis += dims.Length;
                if (axis < 0 || axis > dims.Length) return null;
                long outer = dims.Take((int)axis).Aggregate(1L, (a, b) => a * b);
                return TensorProtos.FromFloats("", TensorProtos.ToFloats(data), outer, dims.Skip((int)axis).Aggregate(1L, (a, b) => a * b));
            }
            case "Squeeze":
            {
                var axes = Ints(1) ?? node.Attribute.FirstOrDefault(a => a.Name == "axes")?.Ints.ToArray();
                var drop = axes == null
                    ? Enumerable.Range(0, dims.Length).Where(d => dims[d] == 1).ToHashSet()
                    : axes.Select(a => (int)(a < 0 ? a + dims.Length : a)).ToHashSet();
                if (drop.Any(d => d < 0 || d >= dims.Length || dims[d] != 1)) return null;
                return TensorProtos.FromFloats("", TensorProtos.ToFloats(data), dims.Where((_, d) => !drop.Contains(d)).ToArray());
            }
            case "Unsqueeze":
            {
                var axes = Ints(1) ?? node.Attribute.FirstOrDefault(a => a.Name == "axes")?.Ints.ToArray();
                if (axes == null) return null;
                int rank = dims.Length + axes.Length;
                var add = axes.Select(a => (int)(a < 0 ? a + rank : a)).ToHashSet();
                if (add.Count != axes.Length || add.Any(a => a < 0 || a >= rank)) return null;
                var result = new List<long>();
                int k = 0;
                for (int d = 0; d < rank; d++) result.Add(add.Contains(d) ? 1 : dims[k++]);
                return TensorProtos.FromFloats("", TensorProtos.ToFloats(data), result.ToArray());
            }
            default:
                return null;
        }
    }

    /// <summary>Reshape's target shape (0 copies the input's dimension unless allowzero, -1 is inferred); null when invalid.</summary>
    private static long[]? ReshapeTarget(long[] dims, long[] shape, bool allowZero)
    {
        long total = dims.Aggregate(1L, (a, b) => a * b);
        var target = new long[shape.Length];
        int inferred = -1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == -1)
            {
                if (inferred >= 0) return null;
                inferred = i;
                continue;
            }
            target[i] = shape[i] == 0 && !allowZero ? (i < dims.Length ? dims[i] : -2) : shape[i];
            if (target[i] < 0) return null;
        }
        long known = target.Where((_, i) => i != inferred).Aggregate(1L, (a, b) => a * b);
        if (inferred >= 0)
        {
            if (known == 0 || total % known != 0) return null;
            target[inferred] = total / known;
        }
        return target.Aggregate(1L, (a, b) => a * b) == total ? target : null;
    }

    private static TensorProto Transpose(float[] values, long[] dims, long[] perm)
    {
        int rank = dims.Length;
        var outDims = perm.Select(p => dims[p]).ToArray();
        var inStrides = new long[rank];
        long stride = 1;
        for (int d = rank - 1; d >= 0; d--) { inStrides[d] = stride; stride *= dims[d]; }
        var result = new float[values.Length];
        var index = new long[rank];
        for (long o = 0; o < result.LongLength; o++)
        {
            long source = 0;
            for (int d = 0; d < rank; d++) source += index[d] * inStrides[perm[d]];
            result[o] = values[source];
            for (int d = rank - 1; d >= 0; d--)
            {
                if (++index[d] < outDims[d]) break;
                index[d] = 0;
            }
        }
        return TensorProtos.FromFloats("", result, outDims);
    }
}
