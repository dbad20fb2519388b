using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// ranking_method auto (the default): Metric ranking on every item, decided early (<see cref="RankingQueue.Decided"/>),
/// where that applies and pays, else Signal ranking. It applies when every item is in the ranking pool
/// (metric_subset_ratio and ranking_subset_size leave none out) and decided-early evaluation works for the driving metric
/// (<see cref="DecidedEarly.Order"/>: means of bounded per-item values). It pays when the fully quantized model already
/// scores at least half of the items at the metric's best value (a 0/1 metric such as exact match or agreement with
/// FP32): a layer's evaluation is then decided once the other items are measured. Measured in bench/Bench-AccuracyAware.ps1
/// NOTES: PaddleOCR's recognizer on 200 lines, 6 layers float either way on the table's lines (72.0 s against 65.9 s)
/// and 6 against 11 on other lines (134.1 s against 190.8 s); its direction classifier (fp32_agreement, maximal_drop
/// 0.006) 4 layers against 8. It is POT's own search path, decided early, so it never reverts more layers than POT's
/// search; Signal ranking can revert fewer (the recognizer at maximal_drop 0.114: 13 against 20) or more, as above. A
/// continuous metric (cosine similarity) leaves no item at its best value, and a ranking on every item of a large set
/// costs more than POT's: both stay with Signal ranking.
/// </summary>
internal static class RankingChoice
{
    /// <summary>Items at the best value, at least this share of all, make Metric ranking on every item pay.</summary>
    public const double AtBestShare = 0.5;

    /// <summary>The method for this run, and one sentence on why (for the log).</summary>
    public static (RankingMethod Method, string Why) Choose(SearchContext ctx, RunBaseline baseline, EvaluationResult quantized)
    {
        var metric = baseline.Criteria.MostViolated(quantized.Values);
        int items = ctx.Session.ItemCount;
        int subset = ctx.Options.RankingSubsetSize ?? SearchRankings.DefaultSubsetSize(RankingMethod.Metric);
        const string Signal = "Signal (ranking_method auto): ";
        if (baseline.Pool.Count != items || subset < items)
            return (RankingMethod.Signal, Signal + $"a Metric ranking would not cover every item ({Math.Min(subset, baseline.Pool.Count)} of {items}).");
        if (DecidedEarly.Order(ctx, metric, quantized) == null)
            return (RankingMethod.Signal, Signal + $"a Metric ranking on every item could not be decided early for {metric.Name}.");
        var bounds = ctx.Session.Evaluator.MeanItemBounds[metric.Name];
        double best = metric.Direction == MetricDirection.HigherBetter ? bounds.Max : bounds.Min;
        int atBest = quantized.PerItem[metric.Name].Count(v => v == best);
        string share = $"the fully quantized model scores {atBest} of {items} items at {metric.Name}'s best value ({SearchContext.F(best)})";
        return atBest >= AtBestShare * items
            ? (RankingMethod.Metric, $"Metric on every item, decided early (ranking_method auto): {share}.")
            : (RankingMethod.Signal, Signal + share + ", too few for a Metric ranking to be decided early.");
    }
}
