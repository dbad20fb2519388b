using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// After the target is met: quantize float layers again while every metric still holds. The greedy search can revert
/// layers that only mattered together with a later one, or that changed nothing; POT and NNCF keep them all.
/// Two greedy orders, each from the search's model, and the better end is kept (fewer float layers, then the smaller
/// excess over the limits, as <see cref="BestModelTracker"/> ranks models):
/// <list type="bullet">
/// <item>In ranking order: the layers that scored lowest when they were reverted first, each quantized again at once
/// when the target still holds; a layer that stayed float is tried again after the next one quantized again.</item>
/// <item>Smallest drop first: each layer tried alone, then the one whose re-quantization leaves the smallest drop goes
/// first, tried again on the current model when it was measured on an earlier one (lazily: a layer is measured again
/// only when its last measurement is the smallest).</item>
/// </list>
/// Neither order wins everywhere (OcrRec, bench/Bench-AccuracyAware.ps1 NOTES: on other lines the Signal search's 30
/// float layers ended at 15 in ranking order and 11 smallest drop first; Metric ranking's 16 at 6 and 9). Both end
/// where no single float layer can be quantized again. Tries certain to miss the limit are decided early
/// (<see cref="DecidedEarly.Above"/>); the second order measures no model the first one measured. Tries run from the
/// activations the search stored and store none (<see cref="ActivationReuse.ReadOnly"/>).
/// </summary>
internal static class BackwardPass
{
    /// <summary>Continues <paramref name="search"/>: its model with the layers quantized again, its iterations followed by the kept order's.</summary>
    public static SearchOutcome Run(SearchContext ctx, RunBaseline baseline, SearchOutcome search)
    {
        if (search.Model.Reverted.Count == 0) return search;
        using var _ = ctx.Stages.Stage("Backward");
        var tried = new Dictionary<string, EvaluationResult>(StringComparer.Ordinal);
        SearchOutcome byRank, byDrop;
        var reuse = ctx.Session.Reuse;
        if (reuse != null) reuse.ReadOnly = true;
        try
        {
            byRank = Pass(ctx, baseline, search, tried, smallestFirst: false);
            if (byRank.BudgetExhausted) return byRank;
            byDrop = Pass(ctx, baseline, search, tried, smallestFirst: true);
            if (byDrop.BudgetExhausted) return byDrop;
        }
        finally
        {
            if (reuse != null) reuse.ReadOnly = false;
        }
        var criteria = baseline.Criteria;
        double Excess(SearchOutcome o) => criteria.WorstExcess(ctx.Session.Evaluate(o.Model, null).Values);
        bool dropWins = byDrop.Model.Reverted.Count < byRank.Model.Reverted.Count
            || (byDrop.Model.Reverted.Count == byRank.Model.Reverted.Count && Excess(byDrop) < Excess(byRank));
        var kept = dropWins ? byDrop : byRank;
        ctx.Log($"Backward pass: {byRank.Model.Reverted.Count} layers float in ranking order, {byDrop.Model.Reverted.Count} smallest drop first; kept "
            + (dropWins ? "smallest drop first." : "ranking order."));
        return kept;
    }

    /// <summary>One greedy order from the search's model.</summary>
    /// <param name="tried">Every try so far by candidate: a try stopped early is decided by the same rule in either
    /// order, so it is not measured again (complete ones would come from the session's cache anyway).</param>
    private static SearchOutcome Pass(SearchContext ctx, RunBaseline baseline, SearchOutcome search, Dictionary<string, EvaluationResult> tried, bool smallestFirst)
    {
        var current = search.Model;
        var iterations = search.Iterations.ToList();
        var tries = current.Reverted
            .OrderBy(l => search.Picks.TryGetValue(l, out var p) ? p.Score : double.NegativeInfinity)
            .ThenBy(l => l, StringComparer.Ordinal)
            .Select((l, k) => new Try(l, k))
            .ToList();
        var queue = new Queue<Try>(tries);
        var stayedFloat = new List<Try>();
        int model = 0;
        MetricCriterion? metric = null;
        double drop = 0;
        // The layers that stay float, as measured on the pass's last model (all of them, unless the budget ran out).
        SearchOutcome End() =>
            search with
            {
                Model = current,
                Iterations = iterations.Concat(tries.Where(t => t.Model == model).OrderBy(t => t.Index)
                    .Select((t, k) => Record(iterations.Count + k + 1, t, metric!, drop, IterationAction.KeptFloat, current.Reverted.Count))).ToList(),
            };
        void Requantize(Try t)
        {
            iterations.Add(Record(iterations.Count + 1, t, metric!, drop, IterationAction.Requantized, current.Reverted.Count - 1));
            ctx.Log($"  Quantized {t.Layer} again: {metric!.Name} drop {SearchContext.F(drop)} -> {SearchContext.F(t.Drop)}.");
            current = current.Without(t.Layer);
            drop = t.Drop;
            tries.Remove(t);
            model++;
        }
        try
        {
            ctx.Log($"Backward pass ({(smallestFirst ? "smallest drop first" : "in ranking order")}): trying to quantize again {string.Join(", ", tries.Select(t => t.Layer))}.");
            var currentResult = ctx.Session.Evaluate(current, null);
            var fullyQuantized = ctx.Session.Cached(ModelCandidate.FullyQuantized(current.Source));
            metric = baseline.Criteria.MostViolated(currentResult.Values);
            drop = metric.Drop(currentResult.Values[metric.Name]);
            int measured = 0;
            while (true)
            {
                Try? next;
                if (smallestFirst)
                {
                    var best = tries.MinBy(t => t.Key);
                    if (best is { Met: true } && best.Model == model)
                    {
                        currentResult = best.Result!;
                        Requantize(best);
                        continue;
                    }
                    next = tries.Where(t => t.Model != model).MinBy(t => t.Key);
                }
                else if (!queue.TryDequeue(out next)) next = null;
                if (next == null) break;
                ctx.Report($"Backward pass: quantizing {next.Layer} again", PotProgress.Percent(measured, measured + 1 + tries.Count(t => t.Model != model)));
                measured++;
                var candidate = current.Without(next.Layer);
                // Decided early once the metric is certain to miss its limit; the items the layer broke before first:
                // those of its last try, else those of the fully quantized model.
                if (!tried.TryGetValue(candidate.Key, out var result))
                    tried[candidate.Key] = result = ctx.Session.EvaluateUntilDecided(candidate, DecidedEarly.Above(ctx, metric, () => double.NegativeInfinity),
                        order: DecidedEarly.Order(ctx, metric, currentResult, next.Result ?? fullyQuantized));
                next.Measured(model, result, DecidedEarly.Drop(ctx, metric, result), !result.StoppedEarly && baseline.Criteria.AllMet(result.Values));
                ctx.Log($"  {next.Layer} quantized again: {metric.Name} drop {SearchContext.F(drop)} -> {SearchContext.F(next.Drop)}"
                    + (result.StoppedEarly ? $" at least, decided after {result.Items.Count} of {ctx.Session.ItemCount} items (certain to miss the limit)" : "") + ", "
                    + (next.Met ? "target still met" : "target missed") + $"; {baseline.Describe(result.Values)}.");
                if (smallestFirst) continue;
                if (!next.Met)
                {
                    stayedFloat.Add(next);
                    continue;
                }
                currentResult = result;
                Requantize(next);
                foreach (var retry in stayedFloat) queue.Enqueue(retry);
                stayedFloat.Clear();
            }
            return End();
        }
        catch (BudgetExhaustedException e)
        {
            return End().Exhausted(e);
        }
    }

    private static AccuracyAwareIteration Record(int index, Try t, MetricCriterion metric, double before, IterationAction action, int reverted) =>
        new(index, "Backward", t.Layer, metric.Name, before, t.Drop, t.Met, action, reverted)
        {
            DecidedEarly = t.Result!.StoppedEarly,
            Items = t.Result.Items.Count,
        };

    /// <summary>One float layer quantized again: what it gave on the model it was last measured on (-1 = not yet).</summary>
    private sealed class Try(string layer, int index)
    {
        public string Layer { get; } = layer;
        /// <summary>Its place in ranking order.</summary>
        public int Index { get; } = index;
        public int Model { get; private set; } = -1;
        public EvaluationResult? Result { get; private set; }
        public double Drop { get; private set; }
        public bool Met { get; private set; }

        /// <summary>Smallest drop first: not measured yet first (in ranking order), then those that keep the target, then smallest drop.</summary>
        public (int, int, double, int) Key => (Model < 0 ? 0 : 1, Met ? 0 : 1, Model < 0 ? 0 : Drop, Index);

        public void Measured(int model, EvaluationResult result, double drop, bool met)
        {
            Model = model;
            Result = result;
            Drop = drop;
            Met = met;
        }
    }
}
