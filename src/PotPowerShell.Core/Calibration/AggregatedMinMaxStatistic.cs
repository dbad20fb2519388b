
namespace PotPowerShell.Core.Calibration;

/// <summary>
/// POT's robust aggregators over the per-item minimum and maximum: the median, the mean or median without the outer 1%
/// of items on each side (POT's mean_no_outliers and median_no_outliers), and the Hodges-Lehmann estimator (the median
/// of the means of all pairs of items, POT's hl_estimator). Unlike the streaming estimators it keeps two floats per
/// item, since a median needs every value; the Hodges-Lehmann estimator needs every pair, so it takes at most
/// <see cref="MaxHodgesLehmannItems"/> items.
/// </summary>
public sealed class AggregatedMinMaxStatistic : IRangeStatistic, IReluStatistic
{
    /// <summary>POT's no_outliers_estimator drops values below the 1% and above the 99% quantile.</summary>
    public const double OutlierQuantile = 0.01;

    /// <summary>About 8 million pairs (32 MB) at most.</summary>
    public const int MaxHodgesLehmannItems = 4096;

    private readonly List<float> _mins = new();
    private readonly List<float> _maxes = new();

    public AggregatedMinMaxStatistic(RangeEstimatorKind kind)
    {
        if (kind is not (RangeEstimatorKind.MedianMinMax or RangeEstimatorKind.MeanMinMaxNoOutliers
            or RangeEstimatorKind.MedianMinMaxNoOutliers or RangeEstimatorKind.HodgesLehmannMinMax))
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not an aggregated min/max estimator.");
        Kind = kind;
    }

    public RangeEstimatorKind Kind { get; }
    public long Items { get; private set; }
    public long StateBytes => (long)(_mins.Capacity + _maxes.Capacity) * sizeof(float) + 64;

    public void Add(ReadOnlySpan<float> values, int items) => Add(values, items, relu: false);

    void IReluStatistic.AddRelu(ReadOnlySpan<float> values, int items) => Add(values, items, relu: true);

    private void Add(ReadOnlySpan<float> values, int items, bool relu)
    {
        int length = RangeStatistics.ItemLength(values.Length, items);
        if (Kind == RangeEstimatorKind.HodgesLehmannMinMax && Items + items > MaxHodgesLehmannItems)
            throw new PotException("RangeEstimatorTooManyItems", PotErrorCategory.InvalidArgument,
                $"The hl_estimator aggregator compares every pair of calibration items and takes at most {MaxHodgesLehmannItems} items. " +
                $"Set stat_subset_size to {MaxHodgesLehmannItems} or less, or use the median aggregator.", "hl_estimator");
        Items += items;
        if (length == 0) return;
        for (int i = 0; i < items; i++)
        {
            var item = values.Slice(i * length, length);
            var (min, max) = relu ? SpanMath.ReluMinMax(item) : SpanMath.MinMax(item);
            if (float.IsNaN(min) || float.IsNaN(max)) continue;
            _mins.Add(min);
            _maxes.Add(max);
        }
    }

    public ActivationRange Range => _mins.Count == 0
        ? new ActivationRange(0, 0)
        : new ActivationRange(Aggregate(_mins), Aggregate(_maxes));

    private float Aggregate(List<float> values)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return Kind switch
        {
            RangeEstimatorKind.MedianMinMax => (float)Median(sorted),
            RangeEstimatorKind.MeanMinMaxNoOutliers => (float)Inliers(sorted).Average(v => (double)v),
            RangeEstimatorKind.MedianMinMaxNoOutliers => (float)Median(Inliers(sorted)),
            _ => (float)HodgesLehmann(sorted),
        };
    }

    /// <summary>NumPy's default (linear) quantile of sorted values.</summary>
    internal static double Quantile(float[] sorted, double q)
    {
        double position = q * (sorted.Length - 1);
        int low = (int)Math.Floor(position);
        int high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + (position - low) * ((double)sorted[high] - sorted[low]);
    }

    private static double Median(float[] sorted) => Quantile(sorted, 0.5);

    /// <summary>
    /// The values between the 1% and the 99% quantile (both included), still sorted. With very few items (two distinct
    /// values, say) nothing lies between them, where POT would give NaN: then every value counts.
    /// </summary>
    private static float[] Inliers(float[] sorted)
    {
        double low = Quantile(sorted, OutlierQuantile), high = Quantile(sorted, 1 - OutlierQuantile);
        var inliers = sorted.Where(v => v >= low && v <= high).ToArray();
        return inliers.Length > 0 ? inliers : sorted;
    }

    /// <summary>Half the median of x[i] + x[j] over all pairs i &lt; j (one value alone is its own estimate).</summary>
    private static double HodgesLehmann(float[] x)
    {
        if (x.Length == 1) return x[0];
        var sums = new double[(long)x.Length * (x.Length - 1) / 2];
        long k = 0;
        for (int i = 1; i < x.Length; i++)
            for (int j = 0; j < i; j++)
                sums[k++] = (double)x[i] + x[j];
        Array.Sort(sums);
        long n = sums.Length;
        double median = n % 2 == 1 ? sums[n / 2] : (sums[n / 2 - 1] + sums[n / 2]) / 2;
        return 0.5 * median;
    }
}
