using PotPowerShell.Core.Results;
using PotPowerShell.Core.Evaluation;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// What the baseline stage of a run establishes, fixed for every later stage: the watched metrics with their baselines
/// and limits, the items compared per item between FP32 and INT8 (all, or the metric_subset_ratio sample when
/// baselines are given), and FP32 on those items.
/// </summary>
internal sealed class RunBaseline
{
    private readonly Lazy<EvaluationResult> _floatOnPool;

    /// <param name="floatOnPool">FP32 on <paramref name="pool"/>: evaluated on first use only (a run that never needs it
    /// does not evaluate it), then kept. A failed evaluation (budget, cancellation) is not kept.</param>
    public RunBaseline(MetricCriteria criteria, IReadOnlyList<int> pool, Func<EvaluationResult> floatOnPool)
    {
        Criteria = criteria;
        Pool = pool;
        _floatOnPool = new Lazy<EvaluationResult>(floatOnPool, LazyThreadSafetyMode.PublicationOnly);
    }

    public MetricCriteria Criteria { get; }

    /// <summary>Items compared per item between FP32 and INT8: all, or the metric_subset_ratio sample when baselines are given.</summary>
    public IReadOnlyList<int> Pool { get; }

    /// <summary>FP32 evaluated on the pool: from the baseline when it covered everything, else evaluated on first use (once).</summary>
    public EvaluationResult FloatOnPool() => _floatOnPool.Value;

    /// <summary>Each metric's value, drop and limit, for the log.</summary>
    public string Describe(IReadOnlyDictionary<string, double> values) =>
        string.Join(", ", Criteria.Metrics.Select(m => $"{m.Name} {SearchContext.F(values[m.Name])} (drop {SearchContext.F(m.Drop(values[m.Name]))}, max {SearchContext.F(m.MaxDrop)})"));

    /// <summary>
    /// The baseline stage: FP32 on the full set, or, when every metric has a baseline_value, the configured baselines
    /// and a seeded metric_subset_ratio sample of items for per-item comparisons (FP32 is then evaluated on that sample
    /// only if needed).
    /// </summary>
    public static RunBaseline Evaluate(SearchContext ctx)
    {
        using var _ = ctx.Stages.Stage("Baseline");
        var options = ctx.Options;
        var session = ctx.Session;
        int count = session.ItemCount;
        if (MetricCriteria.AllBaselinesGiven(options))
        {
            var criteria = MetricCriteria.Create(options, session.Evaluator.Metrics, null);
            var pool = ItemSelection.SampleSubset(count, options.MetricSubsetRatio, ctx.Seed);
            ctx.Log($"Baseline from metrics[].baseline_value: {string.Join(", ", criteria.Metrics.Select(m => $"{m.Name} {SearchContext.F(m.Baseline)}"))}; "
                + $"per-item comparisons on {pool.Count} of {count} items (metric_subset_ratio {SearchContext.F(options.MetricSubsetRatio)}, seed {ctx.Seed}).");
            WarnIfAnyModelMeets(ctx, criteria, session.Evaluator.MeanItemBounds);
            return new RunBaseline(criteria, pool, () => session.EvaluateFloat(ctx.Builder, pool.Count == session.ItemCount ? null : pool, mandatory: false));
        }
        if (options.Metrics.Any(m => m.BaselineValue.HasValue))
            ctx.Log("Not every metric has a baseline_value, so the FP32 model is evaluated and the given values are ignored (as POT does).");
        ctx.Report("Evaluating the FP32 model");
        var fp32 = session.EvaluateFloat(ctx.Builder, null, mandatory: true);
        CheckValues(session, fp32);
        if (fp32.NonFiniteItems > 0)
            ctx.Warn($"The FP32 model gave NaN or Inf outputs on {fp32.NonFiniteItems} of {count} validation items (first item {fp32.FirstNonFiniteItem}): " +
                "every metric scores them at its worst value, and metrics compared with FP32's outputs do so for every model, so they lower the baseline and cannot tell quantized models apart. Check those items and the model.");
        var measured = new RunBaseline(MetricCriteria.Create(options, session.Evaluator.Metrics, fp32.Values), Enumerable.Range(0, count).ToArray(), () => fp32);
        // A watched metric without a value has no drop: every model would look the same (or none would meet the target).
        if (measured.Criteria.Metrics.FirstOrDefault(m => double.IsNaN(m.Baseline)) is { } unscored)
            throw new PotException("BaselineNoValue", PotErrorCategory.InvalidData,
                $"On the FP32 model, {session.Evaluator.NoValue(unscored.Name, count)} AccuracyAwareQuantization measures drops from that baseline, so it has nothing to go by.", unscored.Name);
        ctx.Log($"FP32 baseline on {count} items: {string.Join(", ", measured.Criteria.Metrics.Select(m => $"{m.Name} {SearchContext.F(m.Baseline)}"))}.");
        foreach (var m in measured.Criteria.Metrics)
            if (NearWorst(m, session.Evaluator.MeanItemBounds) is { } worst)
                ctx.Warn($"The FP32 model scores {m.Name} {SearchContext.F(m.Baseline)} on the {count} validation items, at or near the worst value the metric has ({SearchContext.F(worst)}): " +
                    "a quantized model can hardly score lower, so the target is met whatever quantization does. Check that the labels belong to this model: their class order, " +
                    "and an offset such as a background class (label_offset: 1 in the engine's dataset, has_background in Accuracy Checker's).");
        WarnIfAnyModelMeets(ctx, measured.Criteria, session.Evaluator.MeanItemBounds);
        return measured;
    }

    /// <summary>
    /// A limit no model can break: the allowed drop takes the metric from its baseline to its worst value (maximal_drop 1
    /// on top-1 accuracy, typed as a percentage). Not said again for a baseline already at the worst value (<see cref="NearWorst"/>).
    /// </summary>
    private static void WarnIfAnyModelMeets(SearchContext ctx, MetricCriteria criteria, IReadOnlyDictionary<string, (double Min, double Max)> bounds)
    {
        foreach (var m in criteria.Metrics)
        {
            if (!bounds.TryGetValue(m.Name, out var b) || !double.IsFinite(b.Min) || !double.IsFinite(b.Max) || b.Max <= b.Min || NearWorst(m, bounds) != null) continue;
            double worst = m.Direction == MetricDirection.HigherBetter ? b.Min : b.Max;
            if (m.WithinLimit(m.Drop(worst)))
                ctx.Warn($"The allowed drop of {m.Name} ({SearchContext.F(m.MaxDrop)} from {SearchContext.F(m.Baseline)}) reaches its worst value ({SearchContext.F(worst)}): every model meets the target, " +
                    "so the fully quantized one is kept as it is. maximal_drop is in the metric's own units (0.01 is one point of top-1 accuracy), or with drop_type relative a fraction of the baseline.");
        }
    }

    /// <summary>
    /// The metric's worst per-item value when FP32's score is within <see cref="NearWorstShare"/> of the metric's range
    /// from it (labels that do not belong to the model: another class order, or shifted by a background class, score
    /// at chance level, 0.001 on 1000 classes); null otherwise, or for a metric without finite bounds.
    /// </summary>
    private static double? NearWorst(MetricCriterion metric, IReadOnlyDictionary<string, (double Min, double Max)> bounds)
    {
        if (!bounds.TryGetValue(metric.Name, out var b) || !double.IsFinite(b.Min) || !double.IsFinite(b.Max) || b.Max <= b.Min) return null;
        double worst = metric.Direction == MetricDirection.HigherBetter ? b.Min : b.Max;
        return Math.Abs(metric.Baseline - worst) <= NearWorstShare * (b.Max - b.Min) ? worst : null;
    }

    /// <summary>How close to the worst value an FP32 score is suspect: 1 % of the metric's range (top-1 accuracy at most 0.01).</summary>
    public const double NearWorstShare = 0.01;

    private static void CheckValues(EvaluationSession session, EvaluationResult result)
    {
        foreach (var m in session.Evaluator.Metrics)
            if (!result.Values.ContainsKey(m.Name))
                throw new PotException("MetricMissing", PotErrorCategory.InvalidData,
                    $"The evaluator declared metric '{m.Name}' but returned no value for it.", m.Name);
    }
}
