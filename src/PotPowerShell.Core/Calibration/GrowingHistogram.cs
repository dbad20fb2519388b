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

    // The counts up to the last flush, and the values added since, per bin and lane (SpanMath.CountBins), and how many.
    private long[] _counts = Array.Empty<long>();
    private int[] _lanes = Array.Empty<int>();
    private long _unflushed;

    /// <summary>Bin counts (empty until the first non-zero value).</summary>
    public long[] Counts
    {
        get
        {
            Flush();
            return _counts;
        }
    }

    public double Width { get; private set; }
    public float Min { get; private set; } = float.PositiveInfinity;
    public float Max { get; private set; } = float.NegativeInfinity;
    public long Total { get; private set; }

    /// <summary>Bins on one side of zero (centered) or all bins (absolute).</summary>
    public int Half => Centered ? _counts.Length / 2 : _counts.Length;

    /// <summary>The largest |x| the bins cover.</summary>
    public double Extent => Half * Width;

    public long StateBytes => (long)_counts.Length * sizeof(long) + (long)_lanes.Length * sizeof(int) + 64;

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
            _counts = new long[_initialBins];
            _lanes = new int[(_initialBins + 1) * SpanMath.Lanes];
            Width = reach / Half;
            if (_pendingZeros > 0) _counts[Centered ? Half : 0] += _pendingZeros;
        }
        else if (reach > Extent)
        {
            Grow(reach);
        }
        // A lane counter grows by at most the values added since the last flush: keep that within an int.
        if (_unflushed + values.Length > int.MaxValue) Flush();
        Total += SpanMath.CountBins(values, _lanes, Centered ? Half : 0, 1.0 / Width, absolute: !Centered);
        _unflushed += values.Length;
        return (min, max);
    }

    /// <summary>Adds the lane counters into the counts and clears them.</summary>
    private void Flush()
    {
        if (_unflushed == 0) return;
        for (int j = 0; j < _counts.Length; j++)
        {
            long sum = 0;
            for (int k = 0; k < SpanMath.Lanes; k++) sum += _lanes[j * SpanMath.Lanes + k];
            _counts[j] += sum;
        }
        Array.Clear(_lanes);
        _unflushed = 0;
    }

    private void Grow(double reach)
    {
        // Merge neighbouring bins first while the reach would need more bins than the cap allows, so that memory never
        // exceeds the cap even for a huge jump in range; then append bins of the current width past the reach, as ORT
        // does ((reach - extent) // width + 1 more bins on each side).
        int limit = (Centered ? _initialBins / 2 : _initialBins) * GrowthLimit;
        Flush();
        var counts = _counts;
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
        _counts = counts;
        if (_lanes.Length != (counts.Length + 1) * SpanMath.Lanes) _lanes = new int[(counts.Length + 1) * SpanMath.Lanes];
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
