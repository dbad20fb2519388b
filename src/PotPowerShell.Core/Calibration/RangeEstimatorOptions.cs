namespace PotPowerShell.Core.Calibration;

/// <summary>Range estimator for a quantizer's min or max (POT's range_estimator.min/max.type).</summary>
public enum RangeEstimatorKind
{
    /// <summary>Global min/max over all samples.</summary>
    MinMax,
    /// <summary>Mean over samples of the per-sample min/max (POT's default for per-tensor activations).</summary>
    MeanMinMax,
    /// <summary>Quantile with outlier_prob, per side.</summary>
    Quantile,
    /// <summary>Symmetric quantile of |x| with outlier_prob.</summary>
    AbsQuantile,
    /// <summary>Histogram percentile (ORT Percentile calibrator).</summary>
    Percentile,
    /// <summary>Histogram KL-divergence threshold (ORT Entropy calibrator).</summary>
    Entropy,
    /// <summary>Median over samples of the per-sample min/max (POT's aggregator median).</summary>
    MedianMinMax,
    /// <summary>Mean of the per-sample min/max between their 1% and 99% quantiles (POT's mean_no_outliers).</summary>
    MeanMinMaxNoOutliers,
    /// <summary>Median of the per-sample min/max between their 1% and 99% quantiles (POT's median_no_outliers).</summary>
    MedianMinMaxNoOutliers,
    /// <summary>Hodges-Lehmann estimate of the per-sample min/max (POT's hl_estimator).</summary>
    HodgesLehmannMinMax,
    /// <summary>
    /// The range with the least expected quantization error (rounding plus clipping) among min/max, mean min/max, the
    /// 1e-4 quantiles and an MSE-optimal clip searched on the tensor's histogram (see AutoRangeStatistic).
    /// </summary>
    Auto,
}

/// <summary>Range estimation settings for activations (POT's activations.range_estimator mapped onto our estimators).</summary>
public sealed record RangeEstimatorOptions
{
    /// <summary>"(Kind = MeanMinMax, ...)": its settings, in parentheses inside <see cref="Config.DefaultQuantizationOptions"/>'s text.</summary>
    public override string ToString()
    {
        var text = new System.Text.StringBuilder("(");
        PrintMembers(text);
        return text.Append(')').ToString();
    }

    /// <summary>Null = the default, <see cref="DefaultKind"/>.</summary>
    public RangeEstimatorKind? Kind { get; init; }

    /// <summary>
    /// What a null <see cref="Kind"/> means: <see cref="RangeEstimatorKind.Auto"/> (a deviation from POT, whose default
    /// is the mean of per-item min/max), chosen by measurement in bench/Bench-Quality.ps1 (the numbers are in
    /// docs/en-US/about_PotPowerShell.md, Activation ranges). DefaultQuantization falls back to min/max ranges when auto's
    /// fail the self-check where min/max pass it.
    /// </summary>
    public const RangeEstimatorKind DefaultKind = RangeEstimatorKind.Auto;

    /// <summary>The estimator these options select.</summary>
    public RangeEstimatorKind EffectiveKind => Kind ?? DefaultKind;
    /// <summary>POT's outlier_prob for Quantile/AbsQuantile.</summary>
    public double OutlierProbability { get; init; } = 1e-4;
    /// <summary>Percentile for the histogram estimator.</summary>
    public double Percentile { get; init; } = 99.999;
    public int HistogramBins { get; init; } = 2048;
}
