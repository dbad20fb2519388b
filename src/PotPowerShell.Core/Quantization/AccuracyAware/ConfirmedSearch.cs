using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// The search with Signal ranking. Where the ranking predicts that several layers are needed, they are reverted in one
/// step (<see cref="GroupStep"/>: kept when it lowers the drop, else rolled back, and single steps follow until the next
/// ranking). A single step: the top <see cref="AccuracyAwareOptions.ConfirmOnFullSet"/> layers of the ranking are
/// each reverted and evaluated on the full set, and the best of them (the first that meets the target, else the
/// smallest drop, ties to the higher rank) is the step. Its outcome follows <see cref="GreedySearch"/>'s rules: kept
/// when the drop does not grow (or after a roll-back, or without use_prev_if_drop_increase), otherwise rolled back.
/// A roll-back does not rank again: the model is unchanged, so the next layers of the same ranking are confirmed, and
/// the best of them is kept even if worse (POT's step back), but only from a ranking made on the current model: when the
/// ranking is older than the last kept revert, the search ranks again first. A group is predicted only from a ranking
/// made on the current model or calibrated by a group kept on it: after single steps the remaining scores are those of
/// an earlier model (the transformer case of bench/Bench-AccuracyAware.ps1 reverted a group of seven such layers and
/// ended with 12 float against POT-style's 10; ranked again first, 10). A ranking is made at the start, after a kept
/// revert that made the drop larger, before such a step back or group, when another metric takes over, and when one is
/// used up.
/// Decided-early evaluation (<see cref="DecidedEarly"/>) stops a confirmation once it can neither meet the target nor
/// be the step (it cannot beat the best confirmation so far, or it is certain to be rolled back): the path is the one
/// complete evaluations give.
/// </summary>
internal static class ConfirmedSearch
{
    /// <summary>Searches from <paramref name="current"/>; the outcome's stop says why it stopped (null when the target was met).</summary>
    public static SearchOutcome Run(SearchContext ctx, RunBaseline baseline, ModelCandidate current)
    {
        int confirm = Math.Max(1, ctx.Options.ConfirmOnFullSet);
        var state = SearchState.Start(ctx, baseline, current, $"the top {confirm} of each ranking confirmed on the full set; ");
        var rankings = new SearchRankings(ctx, baseline);
        try
        {
            using var _ = ctx.Stages.Stage("Search");
            return state.Outcome(Loop(ctx, state, rankings, confirm), rankings);
        }
        catch (BudgetExhaustedException e)
        {
            return state.Outcome(null, rankings).Exhausted(e);
        }
    }

    private static string? Loop(SearchContext ctx, SearchState state, SearchRankings rankings, int confirm)
    {
        var criteria = state.Criteria;
        List<LayerRank>? ranking = null;
        bool rankingFresh = false;
        var groups = new GroupStep();
        while (true)
        {
            if (state.StopReason() is { } stop) return stop;
            if (ranking == null || ranking.Count == 0)
            {
                if (ranking != null && rankingFresh)
                    return "Every remaining layer was tried on the current model";
                ranking = rankings.Rank(state.Current, state.Current, state.CurrentResult, state.Metric).Layers.ToList();
                rankingFresh = true;
                groups.Ranked();
            }
            if (!state.StepBack && groups.Next(ranking, state.Metric, state.PreviousDrop) is { } group)
            {
                if (!rankingFresh && !groups.Calibrated)
                {
                    // No group was kept on this ranking, so nothing measured how its scores hold on the current model.
                    ctx.Log($"  The ranking predicts a group of {group.Count} layers but predates the last kept revert: ranking again on the current model first.");
                    ranking = null;
                    continue;
                }
                var outcome = Group(ctx, state, group, groups);
                if (outcome == GroupOutcome.Met) return null;
                if (outcome != GroupOutcome.RolledBack)
                {
                    ranking.RemoveRange(0, group.Count);
                    rankingFresh = false;
                    // Another metric took over: its ranking is another one.
                    if (outcome == GroupOutcome.Switched) ranking = null;
                }
                continue;
            }
            var top = ranking.Take(confirm).ToList();
            ranking.RemoveRange(0, top.Count);
            state.Iterations++;

            // Confirm the top layers on the full set, best first.
            var metric = state.Metric;
            (LayerRank Pick, ModelCandidate Model, EvaluationResult Result, double Drop)? best = null;
            var tried = new List<(LayerRank Pick, EvaluationResult Result, double Drop)>();
            bool singleMetric = criteria.Metrics.Count == 1;
            bool canRollBack = !state.StepBack && ctx.Options.UsePreviousIfDropIncrease;
            var order = DecidedEarly.Order(ctx, metric, state.CurrentResult);
            for (int k = 0; k < top.Count; k++)
            {
                var pick = top[k];
                ctx.Report($"Iteration {state.Iterations}: reverting {pick.Layer} ({tried.Count + 1} of {top.Count} confirmed on the full set)",
                    PotProgress.Percent(state.Current.Reverted.Count, state.LayerCount));
                var candidate = state.Current.With(pick.Layer);
                // Stop once this one can neither meet the target nor be the step: certain to be rolled back, or (one
                // metric, so the drop orders candidates as the best-model tracker does) unable to beat the best so far.
                var decided = DecidedEarly.Above(ctx, metric, () => Math.Min(
                    canRollBack ? state.PreviousDrop : double.PositiveInfinity,
                    best is { } b && singleMetric ? b.Drop : double.PositiveInfinity));
                var result = ctx.Session.EvaluateUntilDecided(candidate, decided, next: k + 1 < top.Count ? state.Current.With(top[k + 1].Layer) : null, order);
                double drop = DecidedEarly.Drop(ctx, metric, result);
                if (pick == top[0]) state.Trial(!result.StoppedEarly && drop < state.PreviousDrop);
                tried.Add((pick, result, drop));
                if (result.StoppedEarly) continue;
                bool met = criteria.AllMet(result.Values);
                if (best == null || met || drop < best.Value.Drop) best = (pick, candidate, result, drop);
                if (met) break;
            }

            bool keep = best is { } chosen && state.Keeps(chosen.Result, chosen.Drop);
            // Keeping a larger drop is the last resort; a ranking made before the last kept revert no longer says what
            // helps (OcrRec, bench/Bench-AccuracyAware.ps1: -Seed 0 to 4 reverted 41 layers this way against 45).
            bool rankAgain = keep && !rankingFresh && state.StepsBackTo(best!.Value.Result, best.Value.Drop);
            if (rankAgain) keep = false;
            foreach (var t in tried)
            {
                var action = keep && t.Pick == best!.Value.Pick ? IterationAction.Reverted
                    : keep ? IterationAction.Outranked : IterationAction.RolledBack;
                if (action == IterationAction.Reverted)
                    state.Picked(t.Pick);
                state.Record(t.Pick.Layer, t.Drop, t.Result, action, action == IterationAction.Reverted ? state.Current.Reverted.Count + 1 : state.Current.Reverted.Count);
            }
            if (!keep)
            {
                // Every confirmed layer made the drop larger: keep the model, and take the next layers of the same ranking
                // (or of a new one, before stepping back from a stale one).
                if (rankAgain)
                {
                    ctx.Log("  Every confirmed layer makes the drop larger and the ranking predates the last kept revert: ranking again on the current model before stepping back.");
                    ranking = null;
                }
                state.StepBack = true;
                continue;
            }
            var step = best!.Value;
            bool increased = step.Drop > state.PreviousDrop;
            bool switched = state.Accept(step.Model, step.Result, step.Drop);
            rankingFresh = false;
            if (criteria.AllMet(step.Result.Values)) return null;
            // Confirmed layers that were not kept go back to the front, to be confirmed on the new model.
            ranking.InsertRange(0, top.Where(t => t != step.Pick));
            if (switched || increased) ranking = null;
        }
    }

    private enum GroupOutcome { Met, Kept, Switched, RolledBack }

    /// <summary>
    /// One group step (<see cref="GroupStep"/>): kept when it lowers the drop, else rolled back (decided early once it
    /// is certain not to). Either way it is one iteration and one rank trial.
    /// </summary>
    private static GroupOutcome Group(SearchContext ctx, SearchState state, IReadOnlyList<LayerRank> group, GroupStep groups)
    {
        var metric = state.Metric;
        double before = state.PreviousDrop;
        state.Iterations++;
        ctx.Report($"Iteration {state.Iterations}: reverting the {group.Count} layers the ranking predicts the target needs",
            PotProgress.Percent(state.Current.Reverted.Count, state.LayerCount));
        var candidate = group.Aggregate(state.Current, (c, r) => c.With(r.Layer));
        var result = ctx.Session.EvaluateUntilDecided(candidate, DecidedEarly.Above(ctx, metric, () => before),
            order: DecidedEarly.Order(ctx, metric, state.CurrentResult));
        double drop = DecidedEarly.Drop(ctx, metric, result);
        bool lowered = !result.StoppedEarly && drop < before;
        state.Trial(lowered);
        string layers = string.Join(", ", group.Select(r => r.Layer));
        ctx.Log($"  The ranking's scores of {layers} add up to {SearchContext.F(GroupStep.Scores(group))} "
            + $"(scaled {SearchContext.F(groups.Predicted(group))}); the drop is {SearchContext.F(before - metric.MaxDrop)} above the limit.");
        if (!lowered)
        {
            state.Record(layers, drop, result, IterationAction.RolledBack, state.Current.Reverted.Count);
            groups.RolledBack();
            return GroupOutcome.RolledBack;
        }
        foreach (var r in group) state.Picked(r);
        state.Record(layers, drop, result, IterationAction.Reverted, candidate.Reverted.Count);
        groups.Kept(group, before - drop);
        bool switched = state.Accept(candidate, result, drop);
        return state.Criteria.AllMet(result.Values) ? GroupOutcome.Met : switched ? GroupOutcome.Switched : GroupOutcome.Kept;
    }
}
