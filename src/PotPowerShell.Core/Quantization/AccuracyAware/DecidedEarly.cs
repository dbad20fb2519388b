using PotPowerShell.Core.Config;
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
    public static double MinimalDrop(MetricCriterion metric, (double Min, double Max) bounds, double[] perItem, int measured, int total) =>
        MinimalDrop(metric, bounds, new RunningSum(), perItem, measured, total);

    /// <summary>As above, with the sum of the measured values kept in <paramref name="running"/> from one call to the next.</summary>
    private static double MinimalDrop(MetricCriterion metric, (double Min, double Max) bounds, RunningSum running, double[] perItem, int measured, int total)
    {
        double best = metric.Direction == MetricDirection.HigherBetter ? bounds.Max : bounds.Min;
        if (!double.IsFinite(best)) return double.NegativeInfinity;
        var (sum, n) = running.Through(perItem, measured);
        int rest = total - measured;
        double allBest = metric.Drop((sum + rest * best) / (n + rest));
        return n == 0 ? allBest : Math.Min(allBest, metric.Drop(sum / n));
    }

    /// <summary>
    /// The order a decided-early evaluation of a one-layer change to <paramref name="current"/> measures the items in:
    /// those where <paramref name="current"/> is furthest from the metric's best per-item value first (ties by <see cref="Fragility"/>, then index).
    /// A candidate's per-item values are mostly its current model's, so once the items it can still change are measured,
    /// "every remaining item at its best" is close to what the rest will give, and a losing candidate stops after those
    /// instead of near the end of the set. Only the time of the decision changes: a complete evaluation is put back in
    /// index order (<see cref="EvaluationSession.EvaluateUntilDecided"/>).
    /// The order changes which items share a batch. On ONNX Runtime's CPU kernels an item's outputs do not depend on its
    /// batch-mates (measured bit for bit on OcrRec and MiniLM of bench/Bench-AccuracyAware.ps1: shuffled batches of 32,
    /// 1 and 2 threads; its ResNet18 runs one item per batch), except where activations are
    /// quantized at run time from the whole batch (DynamicQuantizeLinear, restore_mode only_activations): those runs keep
    /// index order. Null (index order) too when decided-early evaluation is off, the metric has no finite best bound, or
    /// some metric of the evaluator is not an item mean (its value could not be rebuilt in index order).
    /// </summary>
    /// <param name="likely">Another model's evaluation (complete, or stopped early): among the items where the current
    /// model is at its best, those furthest from it there come first. The backward pass quantizes a layer again, which
    /// breaks mostly the items a model with that layer quantized fell short on; measured first, they decide a try
    /// certain to miss the limit sooner.</param>
    public static IReadOnlyList<int>? Order(SearchContext ctx, MetricCriterion metric, EvaluationResult current, EvaluationResult? likely = null)
    {
        if (current.Items.Count != ctx.Session.ItemCount || Best(ctx, metric) is not { } best || current.StoppedEarly
            || !current.PerItem.TryGetValue(metric.Name, out var values) || values.Length != current.Items.Count)
            return null;
        int total = current.Items.Count;
        var shortfall = new double[total];
        for (int k = 0; k < total; k++)
            shortfall[current.Items[k]] = double.IsNaN(values[k]) ? double.NegativeInfinity : Math.Abs(best - values[k]);
        var elsewhere = new double[total];
        if (likely != null && likely.PerItem.TryGetValue(metric.Name, out var other))
            for (int k = 0; k < other.Length; k++)
                if (!double.IsNaN(other[k])) elsewhere[likely.Items[k]] = Math.Abs(best - other[k]);
        var closeness = FragilityOf(current, metric);
        var fragility = new double[total];
        for (int k = 0; k < total; k++) fragility[current.Items[k]] = Fragility(closeness, k);
        return Enumerable.Range(0, total).OrderByDescending(i => shortfall[i]).ThenByDescending(i => elsewhere[i]).ThenBy(i => fragility[i]).ThenBy(i => i).ToArray();
    }

    /// <summary>
    /// <see cref="Order"/> on a subset: <paramref name="current"/> evaluated completely on it (a ranking subset), its
    /// items where the current model is furthest from the metric's best per-item value first, then by <see cref="Fragility"/>, then in the subset's order
    /// (the subset's order alone where decided-early evaluation does not apply).
    /// </summary>
    public static IReadOnlyList<int> SubsetOrder(SearchContext ctx, MetricCriterion metric, EvaluationResult current)
    {
        if (Best(ctx, metric) is not { } best || current.StoppedEarly || !current.PerItem.TryGetValue(metric.Name, out var values)
            || values.Length != current.Items.Count)
            return current.Items;
        var closeness = FragilityOf(current, metric);
        return Enumerable.Range(0, values.Length).OrderByDescending(k => double.IsNaN(values[k]) ? double.NegativeInfinity : Math.Abs(best - values[k]))
            .ThenBy(k => Fragility(closeness, k)).ThenBy(k => k).Select(k => current.Items[k]).ToArray();
    }

    /// <summary>
    /// The current model's fragility at position <paramref name="k"/> of its evaluation (<see cref="FragilityOf"/>,
    /// smaller = closer to another per-item value; +infinity without one): among items at the same per-item value, the
    /// smallest comes first. With a 0/1 metric (accuracy and fp32_agreement: the label's margin; exact match read by CTC
    /// decoding: a right line's smallest margin over its time steps), the items the current model gets right by the
    /// thinnest margin are those a one-layer change breaks first, so a candidate that breaks some is decided sooner
    /// (the classifier of bench/Bench-AccuracyAware.ps1 on 1000 items: 105,855 -> 90,956 inferences, the same model).
    /// </summary>
    private static double Fragility(double[] fragility, int k) => k < fragility.Length && !double.IsNaN(fragility[k]) ? fragility[k] : double.PositiveInfinity;

    /// <summary>The evaluator's per-item fragility of the metric (<see cref="EvaluationResult.Fragility"/>), else its signal.</summary>
    private static double[] FragilityOf(EvaluationResult result, MetricCriterion metric) =>
        result.Fragility.TryGetValue(metric.Name, out var fragility) ? fragility : LayerRanker.SignalOf(result, metric);

    /// <summary>True when decided-early evaluation applies to <paramref name="metric"/> (see <see cref="Best"/>).</summary>
    public static bool Applies(SearchContext ctx, MetricCriterion metric) => Best(ctx, metric) != null;

    /// <summary>
    /// The metric's best per-item value when decided-early evaluation applies to it: on, batch-independent, the metric's
    /// per-item values bounded with a finite best, and every metric of the evaluator an item mean (its value could be
    /// rebuilt in the set's order); else null.
    /// </summary>
    private static double? Best(SearchContext ctx, MetricCriterion metric)
    {
        var bounds = ctx.Session.Evaluator.MeanItemBounds;
        if (!ctx.Options.DecideEarly || !BatchIndependent(ctx) || !bounds.TryGetValue(metric.Name, out var b)
            || ctx.Session.Evaluator.Metrics.Any(m => !bounds.ContainsKey(m.Name)))
            return null;
        double best = metric.Direction == MetricDirection.HigherBetter ? b.Max : b.Min;
        return double.IsFinite(best) ? best : null;
    }

    /// <summary>
    /// False when every candidate quantizes activations at run time from the whole batch (DynamicQuantizeLinear in the
    /// model): an item's outputs then depend on which items share its batch. The dynamic forms of restore_mode
    /// only_activations appear in the dynamic pass alone, whose evaluations are complete (see <see cref="DynamicPass"/>).
    /// </summary>
    public static bool BatchIndependent(SearchContext ctx) => !ctx.Builder.FloatModel.Graph.Node.Any(n => n.OpType == "DynamicQuantizeLinear");

    /// <summary>
    /// The drop of <paramref name="metric"/> an evaluation shows: the full-set drop when it is complete, else the
    /// smallest drop the full set could still give (what decided it; the drop of the items measured first says little
    /// when they are the hardest ones, see <see cref="Order"/>).
    /// </summary>
    /// <param name="total">Items of the set evaluated (a ranking subset's); null = the full set.</param>
    public static double Drop(SearchContext ctx, MetricCriterion metric, EvaluationResult result, int? total = null)
    {
        if (!result.StoppedEarly || !ctx.Session.Evaluator.MeanItemBounds.TryGetValue(metric.Name, out var bounds)
            || !result.PerItem.TryGetValue(metric.Name, out var values))
            return metric.Drop(result.Values[metric.Name]);
        return MinimalDrop(metric, bounds, values, values.Length, total ?? ctx.Session.ItemCount);
    }

    /// <summary>
    /// A stop rule that ends a candidate's evaluation once the driving metric's drop is certain to be above the limit
    /// and above <paramref name="threshold"/> (re-read after each item; +infinity = never): the search decision
    /// cannot change any more. Null when the metric has no per-item bounds or decided-early evaluation is off.
    /// </summary>
    public static Func<int, IReadOnlyDictionary<string, double[]>, bool>? Above(SearchContext ctx, MetricCriterion metric, Func<double> threshold)
    {
        if (!ctx.Options.DecideEarly || !ctx.Session.Evaluator.MeanItemBounds.TryGetValue(metric.Name, out var bounds)) return null;
        int total = ctx.Session.ItemCount;
        // Rounding: the evaluator's mean and this sum may differ in the last bits, so a decision needs a clear margin.
        double margin = 1e-9 * metric.Scale;
        var running = new RunningSum();
        return (measured, perItem) =>
        {
            if (!perItem.TryGetValue(metric.Name, out var values)) return false;
            double drop = MinimalDrop(metric, bounds, running, values, measured, total);
            return drop > metric.MaxDrop + margin && drop > threshold() + margin;
        };
    }

    /// <summary>
    /// The sum and count of the non-NaN values among the first items of an evaluation's per-item array: the stop rule
    /// is asked after every item, so it adds the new ones instead of summing from the start each time (a new array, or
    /// fewer items than before, starts again). Adding in index order gives the same sum either way.
    /// </summary>
    private sealed class RunningSum
    {
        private double[]? _values;
        private int _through;
        private double _sum;
        private int _count;

        public (double Sum, int Count) Through(double[] values, int measured)
        {
            if (!ReferenceEquals(values, _values) || measured < _through)
            {
                _values = values;
                _through = 0;
                _sum = 0;
                _count = 0;
            }
            for (; _through < measured; _through++)
                if (!double.IsNaN(values[_through]))
                {
                    _sum += values[_through];
                    _count++;
                }
            return (_sum, _count);
        }
    }
}
