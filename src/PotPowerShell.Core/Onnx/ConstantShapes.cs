using Onnx;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// Shapes of tensors computed from stored ones, before anything computes them: for the ops weight computations use
/// (element-wise arithmetic with broadcasting, reductions, and moving values: Transpose, Reshape, Flatten, Squeeze,
/// Unsqueeze, Slice, Concat, Cast), each output's shape or, for Slice, a shape no smaller in any axis. Other ops have
/// none. <see cref="ComputedWeights"/> computes only what fits <see cref="MaxElements"/>: a model of a few hundred bytes
/// can ask for a broadcast of two stored vectors into billions of values, which would take the memory of the process.
/// </summary>
internal sealed class ConstantShapes
{
    /// <summary>The most values one computed tensor may hold (1 GB of float).</summary>
    public const long MaxElements = 1L << 28;

    private static readonly HashSet<string> SameShape = new(StringComparer.Ordinal)
    {
        "Abs", "Neg", "Sqrt", "Exp", "Log", "Reciprocal", "Relu", "Sigmoid", "Tanh", "Erf", "Sign", "Floor", "Ceil", "Round",
        "Softplus", "Softsign", "LeakyRelu", "Elu", "Selu", "HardSigmoid", "Cast", "Identity", "Clip", "Softmax", "LogSoftmax",
    };

    private static readonly HashSet<string> Broadcast = new(StringComparer.Ordinal) { "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Where" };

    private static readonly HashSet<string> Reductions = new(StringComparer.Ordinal)
    {
        "ReduceL1", "ReduceL2", "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp",
    };

    private readonly Dictionary<string, long[]> _shapes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorProto> _initializers;

    public ConstantShapes(IReadOnlyDictionary<string, TensorProto> initializers)
    {
        _initializers = initializers.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        foreach (var (name, t) in initializers) _shapes[name] = t.Dims.ToArray();
    }

    /// <summary>
    /// Adds the shapes of <paramref name="node"/>'s outputs when its op is one of those above, every input has a shape,
    /// and each output holds at most <see cref="MaxElements"/> values; false (nothing added) otherwise.
    /// </summary>
    public bool Add(NodeProto node)
    {
        if (node.Output.Count != 1 || node.Output[0].Length == 0) return false;
        var inputs = new List<long[]>();
        foreach (var input in node.Input)
        {
            if (input.Length == 0) { inputs.Add(Array.Empty<long>()); continue; }
            if (!_shapes.TryGetValue(input, out var shape)) return false;
            inputs.Add(shape);
        }
        if (inputs.Count == 0) return false;
        var output = Output(node, inputs);
        if (output == null || output.Any(d => d < 0) || Elements(output) > MaxElements) return false;
        _shapes[node.Output[0]] = output;
        return true;
    }

    /// <summary>The shape of <paramref name="tensor"/> (a tensor <see cref="Add"/> took, or an initializer).</summary>
    public long[] Shape(string tensor) => _shapes[tensor];

    /// <summary>The values <paramref name="tensor"/> holds.</summary>
    public long Elements(string tensor) => Elements(_shapes[tensor]);

    private static long Elements(long[] shape)
    {
        long n = 1;
        foreach (long d in shape)
        {
            n *= d;
            if (n > MaxElements) return long.MaxValue;
        }
        return n;
    }

    private long[]? Output(NodeProto node, List<long[]> inputs)
    {
        var x = inputs[0];
        string op = node.OpType;
        if (SameShape.Contains(op)) return x;
        if (Broadcast.Contains(op)) return Broadcasted(inputs);
        if (Reductions.Contains(op)) return Reduced(node, x);
        switch (op)
        {
            case "Transpose":
                var perm = Ints(node, "perm") ?? Enumerable.Range(0, x.Length).Reverse().Select(i => (long)i).ToArray();
                return perm.Length == x.Length && perm.All(p => p >= 0 && p < x.Length) ? perm.Select(p => x[p]).ToArray() : null;
            case "Reshape":
                return Reshaped(x, Constant(node, 1));
            case "Flatten":
                long axis = Int(node, "axis") ?? 1;
                if (axis < 0) axis += x.Length;
                return axis < 0 || axis > x.Length ? null : new[] { x.Take((int)axis).Aggregate(1L, (a, b) => a * b), x.Skip((int)axis).Aggregate(1L, (a, b) => a * b) };
            case "Squeeze":
                var squeezed = Ints(node, "axes") ?? Constant(node, 1);
                if (squeezed == null) return x.Where(d => d != 1).ToArray();
                var removed = Normalized(squeezed, x.Length);
                return x.Where((_, i) => !removed.Contains(i)).ToArray();
            case "Unsqueeze":
                var axes = Ints(node, "axes") ?? Constant(node, 1);
                if (axes == null) return null;
                var shape = new List<long>(x);
                foreach (int a in Normalized(axes, x.Length + axes.Length).Order())
                {
                    if (a < 0 || a > shape.Count) return null;
                    shape.Insert(a, 1);
                }
                return shape.ToArray();
            case "Slice":
                return x;
            case "Concat":
                long at = Int(node, "axis") ?? 0;
                if (at < 0) at += x.Length;
                if (at < 0 || at >= x.Length || inputs.Any(s => s.Length != x.Length)) return null;
                var joined = (long[])x.Clone();
                joined[at] = inputs.Sum(s => s[at]);
                return joined;
            default:
                return null;
        }
    }

    /// <summary>The broadcast shape (each axis the largest, which bounds every valid broadcast).</summary>
    private static long[] Broadcasted(List<long[]> inputs)
    {
        int rank = inputs.Max(s => s.Length);
        var shape = new long[rank];
        for (int i = 0; i < rank; i++) shape[i] = 1;
        foreach (var s in inputs)
            for (int i = 0; i < s.Length; i++)
                shape[rank - s.Length + i] = Math.Max(shape[rank - s.Length + i], s[i]);
        return shape;
    }

    private long[]? Reduced(NodeProto node, long[] x)
    {
        bool keep = (Int(node, "keepdims") ?? 1) != 0;
        var axes = Ints(node, "axes") ?? Constant(node, 1);
        if (axes == null || axes.Length == 0)
            return (Int(node, "noop_with_empty_axes") ?? 0) != 0 ? x : keep ? x.Select(_ => 1L).ToArray() : Array.Empty<long>();
        var reduced = Normalized(axes, x.Length);
        if (reduced.Any(a => a < 0 || a >= x.Length)) return null;
        return keep ? x.Select((d, i) => reduced.Contains(i) ? 1 : d).ToArray() : x.Where((_, i) => !reduced.Contains(i)).ToArray();
    }

    private static long[]? Reshaped(long[] x, long[]? target)
    {
        if (target == null) return null;
        long total = x.Aggregate(1L, (a, b) => a * b);
        var shape = target.Select((d, i) => d == 0 && i < x.Length ? x[i] : d).ToArray();
        int inferred = Array.IndexOf(shape, -1L);
        if (inferred >= 0)
        {
            long known = shape.Where((d, i) => i != inferred).Aggregate(1L, (a, b) => a * b);
            if (known <= 0 || total % known != 0) return null;
            shape[inferred] = total / known;
        }
        return shape.Aggregate(1L, (a, b) => a * b) == total ? shape : null;
    }

    /// <summary>Axes (an attribute in older opsets, else the second input) counted from the front of a shape of <paramref name="rank"/>.</summary>
    private static HashSet<int> Normalized(long[] axes, int rank) => axes.Select(a => (int)(a < 0 ? a + rank : a)).ToHashSet();

    private long[]? Constant(NodeProto node, int slot) =>
        node.Input.Count > slot && _initializers.TryGetValue(node.Input[slot], out var t) && t.DataType == (int)TensorProto.Types.DataType.Int64 ? TensorProtos.ToInt64(t) : null;

    private static long[]? Ints(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.Ints.ToArray() : null;

    private static long? Int(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name)?.I;
}
