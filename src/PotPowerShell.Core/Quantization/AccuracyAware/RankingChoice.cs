using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// ranking_method auto (the default): Metric ranking, POT's, where the fully quantized model already scores at least
/// half of the items at the driving metric's best value (a 0/1 metric such as exact match or agreement with FP32),
/// else Signal ranking. Where every item is in the ranking pool (metric_subset_ratio and ranking_subset_size leave none
/// out) the Metric ranking runs on every item, decided early (<see cref="RankingQueue.Decided"/>): a layer's evaluation
/// is decided once the items the model falls short on are measured, so it needs decided-early evaluation to apply to
/// the metric (<see cref="DecidedEarly.Order"/>: means of bounded per-item values), else Signal. On a larger set it runs,
/// as POT's does, on the ranking_subset_size items (300) the current model gets most wrong.
/// Measured in bench/Bench-AccuracyAware.ps1 NOTES. PaddleOCR's recognizer on 200 lines: 6 layers float either way on the
/// table's lines (72.0 s against 65.9 s), 6 against 11 on other lines (134.1 s against 190.8 s); its direction
/// classifier (fp32_agreement, maximal_drop 0.006) 4 against 8. On 1000 lines, ranked on the 300 hardest: the
/// recognizer 6 against 8 (103.8 s against 168.8 s), on lines no two alike 12 against 9, 10 and 7 for -Seed 0 to 2; the
/// classifier on lines no two alike 12 against 9, 19 and 17 for -Seed 0 to 2. A Metric ranking takes POT's own search
/// path (the same models as POT's search, whatever the seed), so it never reverts more layers than POT's search;
/// Signal ranking can revert fewer (as on the recognizer's distinct lines, or at maximal_drop 0.114: 13 against 20) or
/// more. A continuous metric (cosine similarity) leaves no item at its best value: it keeps Signal ranking, which
/// ranks it well at a sixth of the inferences.
/// </summary>
internal static class RankingChoice
{
    /// <summary>Items at the best value, at least this share of all, make a Metric ranking the choice.</summary>
    public const double AtBestShare = 0.5;

    /// <summary>The method for this run, and one sentence on why (for the log).</summary>
    public static (RankingMethod Method, string Why) Choose(SearchContext ctx, RunBaseline baseline, EvaluationResult quantized)
    {
        var metric = baseline.Criteria.MostViolated(quantized.Values);
        int items = ctx.Session.ItemCount;
        const string Signal = "Signal (ranking_method auto): ";
        if (!ctx.Session.Evaluator.MeanItemBounds.TryGetValue(metric.Name, out var bounds) || !quantized.PerItem.TryGetValue(metric.Name, out var values))
            // A metric over the whole data set (map, mean_iou) has no per-item signal either: its ranks are scored by
            // the metric on the ranking subset (their Method says Metric), in the Signal search.
            return (RankingMethod.Signal, Signal + $"{metric.Name} is not a mean of bounded per-item values" +
                (ItemSelection.HasPerItem(quantized, metric.Name) ? "." : $"; it has no per-item values, so layers are scored by {metric.Name} itself on the ranking subset (ranks with Method Metric)."));
        double best = metric.Direction == MetricDirection.HigherBetter ? bounds.Max : bounds.Min;
        int atBest = values.Count(v => v == best);
        string share = $"the fully quantized model scores {atBest} of {items} items at {metric.Name}'s best value ({SearchContext.F(best)})";
        if (atBest < AtBestShare * items)
            return (RankingMethod.Signal, Signal + share + ", too few for a Metric ranking to pay.");
        int subset = Math.Min(ctx.Options.RankingSubsetSize ?? SearchRankings.DefaultSubsetSize(RankingMethod.Metric), baseline.Pool.Count);
        if (subset < items)
            return (RankingMethod.Metric, $"Metric on the {subset} items the current model gets most wrong, as POT ranks (ranking_method auto): {share}.");
        return DecidedEarly.Order(ctx, metric, quantized) == null
            ? (RankingMethod.Signal, Signal + $"a Metric ranking on every item could not be decided early for {metric.Name}.")
            : (RankingMethod.Metric, $"Metric on every item, decided early (ranking_method auto): {share}.");
    }
}
