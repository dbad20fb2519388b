using System.Globalization;

namespace PotPowerShell.Core.Calibration;

/// <summary>A range statistic that can say why it chose its range (shown in the layer rows of a result).</summary>
public interface IExplainedRange
{
    /// <summary>Which range was chosen and why, in one short sentence.</summary>
    string Choice { get; }
}

/// <summary>
/// The default activation range estimator, <c>auto</c>: from the one calibration pass it keeps a histogram of the
/// tensor (<see cref="GrowingHistogram"/>) and the per-item means of POT's default estimator, and picks the range with
/// the least expected quantization error (rounding plus clipping, <see cref="ClipSearch"/>) among: min/max, POT's mean
/// min/max, the 1e-4 quantiles, and the MSE-optimal clip found by searching the histogram. A candidate within
/// <see cref="Tolerance"/> of the best is preferred in that order, so a tensor is clipped only when it pays.
/// </summary>
public sealed class AutoRangeStatistic : IRangeStatistic, IExplainedRange
{
    /// <summary>Relative error margin within which the earlier (less clipping, better known) candidate wins.</summary>
    public const double Tolerance = 0.01;

    /// <summary>The quantile candidate's outlier probability (POT's default outlier_prob).</summary>
    public const double QuantileProbability = 1e-4;

    private readonly GrowingHistogram _histogram;
    private readonly MeanMinMaxStatistic _meanMinMax = new();
    private (ActivationRange Range, string Choice)? _chosen;

    public AutoRangeStatistic(int bins) => _histogram = new GrowingHistogram(bins, centered: true);

    public RangeEstimatorKind Kind => RangeEstimatorKind.Auto;
    public long Items { get; private set; }
    public long StateBytes => _histogram.StateBytes + _meanMinMax.StateBytes + 16;

    public void Add(ReadOnlySpan<float> values, int items)
    {
        // The histogram takes each item's min/max anyway: the mean min/max candidate reuses them (one read less).
        int length = RangeStatistics.ItemLength(values.Length, items);
        for (int i = 0; i < items; i++)
        {
            var (min, max) = _histogram.Add(values.Slice(i * length, length));
            _meanMinMax.AddItemRange(min, max);
        }
        Items += items;
        _chosen = null;
    }

    public ActivationRange Range => Choose().Range;

    public string Choice => Choose().Choice;

    private (ActivationRange Range, string Choice) Choose() => _chosen ??= Decide();

    private (ActivationRange, string) Decide()
    {
        var h = _histogram;
        if (h.Total == 0) return (new ActivationRange(0, 0), "no values seen");
        if (h.Width == 0) return (new ActivationRange(h.Min, h.Max), "min/max: every value is 0");
        var search = new ClipSearch(h.Counts, h.Width, h.Min, h.Max);
        var mean = _meanMinMax.Range;
        var quantiles = search.Quantiles(QuantileProbability);
        var optimum = search.Optimal();
        var candidates = new (string Name, double Min, double Max)[]
        {
            ("min/max", h.Min, h.Max),
            ("mean min/max", mean.Min, mean.Max),
            ("quantile 1e-4", quantiles.Min, quantiles.Max),
            ("MSE-optimal clip", optimum.Min, optimum.Max),
        };
        var errors = candidates.Select(c => search.Error(c.Min, c.Max)).ToArray();
        double best = errors.Min();
        int chosen = Array.FindIndex(errors, e => e <= best * (1 + Tolerance));
        var (name, min, max) = candidates[chosen];
        string F(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
        string why = chosen == 0
            ? "no clipping lowers the expected error"
            : $"expected error {F(errors[chosen] / errors[0])}x min/max's, clips {F(100 * search.ClippedShare(min, max))}% of the values";
        return (new ActivationRange((float)min, (float)max), $"{name} [{F(min)}, {F(max)}]: {why}");
    }
}
