using PotPowerShell.Core.Config;
using PotPowerShell.Core.Results;

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
/// The rules it shares with <see cref="ConfirmedSearch"/> live in <see cref="SearchState"/>.
/// </summary>
internal static class GreedySearch
{
    /// <summary>Searches from <paramref name="current"/>; the outcome's stop says why it stopped (null when the target was met).</summary>
    public static SearchOutcome Run(SearchContext ctx, RunBaseline baseline, ModelCandidate current)
    {
        var state = SearchState.Start(ctx, baseline, current, "");
        var rankings = new SearchRankings(ctx, baseline);
        try
        {
            using var _ = ctx.Stages.Stage("Search");
            return state.Outcome(Loop(ctx, state, rankings), rankings);
        }
        catch (BudgetExhaustedException e)
        {
            return state.Outcome(null, rankings).Exhausted(e);
        }
    }

    private static string? Loop(SearchContext ctx, SearchState state, SearchRankings rankings)
    {
        // Ranking happens lazily at the top of the loop, so no ranking runs once max_iter_num is reached.
        RankingQueue? ranking = null;
        IReadOnlyList<int> subset = Array.Empty<int>();
        var rankOn = (Model: state.Current, Result: state.CurrentResult);
        string? rejected = null;
        while (true)
        {
            if (state.StopReason() is { } stop) return stop;
            if (ranking == null)
            {
                (ranking, subset) = rankings.RankQueue(state.Current, rankOn.Model, rankOn.Result, state.CurrentResult, state.Metric);
            }
            // OutputError: only layers the metric confirmed are reverted. Once those are used up, the next ones in
            // output-error order are confirmed on the current model before one is picked.
            else if (ranking.Count > 0 && ranking.Peek().Method == RankingMethod.OutputError && ctx.Options.ConfirmTopLayers > 0)
                ranking = RankingQueue.Of(rankings.Confirm(state.Current, ranking.DequeueAll(), subset, state.Metric));
            if (ranking.Count == 0)
                return "Every quantized layer has been reverted";
            var pick = ranking.Dequeue();
            if (state.StepBack && pick.Layer == rejected && ranking.Count > 0)
            {
                ctx.Log($"  {pick.Layer} was just rolled back; trying {ranking.Peek().Layer} instead.");
                pick = ranking.Dequeue();
            }
            var candidate = state.Current.With(pick.Layer);
            ctx.Report($"Iteration {state.Iterations + 1}: reverting {pick.Layer}", PotProgress.Percent(state.Current.Reverted.Count, state.LayerCount));
            var result = ctx.Session.Evaluate(candidate, null);
            state.Iterations++;
            state.Picked(pick);
            double drop = state.Metric.Drop(result.Values[state.Metric.Name]);
            state.Trial(drop < state.PreviousDrop);

            if (state.Keeps(result, drop))
            {
                state.Record(pick.Layer, drop, result, IterationAction.Reverted, candidate.Reverted.Count);
                // Without use_prev_if_drop_increase a worse revert is kept, and the layers are ranked again on the new model.
                bool increased = drop > state.PreviousDrop && !state.StepBack;
                bool switched = state.Accept(candidate, result, drop);
                if (state.Criteria.AllMet(result.Values)) return null;
                if (switched || increased) (ranking, rankOn) = (null, (state.Current, result));
                continue;
            }

            state.Record(pick.Layer, drop, result, IterationAction.RolledBack, state.Current.Reverted.Count);
            state.StepBack = true;
            rejected = pick.Layer;
            (ranking, rankOn) = (null, (candidate, result));
        }
    }
}
