using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// Exact early stopping of full-set evaluations: for a metric that is the mean of per-item values within known bounds
/// (<see cref="IEvaluator.MeanItemBounds"/>), the first items already bound the value the whole set can still reach.
/// </summary>
internal static class DecidedEarly
{
    /// <summary>
    /// The smallest drop of <paramref name="metric"/> the full set of <paramref name="total"/> items can still give
    /// after the first <paramref name="measured"/> per-item values: every remaining item at its best bound. Unmeasured
    /// items may also have no value (NaN, which the mean skips), so both extremes are taken. -infinity when the best
    /// bound is infinite.
    /// </summary>
    public static double MinimalDrop(MetricCriterion metric, (double Min, double Max) bounds, double[] perItem, int measured, int total)
    {
        double best = metric.Direction == MetricDirection.HigherBetter ? bounds.Max : bounds.Min;
        if (!double.IsFinite(best)) return double.NegativeInfinity;
        double sum = 0;
        int n = 0;
        for (int i = 0; i < measured; i++)
            if (!double.IsNaN(perItem[i]))
            {
                sum += perItem[i];
                n++;
            }
        int rest = total - measured;
        double allBest = metric.Drop((sum + rest * best) / (n + rest));
        return n == 0 ? allBest : Math.Min(allBest, metric.Drop(sum / n));
    }

    /// <summary>
    /// A stop rule that ends a candidate's evaluation once the driving metric's drop is certain to be above the limit
    /// and above <paramref name="threshold"/> (re-read after each batch; +infinity = never): the search decision
    /// cannot change any more. Null when the metric has no per-item bounds or decided-early evaluation is off.
    /// </summary>
    public static Func<int, IReadOnlyDictionary<string, double[]>, bool>? Above(SearchContext ctx, MetricCriterion metric, Func<double> threshold)
    {
        if (!ctx.Options.DecideEarly || !ctx.Session.Evaluator.MeanItemBounds.TryGetValue(metric.Name, out var bounds)) return null;
        int total = ctx.Session.ItemCount;
        // Rounding: the evaluator's mean and this sum may differ in the last bits, so a decision needs a clear margin.
        double margin = 1e-9 * metric.Scale;
        return (measured, perItem) =>
        {
            if (!perItem.TryGetValue(metric.Name, out var values)) return false;
            double drop = MinimalDrop(metric, bounds, values, measured, total);
            return drop > metric.MaxDrop + margin && drop > threshold() + margin;
        };
    }
}
