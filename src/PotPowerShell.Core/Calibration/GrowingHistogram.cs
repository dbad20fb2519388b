using System.Runtime.CompilerServices;
namespace PotPowerShell.Core.Calibration;

/// <summary>
/// A histogram updated one batch at a time whose range grows as needed, like ONNX Runtime's HistogramCollector:
/// the first non-zero batch fixes the bin width (max|x| / bins), later batches that reach further append bins of the
/// same width. Unlike ORT, the number of bins is capped (<see cref="GrowthLimit"/> times the initial count): past it,
/// neighbouring bins are merged in pairs, so memory stays bounded whatever the data.
/// </summary>
/// <remarks>
/// Centered layout: 2·half bins over [-half·w, half·w), bin j holds [(j-half)·w, (j-half+1)·w).
/// Absolute layout: n bins of |x| over [0, n·w), bin j holds [j·w, (j+1)·w).
/// Values on the outer edge go to the outermost bin.
/// </remarks>
internal sealed class GrowingHistogram
{
    public const int GrowthLimit = 8;

    private readonly int _initialBins;
    private long _pendingZeros;

    public GrowingHistogram(int bins, bool centered)
    {
        if (bins < 2) throw new PotException("HistogramBinsInvalid", PotErrorCategory.InvalidArgument,
            $"A histogram estimator needs at least 2 bins, not {bins}.", "num_bins");
        Centered = centered;
        _initialBins = centered ? bins + bins % 2 : bins;
    }

    public bool Centered { get; }

    /// <summary>Bin counts (empty until the first non-zero value).</summary>
    public long[] Counts { get; private set; } = Array.Empty<long>();

    public double Width { get; private set; }
    public float Min { get; private set; } = float.PositiveInfinity;
    public float Max { get; private set; } = float.NegativeInfinity;
    public long Total { get; private set; }

    /// <summary>Bins on one side of zero (centered) or all bins (absolute).</summary>
    public int Half => Centered ? Counts.Length / 2 : Counts.Length;

    /// <summary>The largest |x| the bins cover.</summary>
    public double Extent => Half * Width;

    public long StateBytes => (long)Counts.Length * sizeof(long) + 64;

    /// <summary>
    /// Adds a batch of <paramref name="items"/> equal-sized items one by one: the first item fixes the bin width and
    /// later ones grow it, whatever the batch size.
    /// </summary>
    public void AddItems(ReadOnlySpan<float> values, int items)
    {
        int length = RangeStatistics.ItemLength(values.Length, items);
        for (int i = 0; i < items; i++) Add(values.Slice(i * length, length));
    }

    /// <returns>The item's <see cref="SpanMath.MinMax"/>, (NaN, NaN) when it holds no number.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public (float Min, float Max) Add(ReadOnlySpan<float> values)
    {
        var (min, max) = SpanMath.MinMax(values);
        if (float.IsNaN(min)) return (min, max);
        if (min < Min) Min = min;
        if (max > Max) Max = max;
        double reach = Math.Max(Math.Abs((double)min), Math.Abs((double)max));
        if (Width == 0)
        {
            if (reach == 0)
            {
                foreach (float v in values) if (!float.IsNaN(v)) { _pendingZeros++; Total++; }
                return (min, max);
            }
            Counts = new long[_initialBins];
            Width = reach / Half;
            if (_pendingZeros > 0) Counts[Centered ? Half : 0] += _pendingZeros;
        }
        else if (reach > Extent)
        {
            Grow(reach);
        }

        var counts = Counts;
        int half = Half;
        double inverse = 1.0 / Width;
        int last = counts.Length - 1;
        long numbers = 0;
        // One loop per layout, counting the numbers on the way: a single read of the values.
        if (Centered)
        {
            // Vector bin numbers need every |x|·(1/w) finite and well inside int: true after the growth above, but
            // checked, since otherwise the scalar cast's result for out-of-range values would decide.
            if (double.IsFinite(inverse) && reach * inverse < 1 << 30)
                numbers = SpanMath.CountCentered(values, counts, half, inverse);
            else
                foreach (float v in values)
                {
                    if (float.IsNaN(v)) continue;
                    counts[Math.Clamp(half + (int)Math.Floor(v * inverse), 0, last)]++;
                    numbers++;
                }
        }
        else
        {
            foreach (float v in values)
            {
                if (float.IsNaN(v)) continue;
                counts[Math.Clamp((int)(Math.Abs(v) * inverse), 0, last)]++;
                numbers++;
            }
        }
        Total += numbers;
        return (min, max);
    }

    private void Grow(double reach)
    {
        // Merge neighbouring bins first while the reach would need more bins than the cap allows, so that memory never
        // exceeds the cap even for a huge jump in range; then append bins of the current width past the reach, as ORT
        // does ((reach - extent) // width + 1 more bins on each side).
        int limit = (Centered ? _initialBins / 2 : _initialBins) * GrowthLimit;
        var counts = Counts;
        int half = Half;
        double width = Width;
        while (Math.Floor(reach / width) + 1 > limit)
        {
            if (half % 2 == 1) { counts = Resize(counts, half, half + 1); half++; }
            counts = MergePairs(counts);
            half /= 2;
            width *= 2;
        }
        int wanted = (int)Math.Floor(reach / width) + 1;
        if (wanted > half) counts = Resize(counts, half, wanted);
        Counts = counts;
        Width = width;
    }

    /// <summary>Copies the bins into a layout with <paramref name="newHalf"/> bins per side (new bins are empty).</summary>
    private long[] Resize(long[] counts, int oldHalf, int newHalf)
    {
        var result = new long[Centered ? 2 * newHalf : newHalf];
        Array.Copy(counts, 0, result, Centered ? newHalf - oldHalf : 0, counts.Length);
        return result;
    }

    private static long[] MergePairs(long[] counts)
    {
        var result = new long[counts.Length / 2];
        for (int i = 0; i < result.Length; i++) result[i] = counts[2 * i] + counts[2 * i + 1];
        return result;
    }
}
