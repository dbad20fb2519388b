namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// The search with Signal ranking: the top <see cref="AccuracyAwareOptions.ConfirmOnFullSet"/> layers of the ranking are
/// each reverted and evaluated on the full set, and the best of them (the first that meets the target, else the
/// smallest drop, ties to the higher rank) is the step. Its outcome follows <see cref="GreedySearch"/>'s rules: kept
/// when the drop does not grow (or after a roll-back, or without use_prev_if_drop_increase), otherwise rolled back.
/// A roll-back does not rank again: the model is unchanged, so the next layers of the same ranking are confirmed, and
/// the best of them is kept even if worse (POT's step back). A ranking is made at the start, after a kept revert that
/// made the drop larger, when another metric takes over, and when one is used up.
/// Decided-early evaluation (<see cref="DecidedEarly"/>) stops a confirmation once it can neither meet the target nor
/// be the step (it cannot beat the best confirmation so far, or it is certain to be rolled back): the path is the one
/// complete evaluations give.
/// </summary>
internal static class ConfirmedSearch
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
        int maxIterations = options.MaxIterations ?? int.MaxValue;
        int confirm = Math.Max(1, options.ConfirmOnFullSet);
        ctx.Log($"Search: {layerCount} quantized layers, {current.Reverted.Count} already float; optimizing {metric.Name}; "
            + $"the top {confirm} of each ranking confirmed on the full set; max_iter_num {(options.MaxIterations?.ToString() ?? "none")}.");

        List<LayerRank>? ranking = null;
        bool rankingFresh = false;
        bool stepBack = false;
        int iterations = 0;
        using var _ = ctx.Stages.Stage("Search");
        while (true)
        {
            if (current.Reverted.Count >= layerCount)
                return "Every quantized layer has been reverted";
            if (iterations >= maxIterations)
                return $"Reached max_iter_num ({maxIterations} iterations)";
            if (ranking == null || ranking.Count == 0)
            {
                if (ranking != null && rankingFresh)
                    return "Every remaining layer was tried on the current model";
                ranking = ctx.Rank(current, current, currentResult, metric).Layers.ToList();
                rankingFresh = true;
            }
            var top = ranking.Take(confirm).ToList();
            ranking.RemoveRange(0, top.Count);
            iterations++;

            // Confirm the top layers on the full set, best first.
            (LayerRank Pick, ModelCandidate Model, Evaluation.EvaluationResult Result, double Drop)? best = null;
            var tried = new List<(LayerRank Pick, Evaluation.EvaluationResult Result, double Drop)>();
            bool singleMetric = criteria.Metrics.Count == 1;
            bool canRollBack = !stepBack && options.UsePreviousIfDropIncrease;
            foreach (var pick in top)
            {
                ctx.Report($"Iteration {iterations}: reverting {pick.Layer} ({tried.Count + 1} of {top.Count} confirmed on the full set)", PotProgress.Percent(current.Reverted.Count, layerCount));
                var candidate = current.With(pick.Layer);
                // Stop once this one can neither meet the target nor be the step: certain to be rolled back, or (one
                // metric, so the drop orders candidates as the best-model tracker does) unable to beat the best so far.
                var stop = DecidedEarly.Above(ctx, metric, () => Math.Min(
                    canRollBack ? previousDrop : double.PositiveInfinity,
                    best is { } b && singleMetric ? b.Drop : double.PositiveInfinity));
                var result = ctx.Session.EvaluateUntilDecided(candidate, stop);
                double drop = metric.Drop(result.Values[metric.Name]);
                if (pick == top[0])
                {
                    ctx.RankTrials++;
                    if (!result.StoppedEarly && drop < previousDrop) ctx.RankHits++;
                }
                tried.Add((pick, result, drop));
                if (result.StoppedEarly) continue;
                bool met = criteria.AllMet(result.Values);
                if (best == null || met || drop < best.Value.Drop) best = (pick, candidate, result, drop);
                if (met) break;
            }

            bool keep = best is { } chosen && (criteria.AllMet(chosen.Result.Values) || metric.WithinLimit(chosen.Drop)
                || chosen.Drop <= previousDrop || stepBack || !options.UsePreviousIfDropIncrease);
            foreach (var t in tried)
            {
                var action = keep && t.Pick == best!.Value.Pick ? IterationAction.Reverted
                    : keep ? IterationAction.Outranked : IterationAction.RolledBack;
                if (action == IterationAction.Reverted)
                    ctx.Picks[t.Pick.Layer] = new RevertedLayer(t.Pick.Layer, t.Pick.OpType, t.Pick.Score, t.Pick.Method, ctx.Iterations.Count + 1);
                Record(ctx, t.Pick.Layer, metric, previousDrop, t.Drop, t.Result, action, action == IterationAction.Reverted ? current.Reverted.Count + 1 : current.Reverted.Count);
            }
            if (!keep)
            {
                // Every confirmed layer made the drop larger: keep the model, and take the next layers of the same ranking.
                stepBack = true;
                continue;
            }
            var step = best!.Value;
            bool increased = step.Drop > previousDrop;
            current = step.Model;
            currentResult = step.Result;
            stepBack = false;
            rankingFresh = false;
            if (criteria.AllMet(step.Result.Values)) return null;
            // Confirmed layers that were not kept go back to the front, to be confirmed on the new model.
            ranking.InsertRange(0, top.Where(t => t != step.Pick));
            if (metric.WithinLimit(step.Drop))
            {
                var satisfied = metric;
                metric = criteria.MostViolated(step.Result.Values);
                ctx.Log($"  {satisfied.Name} is within its limit; now optimizing {metric.Name}.");
                previousDrop = metric.Drop(step.Result.Values[metric.Name]);
                ranking = null;
                continue;
            }
            previousDrop = step.Drop;
            if (increased) ranking = null;
        }
    }

    private static void Record(SearchContext ctx, string layer, MetricCriterion metric, double before, double after, Evaluation.EvaluationResult result, IterationAction action, int reverted)
    {
        bool met = !result.StoppedEarly && ctx.Criteria.AllMet(result.Values);
        var iteration = new AccuracyAwareIteration(ctx.Iterations.Count + 1, "Search", layer, metric.Name, before, after, met, action, reverted)
        {
            DecidedEarly = result.StoppedEarly,
            Items = result.Items.Count,
        };
        ctx.Iterations.Add(iteration);
        string verb = action switch { IterationAction.Reverted => "kept", IterationAction.Outranked => "outranked", _ => "rolled back" };
        string what = result.StoppedEarly
            ? $"decided after {result.Items.Count} of {ctx.Session.ItemCount} items (drop certain to stay above {SearchContext.F(Math.Min(before, after))})"
            : $"{metric.Name} drop {SearchContext.F(before)} -> {SearchContext.F(after)}; {ctx.Describe(result.Values)}";
        ctx.Log($"Iteration {iteration.Index}: reverted {layer}: {what}, {verb}.");
    }
}
