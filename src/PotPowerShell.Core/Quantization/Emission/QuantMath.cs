namespace PotPowerShell.Core.Quantization;

/// <summary>An integer code range, e.g. [0,255] for uint8 or [-127,127] for narrow-range int8 weights.</summary>
public readonly record struct IntRange(int Min, int Max)
{
    public static readonly IntRange UInt8 = new(0, 255);
    public static readonly IntRange Int8 = new(-128, 127);
    public static readonly IntRange Int32 = new(int.MinValue, int.MaxValue);

    public int Levels => Max - Min;
}

/// <summary>
/// Reference QuantizeLinear / DequantizeLinear, bit-exact with ONNX Runtime's CPU kernels (MLAS):
/// <list type="bullet">
/// <item>quantize: <c>x / scale</c> as a float32 division (not a multiply by the reciprocal), clamped in float to
/// [qmin-zp, qmax-zp], rounded half to even (cvtps2dq), then + zp;</item>
/// <item>NaN quantizes to qmin: MLAS clamps with maxps(v, lo) first, and maxps returns its second operand when the
/// first is NaN (x86 and the portable path behave the same; verified against ORT in QuantMathTests);</item>
/// <item>±Inf saturate to qmax / qmin;</item>
/// <item>dequantize: <c>(float)(q - zp) * scale</c> in float32.</item>
/// </list>
/// Per-axis: scale/zero point are 1-D along <c>axis</c> of a tensor with the given dimensions.
/// </summary>
public static class QuantMath
{
    /// <summary>Quantizes one value to the integer range <paramref name="range"/> (ORT uses the full type range).</summary>
    public static int Quantize(float x, float scale, int zeroPoint, IntRange range)
    {
        float v = x / scale;
        float lo = range.Min - zeroPoint;
        float hi = range.Max - zeroPoint;
        // Same operand order as MLAS: max(v, lo) yields lo for NaN, then min(., hi).
        v = v > lo ? v : lo;
        v = v < hi ? v : hi;
        return (int)MathF.Round(v, MidpointRounding.ToEven) + zeroPoint;
    }

    public static float Dequantize(int q, float scale, int zeroPoint) => (float)(q - zeroPoint) * scale;

    /// <summary>Bias dequantization: int32 codes times scale, as ORT computes it.</summary>
    public static float Dequantize(long q, float scale) => (float)q * scale;

    /// <summary>Per-tensor QuantizeLinear of a whole tensor.</summary>
    public static int[] QuantizeLinear(ReadOnlySpan<float> x, float scale, int zeroPoint, IntRange range)
    {
        var q = new int[x.Length];
        for (int i = 0; i < x.Length; i++) q[i] = Quantize(x[i], scale, zeroPoint, range);
        return q;
    }

    /// <summary>Per-axis QuantizeLinear: element i uses channel (i / inner) % channels of <paramref name="axis"/>.</summary>
    public static int[] QuantizeLinear(ReadOnlySpan<float> x, ReadOnlySpan<long> dims, int axis,
        ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints, IntRange range)
    {
        var (channels, inner) = AxisLayout(dims, axis, x.Length);
        CheckParams(channels, scales.Length, zeroPoints.Length);
        var q = new int[x.Length];
        var cursor = new ChannelCursor(channels, inner);
        for (int i = 0; i < x.Length; i++, cursor.Next())
            q[i] = Quantize(x[i], scales[cursor.Channel], zeroPoints[cursor.Channel], range);
        return q;
    }

    public static float[] DequantizeLinear(ReadOnlySpan<int> q, float scale, int zeroPoint)
    {
        var x = new float[q.Length];
        for (int i = 0; i < q.Length; i++) x[i] = Dequantize(q[i], scale, zeroPoint);
        return x;
    }

    public static float[] DequantizeLinear(ReadOnlySpan<int> q, ReadOnlySpan<long> dims, int axis,
        ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints)
    {
        var (channels, inner) = AxisLayout(dims, axis, q.Length);
        CheckParams(channels, scales.Length, zeroPoints.Length);
        var x = new float[q.Length];
        var cursor = new ChannelCursor(channels, inner);
        for (int i = 0; i < q.Length; i++, cursor.Next())
            x[i] = Dequantize(q[i], scales[cursor.Channel], zeroPoints[cursor.Channel]);
        return x;
    }

    /// <summary>Number of channels on <paramref name="axis"/> and the element stride between channels.</summary>
    public static (long Channels, long Inner) AxisLayout(ReadOnlySpan<long> dims, int axis, int count)
    {
        if (axis < 0) axis += dims.Length;
        if (axis < 0 || axis >= dims.Length)
            throw new ArgumentOutOfRangeException(nameof(axis), $"Axis {axis} is outside a tensor of rank {dims.Length}.");
        long total = 1;
        foreach (var d in dims) total *= d;
        if (total != count) throw new ArgumentException($"The dimensions describe {total} elements but {count} were given.");
        long inner = 1;
        for (int d = axis + 1; d < dims.Length; d++) inner *= dims[d];
        return (dims[axis], inner);
    }

    /// <summary>
    /// The channel of element after element along an axis (<see cref="AxisLayout"/>): i / inner % channels without a
    /// 64-bit division per element, which was most of the time weight quantization took on transformer weights.
    /// </summary>
    internal struct ChannelCursor(long channels, long inner)
    {
        private long _k, _c;

        public readonly int Channel => (int)_c;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public void Next()
        {
            if (++_k < inner) return;
            _k = 0;
            if (++_c == channels) _c = 0;
        }
    }

    private static void CheckParams(long channels, int scales, int zeroPoints)
    {
        if (scales != channels || zeroPoints != channels)
            throw new ArgumentException($"Per-axis parameters need {channels} scales and zero points, got {scales} and {zeroPoints}.");
    }
}
