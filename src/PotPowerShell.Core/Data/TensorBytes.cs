using System.Runtime.InteropServices;

namespace PotPowerShell.Core.Data;

/// <summary>Raw-byte views and conversions of the primitive arrays behind <see cref="TensorData"/>.</summary>
public static class TensorBytes
{
    public static int ElementSize(TensorElementKind kind) => kind switch
    {
        TensorElementKind.Float => 4,
        TensorElementKind.Float16 => 2,
        TensorElementKind.Int64 => 8,
        TensorElementKind.Int32 => 4,
        TensorElementKind.UInt8 => 1,
        TensorElementKind.Int8 => 1,
        TensorElementKind.Bool => 1,
        TensorElementKind.Double => 8,
        _ => throw new InvalidOperationException($"A {kind} tensor has no fixed element size."),
    };

    /// <summary>A zeroed array of the CLR element type that holds <paramref name="kind"/>.</summary>
    public static Array Allocate(TensorElementKind kind, long count) => kind switch
    {
        TensorElementKind.Float => new float[count],
        TensorElementKind.Float16 => new Half[count],
        TensorElementKind.Int64 => new long[count],
        TensorElementKind.Int32 => new int[count],
        TensorElementKind.UInt8 => new byte[count],
        TensorElementKind.Int8 => new sbyte[count],
        TensorElementKind.Bool => new bool[count],
        TensorElementKind.Double => new double[count],
        TensorElementKind.String => new string[count],
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>The array's memory as bytes (numeric and bool arrays only).</summary>
    public static Span<byte> AsBytes(Array data) => data switch
    {
        float[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        Half[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        long[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        int[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        byte[] a => a.AsSpan(),
        sbyte[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        bool[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        double[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        _ => throw new InvalidOperationException($"A {data.GetType().Name} has no raw byte view."),
    };

    /// <summary>
    /// Converts a numeric tensor to another numeric kind: 8-bit targets round and saturate, others cast as C# does. Model
    /// inputs go through InputBinding.Converted, which refuses what a cast would change.
    /// </summary>
    public static TensorData Convert(TensorData source, TensorElementKind kind)
    {
        if (source.Kind == kind) return source;
        if (source.Kind == TensorElementKind.String || kind == TensorElementKind.String)
            throw new InvalidOperationException($"A {source.Kind} tensor cannot be converted to {kind}.");
        long n = source.Length;
        Array target = Allocate(kind, n);
        // Through double: exact for every value of the supported kinds except int64 beyond 2^53, which no model input holds.
        for (long i = 0; i < n; i++)
        {
            double v = ValueAt(source.Data, i);
            switch (kind)
            {
                case TensorElementKind.Float: ((float[])target)[i] = (float)v; break;
                case TensorElementKind.Float16: ((Half[])target)[i] = (Half)v; break;
                case TensorElementKind.Int64: ((long[])target)[i] = (long)v; break;
                case TensorElementKind.Int32: ((int[])target)[i] = (int)v; break;
                case TensorElementKind.Int8: ((sbyte[])target)[i] = (sbyte)Math.Clamp(Math.Round(v), -128, 127); break;
                case TensorElementKind.UInt8: ((byte[])target)[i] = (byte)Math.Clamp(Math.Round(v), 0, 255); break;
                case TensorElementKind.Bool: ((bool[])target)[i] = v != 0; break;
                case TensorElementKind.Double: ((double[])target)[i] = v; break;
            }
        }
        return new TensorData(kind, (long[])source.Shape.Clone(), target);
    }

    /// <summary>
    /// One element as a double. The runtime lets an sbyte[] match a byte[] pattern and a byte[] an sbyte[] pattern
    /// (array covariance of integers of one size), so every switch over these arrays tells them apart by
    /// <see cref="IsInt8"/>: read as bytes, -1 would become 255.
    /// </summary>
    public static double ValueAt(Array data, long i) => data switch
    {
        float[] a => a[i],
        Half[] a => (double)a[i],
        long[] a => a[i],
        int[] a => a[i],
        sbyte[] a when IsInt8(a) => a[i],
        byte[] a => a[i],
        bool[] a => a[i] ? 1 : 0,
        double[] a => a[i],
        _ => throw new InvalidOperationException($"A {data.GetType().Name} has no numeric values."),
    };

    /// <summary>True for an sbyte[] (and not a byte[], which an sbyte[] pattern also matches).</summary>
    public static bool IsInt8(Array data) => data.GetType() == typeof(sbyte[]);
}
