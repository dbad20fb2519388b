using System.Runtime.CompilerServices;

namespace PotPowerShell.Core.Calibration;

/// <summary>
/// A range read from one <see cref="GrowingHistogram"/> of the tensor: the estimators differ only in the threshold t
/// they pick from it (<see cref="Threshold"/>); the range is [-t, t] clamped to the observed [min, max] (so a
/// non-negative tensor keeps its observed minimum), (0, 0) before any value and [min, max] when every value is 0.
/// </summary>
public abstract class HistogramRangeStatistic : IRangeStatistic
{
    private protected HistogramRangeStatistic(int bins, bool centered) => Histogram = new GrowingHistogram(bins, centered);

    private protected GrowingHistogram Histogram { get; }

    public abstract RangeEstimatorKind Kind { get; }
    public long Items { get; private set; }
    public long StateBytes => Histogram.StateBytes + 16;

    public void Add(ReadOnlySpan<float> values, int items)
    {
        Histogram.AddItems(values, items);
        Items += items;
    }

    public ActivationRange Range
    {
        get
        {
            var h = Histogram;
            if (h.Total == 0) return new ActivationRange(0, 0);
            if (h.Width == 0) return new ActivationRange(h.Min, h.Max);
            double t = Threshold(h);
            return new ActivationRange((float)Math.Max(-t, h.Min), (float)Math.Min(t, h.Max));
        }
    }

    /// <summary>The threshold t of a histogram with values (Total &gt; 0, Width &gt; 0).</summary>
    private protected abstract double Threshold(GrowingHistogram h);
}

/// <summary>
/// ONNX Runtime's Percentile calibrator (symmetric, its default): a histogram of |x|; the threshold t is the upper
/// edge of the bin where the cumulative share reaches <c>percentile</c>; the range is [-t, t] clamped to the observed
/// [min, max] (so a non-negative tensor keeps its observed minimum).
/// </summary>
public sealed class PercentileStatistic : HistogramRangeStatistic
{
    private readonly double _percentile;

    public PercentileStatistic(double percentile, int bins) : base(bins, centered: false)
    {
        if (!(percentile > 0 && percentile <= 100))
            throw new PotException("PercentileInvalid", PotErrorCategory.InvalidArgument,
                $"The percentile must be above 0 and at most 100, not {percentile}.", "percentile");
        _percentile = percentile;
    }

    public override RangeEstimatorKind Kind => RangeEstimatorKind.Percentile;

    private protected override double Threshold(GrowingHistogram h)
    {
        double target = _percentile / 100.0 * h.Total;
        long cumulative = 0;
        int index = h.Counts.Length - 1;
        for (int i = 0; i < h.Counts.Length; i++)
        {
            cumulative += h.Counts[i];
            // A tiny tolerance so that exactly reaching the target (e.g. 100 %) is not missed by rounding.
            if (cumulative >= target - 1e-9 * h.Total) { index = i; break; }
        }
        return (index + 1) * h.Width;
    }
}

/// <summary>
/// ONNX Runtime's Entropy calibrator: a histogram over [-T, T] (T = max|x|, growing as needed); for every symmetric
/// window [-i·w, i·w) with i from num_quantized_bins/2 to all bins, the reference p is the window with the outliers
/// added to its edge bins and q is the window merged into num_quantized_bins bins then spread back over p's non-zero
/// bins; both are smoothed (eps 1e-4 per empty bin) and the window with the least KL(p‖q) wins. Its threshold is clamped to the
/// observed [min, max]. Differences from ORT: the windows are exactly symmetric and q is spread in floating point
/// over non-zero bins only (ORT truncates to integers and also fills zero bins), as in the original TensorRT method.
/// </summary>
public sealed class EntropyStatistic : HistogramRangeStatistic
{
    /// <summary>ORT's num_quantized_bins default.</summary>
    public const int QuantizedBins = 128;

    public EntropyStatistic(int bins) : base(bins, centered: true) { }

    public override RangeEstimatorKind Kind => RangeEstimatorKind.Entropy;

    private protected override double Threshold(GrowingHistogram h) => KlThreshold.BestHalfWindow(h.Counts, QuantizedBins) * h.Width;
}

/// <summary>The KL-divergence threshold search of the Entropy estimator.</summary>
internal static class KlThreshold
{
    private const double Epsilon = 1e-4;

    /// <summary>The half-width (in bins) of the symmetric window of a centered histogram with the least KL divergence.</summary>
    public static int BestHalfWindow(long[] counts, int quantizedBins)
    {
        int half = counts.Length / 2;
        int first = Math.Min(quantizedBins / 2, half);
        var p = new double[counts.Length];
        var q = new double[counts.Length];
        double bestDivergence = double.PositiveInfinity;
        int best = half;
        for (int i = first; i <= half; i++)
        {
            double divergence = Divergence(counts, half - i, half + i, quantizedBins, p, q);
            // Strictly smaller: ties keep the narrowest window, as numpy's argmin keeps the first.
            if (divergence < bestDivergence) { bestDivergence = divergence; best = i; }
        }
        return best;
    }

    /// <summary>KL(p‖q) for the window [start, end) of the histogram.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static double Divergence(long[] counts, int start, int end, int quantizedBins, double[] pBuffer, double[] qBuffer)
    {
        int length = end - start;
        var p = pBuffer.AsSpan(0, length);
        var q = qBuffer.AsSpan(0, length);
        for (int j = 0; j < length; j++) p[j] = counts[start + j];
        for (int j = 0; j < start; j++) p[0] += counts[j];
        for (int j = end; j < counts.Length; j++) p[length - 1] += counts[j];

        // Merge the window (without outliers) into quantizedBins bins; the last one takes the remainder, as ORT does.
        int bucket = Math.Max(1, length / quantizedBins);
        int buckets = Math.Min(quantizedBins, length);
        q.Clear();
        for (int b = 0; b < buckets; b++)
        {
            int from = b * bucket;
            int to = b == buckets - 1 ? length : from + bucket;
            double sum = 0;
            int nonZero = 0;
            for (int j = from; j < to; j++)
            {
                sum += counts[start + j];
                if (p[j] != 0) nonZero++;
            }
            if (nonZero == 0) continue;
            double share = sum / nonZero;
            for (int j = from; j < to; j++) if (p[j] != 0) q[j] = share;
        }
        if (!Smooth(p) || !Smooth(q)) return double.PositiveInfinity;

        double pSum = 0, qSum = 0;
        foreach (double v in p) pSum += v;
        foreach (double v in q) qSum += v;
        double kl = 0;
        for (int j = 0; j < length; j++)
        {
            double pj = p[j] / pSum, qj = q[j] / qSum;
            kl += pj * Math.Log(pj / qj);
        }
        return kl;
    }

    /// <summary>
    /// Smoothing as ORT's smooth_distribution: eps of mass goes into every empty bin. ORT takes it evenly from the
    /// non-zero bins, which can turn a small fractional q bin negative; here it is taken in proportion to each bin.
    /// False when every bin is empty.
    /// </summary>
    private static bool Smooth(Span<double> d)
    {
        int zeros = 0;
        double sum = 0;
        foreach (double v in d) { if (v == 0) zeros++; sum += v; }
        if (zeros == d.Length) return false;
        double eps = Math.Min(Epsilon, 0.5 * sum / Math.Max(zeros, 1));
        double keep = 1 - eps * zeros / sum;
        for (int j = 0; j < d.Length; j++) d[j] = d[j] == 0 ? eps : d[j] * keep;
        return true;
    }
}
