namespace PotPowerShell.Core.Data;

/// <summary>Element types the data readers understand (the ONNX names).</summary>
public enum TensorElementKind
{
    Float,
    Float16,
    Int64,
    Int32,
    UInt8,
    Int8,
    Bool,
    Double,
    String,
}

/// <summary>
/// A dense tensor in row-major order held in a plain array: float[], Half[], long[], int[], byte[], sbyte[], bool[],
/// double[] or string[] to match <see cref="Kind"/>. The core's data exchange type; it carries no ONNX Runtime types.
/// </summary>
public sealed class TensorData
{
    public TensorData(TensorElementKind kind, long[] shape, Array data)
    {
        long count = ElementCount(shape);
        if (data.LongLength != count)
            throw new ArgumentException($"A tensor of shape [{string.Join(",", shape)}] needs {count} elements, not {data.LongLength}.");
        Kind = kind;
        Shape = shape;
        Data = data;
    }

    public TensorElementKind Kind { get; }
    public long[] Shape { get; }
    public Array Data { get; }
    public long Length => Data.LongLength;

    public static long ElementCount(IEnumerable<long> shape) => shape.Aggregate(1L, (a, b) => a * b);

    public static TensorData FromFloats(float[] data, params long[] shape) => new(TensorElementKind.Float, shape, data);

    /// <summary>The values as float32 (converting from any numeric kind).</summary>
    public float[] ToFloats() => Data switch
    {
        float[] f => f,
        Half[] h => Array.ConvertAll(h, x => (float)x),
        double[] d => Array.ConvertAll(d, x => (float)x),
        long[] l => Array.ConvertAll(l, x => (float)x),
        int[] i => Array.ConvertAll(i, x => (float)x),
        sbyte[] s when TensorBytes.IsInt8(s) => Array.ConvertAll(s, x => (float)x),
        byte[] b => Array.ConvertAll(b, x => (float)x),
        bool[] b => Array.ConvertAll(b, x => x ? 1f : 0f),
        _ => throw new InvalidOperationException($"A {Kind} tensor has no numeric values."),
    };

    /// <summary>Slice <paramref name="count"/> items starting at <paramref name="start"/> along the first axis.</summary>
    public TensorData SliceFirstAxis(long start, long count)
    {
        if (Shape.Length == 0) throw new InvalidOperationException("A scalar has no first axis to slice.");
        long inner = ElementCount(Shape.Skip(1));
        var data = Array.CreateInstance(Data.GetType().GetElementType()!, count * inner);
        Array.Copy(Data, start * inner, data, 0, count * inner);
        var shape = (long[])Shape.Clone();
        shape[0] = count;
        return new TensorData(Kind, shape, data);
    }

    /// <summary>Stack tensors of equal kind and shape [1, ...] or [...] along a new or the existing first axis.</summary>
    public static TensorData ConcatFirstAxis(IReadOnlyList<TensorData> parts)
    {
        if (parts.Count == 1) return parts[0];
        var first = parts[0];
        long total = parts.Sum(p => p.Length);
        var data = Array.CreateInstance(first.Data.GetType().GetElementType()!, total);
        long offset = 0;
        foreach (var p in parts)
        {
            if (p.Kind != first.Kind || !p.Shape.Skip(1).SequenceEqual(first.Shape.Skip(1)))
                throw new InvalidOperationException("Only tensors of one type and inner shape can be batched together.");
            Array.Copy(p.Data, 0, data, offset, p.Length);
            offset += p.Length;
        }
        var shape = (long[])first.Shape.Clone();
        shape[0] = parts.Sum(p => p.Shape[0]);
        return new TensorData(first.Kind, shape, data);
    }

    public override string ToString() => $"{Kind.ToString().ToLowerInvariant()}[{string.Join(",", Shape)}]";
}
