using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// POT's scope search: revert the top-ranked layer, evaluate on the full set, and decide.
/// <list type="bullet">
/// <item>All metrics met: done.</item>
/// <item>The driving metric met but another not: keep the revert, switch to the metric now furthest past its limit, re-rank.</item>
/// <item>Drop not larger than before (or the previous step was a roll-back): keep it, take the next layer of the same ranking.</item>
/// <item>Drop larger: with use_prev_if_drop_increase, restore the previous model and re-rank on the items the rejected
/// model got wrong (the next revert is then kept even if worse, as in POT); without it, keep the revert and re-rank.</item>
/// </list>
/// Unlike POT, the drop compared against after a roll-back is that of the restored model, the best model evaluated
/// is tracked separately from the current one, and the layer just rolled back is not the next one reverted (the new
/// ranking often puts it first again, and POT would then keep that known-worse model), unless it is the only one left.
/// </summary>
internal static class GreedySearch
{
    /// <returns>Why the search stopped (null when the target was met).</returns>
    public static string? Run(SearchContext ctx, ref ModelCandidate current)
    {
        var options = ctx.Options;
        var criteria = ctx.Criteria;
        var currentResult = ctx.Session.Evaluate(current, null, mandatory: true);
        var metric = criteria.MostViolated(currentResult.Values);
        double previousDrop = metric.Drop(currentResult.Values[metric.Name]);
        int layerCount = current.Source.Builder.Layers.Count;
        // POT's max_iter_num default is sys.maxsize: no cap (the search still ends, every kept revert adds a float layer).
        int maxIterations = options.MaxIterations ?? int.MaxValue;
        ctx.Log($"Search: {layerCount} quantized layers, {current.Reverted.Count} already float; optimizing {metric.Name}; max_iter_num {(options.MaxIterations?.ToString() ?? "none")}.");

        // Ranking happens lazily at the top of the loop, so no ranking runs once max_iter_num is reached.
        Queue<LayerRank>? ranking = null;
        IReadOnlyList<int> subset = Array.Empty<int>();
        (ModelCandidate Model, EvaluationResult Result) rankOn = (current, currentResult);
        bool stepBack = false;
        string? rejected = null;
        int iterations = 0;
        using var _ = ctx.Stages.Stage("Search");
        while (true)
        {
            if (current.Reverted.Count >= layerCount)
                return "Every quantized layer has been reverted";
            if (iterations >= maxIterations)
                return $"Reached max_iter_num ({maxIterations} iterations)";
            if (ranking == null)
            {
                var ranked = ctx.Rank(current, rankOn.Model, rankOn.Result, metric);
                (ranking, subset) = (new Queue<LayerRank>(ranked.Layers), ranked.Items!);
            }
            // OutputError: only layers the metric confirmed are reverted. Once those are used up, the next ones in
            // output-error order are confirmed on the current model before one is picked.
            else if (ranking.Count > 0 && ranking.Peek().Method == RankingMethod.OutputError && options.ConfirmTopLayers > 0)
                ranking = new Queue<LayerRank>(ctx.Confirm(current, ranking.ToList(), subset, metric));
            if (ranking.Count == 0)
                return "Every quantized layer has been reverted";
            var pick = ranking.Dequeue();
            if (stepBack && pick.Layer == rejected && ranking.Count > 0)
            {
                ctx.Log($"  {pick.Layer} was just rolled back; trying {ranking.Peek().Layer} instead.");
                pick = ranking.Dequeue();
            }
            var candidate = current.With(pick.Layer);
            ctx.Report($"Iteration {iterations + 1}: reverting {pick.Layer}", PotProgress.Percent(current.Reverted.Count, layerCount));
            var result = ctx.Session.Evaluate(candidate, null);
            iterations++;
            ctx.Picks[pick.Layer] = new RevertedLayer(pick.Layer, pick.OpType, pick.Score, pick.Method, ctx.Iterations.Count + 1);
            double drop = metric.Drop(result.Values[metric.Name]);
            bool met = criteria.AllMet(result.Values);
            ctx.RankTrials++;
            if (drop < previousDrop) ctx.RankHits++;
            bool withinLimit = metric.WithinLimit(drop);

            if (met || withinLimit || drop <= previousDrop || stepBack || !options.UsePreviousIfDropIncrease)
            {
                Record(ctx, pick.Layer, metric, previousDrop, drop, met, IterationAction.Reverted, candidate.Reverted.Count, result);
                bool increased = drop > previousDrop && !stepBack;
                current = candidate;
                stepBack = false;
                if (met) return null;
                if (withinLimit)
                {
                    // The driving metric is satisfied but another one is not: optimize that one on a fresh ranking.
                    var satisfied = metric;
                    metric = criteria.MostViolated(result.Values);
                    ctx.Log($"  {satisfied.Name} is within its limit; now optimizing {metric.Name}.");
                    previousDrop = metric.Drop(result.Values[metric.Name]);
                    (ranking, rankOn) = (null, (current, result));
                    continue;
                }
                previousDrop = drop;
                // Without use_prev_if_drop_increase a worse revert is kept, and the layers are ranked again on the new model.
                if (increased) (ranking, rankOn) = (null, (current, result));
                continue;
            }

            Record(ctx, pick.Layer, metric, previousDrop, drop, met, IterationAction.RolledBack, current.Reverted.Count, result);
            stepBack = true;
            rejected = pick.Layer;
            (ranking, rankOn) = (null, (candidate, result));
        }
    }

    private static void Record(SearchContext ctx, string layer, MetricCriterion metric, double before, double after, bool met, IterationAction action, int reverted, EvaluationResult result)
    {
        var iteration = new AccuracyAwareIteration(ctx.Iterations.Count + 1, "Search", layer, metric.Name, before, after, met, action, reverted) { Items = result.Items.Count };
        ctx.Iterations.Add(iteration);
        string verb = action == IterationAction.Reverted ? "kept" : "rolled back";
        ctx.Log($"Iteration {iteration.Index}: reverted {layer}: {metric.Name} drop {SearchContext.F(before)} -> {SearchContext.F(after)}, {verb}; {ctx.Describe(result.Values)}.");
    }
}
