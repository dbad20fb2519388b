using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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

    /// <summary>Interleaved counters per bin of <see cref="CountBins"/>: lane k of bin j is lanes[j·Lanes + k].</summary>
    public const int Lanes = 1 << LaneBits;

    private const int LaneBits = 2;

    /// <summary>
    /// Histogram counting: for every x that is not NaN, bin j = clamp(half + floor(y·inverse), 0, bins - 1) with y = x
    /// (centered layout) or |x| (absolute layout, half 0), and one more count for bin j in <paramref name="lanes"/>;
    /// returns how many numbers that was. The bin numbers are computed a vector at a time in double, as the scalar
    /// formula does, clamped before they become integers (so any finite inverse gives the scalar formula's bin).
    /// Neighbouring values count in different lanes (<see cref="Lanes"/> interleaved counters per bin, one cache line),
    /// so a run of values in one bin does not wait on the same counter; the caller adds the lanes up. Each lane counter
    /// grows by at most values.Length.
    /// </summary>
    /// <param name="lanes">(bins + 1)·<see cref="Lanes"/> counters; the last bin's counters take NaN and are left at 0.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static long CountBins(ReadOnlySpan<float> values, int[] lanes, int half, double inverse, bool absolute)
    {
        int bins = lanes.Length / Lanes - 1, last = bins - 1;
        int i = 0;
        if (Vector256.IsHardwareAccelerated && values.Length >= Vector256<float>.Count)
        {
            ref float start = ref MemoryMarshal.GetReference(values);
            ref int counters = ref MemoryMarshal.GetArrayDataReference(lanes);
            var scale = Vector256.Create(inverse);
            var low = Vector256.Create((double)-half);
            var high = Vector256.Create((double)(last - half));
            // Adding 2^52 + 2^51 to an integral double |n| < 2^51 puts n in the low bits of its representation.
            var magic = Vector256.Create(6755399441055744.0);
            var origin = Vector256.Create(BitConverter.DoubleToInt64Bits(6755399441055744.0) - half);
            var lane = Vector256.Create(0L, 1, 2, 3);
            var nan = Vector256.Create((long)bins * Lanes) + lane;
            int end = values.Length - Vector256<float>.Count;
            for (; i <= end; i += Vector256<float>.Count)
            {
                var x = Vector256.LoadUnsafe(ref Unsafe.Add(ref start, i));
                if (absolute) x = Vector256.Abs(x);
                var (first, second) = Vector256.Widen(x);
                var a = Slot(first, scale, low, high, magic, origin, lane, nan);
                var b = Slot(second, scale, low, high, magic, origin, lane, nan);
                Unsafe.Add(ref counters, (nint)a.GetElement(0))++;
                Unsafe.Add(ref counters, (nint)a.GetElement(1))++;
                Unsafe.Add(ref counters, (nint)a.GetElement(2))++;
                Unsafe.Add(ref counters, (nint)a.GetElement(3))++;
                Unsafe.Add(ref counters, (nint)b.GetElement(0))++;
                Unsafe.Add(ref counters, (nint)b.GetElement(1))++;
                Unsafe.Add(ref counters, (nint)b.GetElement(2))++;
                Unsafe.Add(ref counters, (nint)b.GetElement(3))++;
            }
        }
        long numbers = i;
        for (int k = 0; k < Lanes; k++)
        {
            numbers -= lanes[bins * Lanes + k];
            lanes[bins * Lanes + k] = 0;
        }
        for (; i < values.Length; i++)
        {
            float v = absolute ? Math.Abs(values[i]) : values[i];
            if (float.IsNaN(v)) continue;
            lanes[Lanes * (int)Math.Clamp(half + Math.Floor(v * inverse), 0, last)]++;
            numbers++;
        }
        return numbers;
    }

    /// <summary>Counter index Lanes·clamp(floor(x·scale), low, high) + lane, or the NaN bin's where x is NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<long> Slot(Vector256<double> x, Vector256<double> scale, Vector256<double> low, Vector256<double> high,
        Vector256<double> magic, Vector256<long> origin, Vector256<long> lane, Vector256<long> nan)
    {
        var bin = Vector256.Min(Vector256.Max(Vector256.Floor(x * scale), low), high);
        var slot = (((bin + magic).AsInt64() - origin) << LaneBits) + lane;
        return Vector256.ConditionalSelect(Vector256.Equals(x, x).AsInt64(), slot, nan);
    }

    /// <summary>Index of the first NaN or ±Inf value, or -1 when every value is finite.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            ref float start = ref MemoryMarshal.GetReference(values);
            int last = values.Length - Vector<float>.Count, lastBlock = values.Length - 4 * Vector<float>.Count;
            // x - x is 0 for a finite x and NaN for NaN and ±Inf: a whole vector is finite when every lane equals 0. Four
            // vectors are tested at once (a sum of such differences is NaN when any is); the block holding the first
            // non-finite value is then searched a vector at a time.
            for (; i <= lastBlock; i += 4 * Vector<float>.Count)
            {
                var a = Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref start, i));
                var b = Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref start, i + Vector<float>.Count));
                var c = Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref start, i + 2 * Vector<float>.Count));
                var d = Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref start, i + 3 * Vector<float>.Count));
                if (!Vector.EqualsAll((a - a) + (b - b) + ((c - c) + (d - d)), Vector<float>.Zero)) break;
            }
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
