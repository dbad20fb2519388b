using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PotPowerShell.Core.Calibration;

/// <summary>
/// Vectorized kernels for the calibration statistics. Each reads its input once, in a fixed order that depends only on
/// the span (never on how a batch was split), so a result is the same bit for bit whether an item arrives alone or
/// inside a batch. NaN is skipped by comparisons rather than by Vector.Min/Max, whose NaN rule changed between .NET
/// versions (the module runs on whatever runtime hosts PowerShell).
/// </summary>
/// <remarks>
/// AggressiveOptimization: calibration is a short burst of work in a fresh process, so these loops would otherwise
/// run as unoptimized tier-0 code for most of it.
/// </remarks>
internal static class SpanMath
{
    /// <summary>Minimum and maximum, ignoring NaN; (NaN, NaN) when the span is empty or every value is NaN. -0 is reported as +0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (float Min, float Max) MinMax(ReadOnlySpan<float> values)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            var vmin = new Vector<float>(float.PositiveInfinity);
            var vmax = new Vector<float>(float.NegativeInfinity);
            ref float start = ref MemoryMarshal.GetReference(values);
            int last = values.Length - Vector<float>.Count;
            for (; i <= last; i += Vector<float>.Count)
            {
                var x = Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref start, i));
                // A comparison with NaN is false, so NaN never replaces the running value.
                vmin = Vector.ConditionalSelect(Vector.LessThan(x, vmin), x, vmin);
                vmax = Vector.ConditionalSelect(Vector.GreaterThan(x, vmax), x, vmax);
            }
            for (int k = 0; k < Vector<float>.Count; k++)
            {
                if (vmin[k] < min) min = vmin[k];
                if (vmax[k] > max) max = vmax[k];
            }
        }
        for (; i < values.Length; i++)
        {
            float v = values[i];
            if (v < min) min = v;
            if (v > max) max = v;
        }
        if (min > max) return (float.NaN, float.NaN);
        // -0 and +0 compare equal, so which one survives would depend on the order of the values: report +0.
        return (min + 0f, max + 0f);
    }

    /// <summary>
    /// counts[clamp(half + floor(x·inverse), 0, last)]++ for every x that is not NaN (a centered histogram's bins),
    /// and how many that was. The bin numbers are computed a vector at a time in double, as the scalar formula does;
    /// the caller makes sure every |x|·inverse is finite and fits in an int, so both give the same bin.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static long CountCentered(ReadOnlySpan<float> values, long[] counts, int half, double inverse)
    {
        const int Chunk = 256;
        int last = counts.Length - 1;
        long numbers = 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            Span<long> bins = stackalloc long[Chunk];
            ref long binStart = ref MemoryMarshal.GetReference(bins);
            ref float start = ref MemoryMarshal.GetReference(values);
            var scale = new Vector<double>(inverse);
            var offset = new Vector<long>(half);
            var top = new Vector<long>(last);
            var skip = new Vector<long>(-1);
            int end = values.Length - Vector<float>.Count;
            while (i <= end)
            {
                int n = 0;
                for (; i <= end && n <= Chunk - Vector<float>.Count; i += Vector<float>.Count, n += Vector<float>.Count)
                {
                    Vector.Widen(Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref start, i)), out var low, out var high);
                    Unsafe.As<long, Vector<long>>(ref Unsafe.Add(ref binStart, n)) = Bin(low, scale, offset, top, skip);
                    Unsafe.As<long, Vector<long>>(ref Unsafe.Add(ref binStart, n + Vector<double>.Count)) = Bin(high, scale, offset, top, skip);
                }
                for (int k = 0; k < n; k++)
                {
                    long bin = bins[k];
                    if (bin < 0) continue;
                    counts[bin]++;
                    numbers++;
                }
            }
        }
        for (; i < values.Length; i++)
        {
            float v = values[i];
            if (float.IsNaN(v)) continue;
            counts[Math.Clamp(half + (int)Math.Floor(v * inverse), 0, last)]++;
            numbers++;
        }
        return numbers;
    }

    /// <summary>clamp(offset + floor(x·scale), 0, top) per lane, or skip where x is NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<long> Bin(Vector<double> x, Vector<double> scale, Vector<long> offset, Vector<long> top, Vector<long> skip)
    {
        var bin = offset + Vector.ConvertToInt64(Vector.Floor(x * scale));
        bin = Vector.Min(Vector.Max(bin, Vector<long>.Zero), top);
        return Vector.ConditionalSelect(Vector.Equals(x, x), bin, skip);
    }

    /// <summary>Index of the first NaN or ±Inf value, or -1 when every value is finite.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            ref float start = ref MemoryMarshal.GetReference(values);
            int last = values.Length - Vector<float>.Count;
            // x - x is 0 for a finite x and NaN for NaN and ±Inf: a whole vector is finite when every lane equals 0.
            for (; i <= last; i += Vector<float>.Count)
            {
                var x = Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref start, i));
                if (!Vector.EqualsAll(x - x, Vector<float>.Zero)) break;
            }
        }
        for (; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return i;
        return -1;
    }

    /// <summary>
    /// Minimum and maximum of max(x, 0) computed on the fly (NaN and -0 count as +0, as <see cref="Relu"/> writes them);
    /// (NaN, NaN) when the span is empty.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (float Min, float Max) ReluMinMax(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty) return (float.NaN, float.NaN);
        float min = float.PositiveInfinity, max = 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            var vmin = new Vector<float>(float.PositiveInfinity);
            var vmax = Vector<float>.Zero;
            ref float start = ref MemoryMarshal.GetReference(values);
            int last = values.Length - Vector<float>.Count;
            for (; i <= last; i += Vector<float>.Count)
            {
                var x = Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref start, i));
                x = Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), x, Vector<float>.Zero);
                vmin = Vector.ConditionalSelect(Vector.LessThan(x, vmin), x, vmin);
                vmax = Vector.ConditionalSelect(Vector.GreaterThan(x, vmax), x, vmax);
            }
            for (int k = 0; k < Vector<float>.Count; k++)
            {
                if (vmin[k] < min) min = vmin[k];
                if (vmax[k] > max) max = vmax[k];
            }
        }
        for (; i < values.Length; i++)
        {
            float v = values[i] > 0 ? values[i] : 0;
            if (v < min) min = v;
            if (v > max) max = v;
        }
        return (min, max);
    }

    /// <summary>y = x &gt; 0 ? x : +0 (so NaN and -0 give +0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Relu(ReadOnlySpan<float> x, Span<float> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            ref float source = ref MemoryMarshal.GetReference(x);
            ref float target = ref MemoryMarshal.GetReference(y);
            int last = x.Length - Vector<float>.Count;
            for (; i <= last; i += Vector<float>.Count)
            {
                var v = Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref source, i));
                Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref target, i)) = Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.Zero), v, Vector<float>.Zero);
            }
        }
        for (; i < x.Length; i++) y[i] = x[i] > 0 ? x[i] : 0;
    }

    /// <summary>Sum in float, lane by lane then across lanes: a fixed order for a given span.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Sum(ReadOnlySpan<float> values)
    {
        int i = 0;
        float sum = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            var acc = Vector<float>.Zero;
            ref float start = ref MemoryMarshal.GetReference(values);
            int last = values.Length - Vector<float>.Count;
            for (; i <= last; i += Vector<float>.Count)
                acc += Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref start, i));
            sum = Vector.Sum(acc);
        }
        for (; i < values.Length; i++) sum += values[i];
        return sum;
    }

    /// <summary><see cref="Sum"/> of max(x, 0) computed on the fly: the same additions as Sum over <see cref="Relu"/>'s output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float ReluSum(ReadOnlySpan<float> values)
    {
        int i = 0;
        float sum = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            var acc = Vector<float>.Zero;
            ref float start = ref MemoryMarshal.GetReference(values);
            int last = values.Length - Vector<float>.Count;
            for (; i <= last; i += Vector<float>.Count)
            {
                var x = Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref start, i));
                acc += Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), x, Vector<float>.Zero);
            }
            sum = Vector.Sum(acc);
        }
        for (; i < values.Length; i++) sum += values[i] > 0 ? values[i] : 0;
        return sum;
    }

    /// <summary>accumulator[j] += values[j] for every j.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddTo(Span<float> accumulator, ReadOnlySpan<float> values)
    {
        if (values.Length != accumulator.Length) throw new ArgumentException("The spans differ in length.");
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            ref float a = ref MemoryMarshal.GetReference(accumulator);
            ref float v = ref MemoryMarshal.GetReference(values);
            int last = values.Length - Vector<float>.Count;
            for (; i <= last; i += Vector<float>.Count)
            {
                ref var slot = ref Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref a, i));
                slot += Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref v, i));
            }
        }
        for (; i < values.Length; i++) accumulator[i] += values[i];
    }

    /// <summary>accumulator[j] += (double)values[j] for every j (exact conversions, one double addition each).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddTo(Span<double> accumulator, ReadOnlySpan<float> values)
    {
        if (values.Length != accumulator.Length) throw new ArgumentException("The spans differ in length.");
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            ref double a = ref MemoryMarshal.GetReference(accumulator);
            ref float v = ref MemoryMarshal.GetReference(values);
            int last = values.Length - Vector<float>.Count;
            for (; i <= last; i += Vector<float>.Count)
            {
                Vector.Widen(Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref v, i)), out var low, out var high);
                ref var lowSlot = ref Unsafe.As<double, Vector<double>>(ref Unsafe.Add(ref a, i));
                ref var highSlot = ref Unsafe.As<double, Vector<double>>(ref Unsafe.Add(ref a, i + Vector<double>.Count));
                lowSlot += low;
                highSlot += high;
            }
        }
        for (; i < values.Length; i++) accumulator[i] += values[i];
    }

    /// <summary>accumulator[j] += max(values[j], 0) (NaN counts as 0), in float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ReluAddTo(Span<float> accumulator, ReadOnlySpan<float> values)
    {
        if (values.Length != accumulator.Length) throw new ArgumentException("The spans differ in length.");
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            ref float a = ref MemoryMarshal.GetReference(accumulator);
            ref float v = ref MemoryMarshal.GetReference(values);
            int last = values.Length - Vector<float>.Count;
            for (; i <= last; i += Vector<float>.Count)
            {
                var x = Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref v, i));
                ref var slot = ref Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref a, i));
                slot += Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), x, Vector<float>.Zero);
            }
        }
        for (; i < values.Length; i++) accumulator[i] += values[i] > 0 ? values[i] : 0;
    }

    /// <summary>accumulator[j] += (double)max(values[j], 0) (NaN counts as 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ReluAddTo(Span<double> accumulator, ReadOnlySpan<float> values)
    {
        if (values.Length != accumulator.Length) throw new ArgumentException("The spans differ in length.");
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            ref double a = ref MemoryMarshal.GetReference(accumulator);
            ref float v = ref MemoryMarshal.GetReference(values);
            int last = values.Length - Vector<float>.Count;
            for (; i <= last; i += Vector<float>.Count)
            {
                var x = Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref v, i));
                Vector.Widen(Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), x, Vector<float>.Zero), out var low, out var high);
                ref var lowSlot = ref Unsafe.As<double, Vector<double>>(ref Unsafe.Add(ref a, i));
                ref var highSlot = ref Unsafe.As<double, Vector<double>>(ref Unsafe.Add(ref a, i + Vector<double>.Count));
                lowSlot += low;
                highSlot += high;
            }
        }
        for (; i < values.Length; i++) accumulator[i] += values[i] > 0 ? values[i] : 0;
    }
}
