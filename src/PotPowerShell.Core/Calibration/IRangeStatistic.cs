
namespace PotPowerShell.Core.Calibration;

/// <summary>
/// A streaming range estimator for one tensor. Calibration feeds it one batch at a time and then drops the batch,
/// so its state must not grow with the number of samples (<see cref="StateBytes"/> makes that checkable), except for
/// POT's robust aggregators (<see cref="AggregatedMinMaxStatistic"/>), which keep two floats per sample.
/// </summary>
public interface IRangeStatistic
{
    /// <summary>The estimator this statistic implements.</summary>
    RangeEstimatorKind Kind { get; }

    /// <summary>Adds a batch: <paramref name="items"/> items of equal size, stored one after the other.</summary>
    void Add(ReadOnlySpan<float> values, int items);

    /// <summary>Number of items seen so far.</summary>
    long Items { get; }

    /// <summary>The estimated range; (0, 0) when no values were seen.</summary>
    ActivationRange Range { get; }

    /// <summary>Bytes held by the accumulator (arrays and fields), independent of how many items were added.</summary>
    long StateBytes { get; }
}

/// <summary>
/// A range statistic that can take max(x, 0) of a batch straight from x, so a Relu output computed from its input
/// (see TensorSinks) needs no buffer. The result equals adding the Relu'd values.
/// </summary>
internal interface IReluStatistic
{
    void AddRelu(ReadOnlySpan<float> values, int items);
}

/// <summary>Creates the range statistic for an estimator kind.</summary>
public static class RangeStatistics
{
    public static IRangeStatistic Create(RangeEstimatorKind kind, RangeEstimatorOptions options) => kind switch
    {
        RangeEstimatorKind.MinMax => new MinMaxStatistic(),
        RangeEstimatorKind.MeanMinMax => new MeanMinMaxStatistic(),
        RangeEstimatorKind.Quantile => new QuantileStatistic(options.OutlierProbability, absolute: false),
        RangeEstimatorKind.AbsQuantile => new QuantileStatistic(options.OutlierProbability, absolute: true),
        RangeEstimatorKind.Percentile => new PercentileStatistic(options.Percentile, options.HistogramBins),
        RangeEstimatorKind.Entropy => new EntropyStatistic(options.HistogramBins),
        RangeEstimatorKind.Auto => new AutoRangeStatistic(options.HistogramBins),
        RangeEstimatorKind.MedianMinMax or RangeEstimatorKind.MeanMinMaxNoOutliers or RangeEstimatorKind.MedianMinMaxNoOutliers
            or RangeEstimatorKind.HodgesLehmannMinMax => new AggregatedMinMaxStatistic(kind),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown range estimator."),
    };

    /// <summary>
    /// Names an estimator with the settings that change its result (outlier_prob for quantiles, percentile and bins for
    /// histograms), e.g. "Quantile(0.0001)"; a null kind is <see cref="RangeEstimatorOptions.DefaultKind"/>.
    /// </summary>
    public static string Key(RangeEstimatorOptions options)
    {
        var kind = options.EffectiveKind;
        string F(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        return kind switch
        {
            RangeEstimatorKind.Quantile or RangeEstimatorKind.AbsQuantile => $"{kind}({F(options.OutlierProbability)})",
            RangeEstimatorKind.Percentile => $"{kind}({F(options.Percentile)},{options.HistogramBins})",
            RangeEstimatorKind.Entropy or RangeEstimatorKind.Auto => $"{kind}({options.HistogramBins})",
            _ => kind.ToString(),
        };
    }

    /// <summary>Splits a batch into its items; throws when the length is not a multiple of the item count.</summary>
    internal static int ItemLength(int length, int items)
    {
        if (items <= 0 || length % items != 0)
            throw new ArgumentException($"A batch of {length} values cannot be split into {items} equal items.");
        return length / items;
    }
}
