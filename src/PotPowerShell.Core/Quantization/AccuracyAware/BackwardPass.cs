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
/// <item>Smallest drop first: the layer whose re-quantization adds the least to the drop goes first, measured on the
/// current model when its increase was measured on an earlier one or only estimated (<see cref="Estimate"/>), and taken
/// when its new increase is still the smallest (lazily: no other layer is measured again). The drops
/// of separate layers mostly add up, so a layer's increase changes little from one model to the next (bench/Bench-AccuracyAware.ps1
/// NOTES: within 7 % on the transformer case), while its drop grows with every layer quantized again: ranked by drop, a
/// layer measured earlier always looked best, and every one was measured again after each step.</item>
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
            if (smallestFirst) Estimate(ctx, baseline, metric, current, drop, tries, tried);
            int measured = 0;
            while (true)
            {
                Try? next;
                if (smallestFirst)
                {
                    // A layer that missed the target on this model cannot be taken; one measured here that keeps it is
                    // taken when no other's last increase is smaller.
                    next = tries.Where(t => t.Model != model || t.Met).MinBy(t => t.Key);
                    if (next is { Model: var m } && m == model)
                    {
                        currentResult = next.Result!;
                        Requantize(next);
                        continue;
                    }
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
                next.Measured(model, drop, result, DecidedEarly.Drop(ctx, metric, result), !result.StoppedEarly && baseline.Criteria.AllMet(result.Values));
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

    /// <summary>Items a layer's first increase is estimated on, when the set has at least twice as many.</summary>
    public const int EstimateItems = 100;

    /// <summary>
    /// The first increases of smallest drop first: those the other order measured on the search's model, and the rest
    /// estimated on <see cref="EstimateItems"/> items drawn with the run's seed (the drop of the try there less the
    /// current model's). An estimate only orders the tries: a layer is measured on the whole set before it is taken. Each
    /// try alone measured on the whole set cost as much as all of them estimated (bench/Bench-AccuracyAware.ps1 NOTES:
    /// MiniLM on 1000 items, 7 of its 8 float layers within the limit alone).
    /// </summary>
    /// <param name="before">The drop of <paramref name="current"/>.</param>
    private static void Estimate(SearchContext ctx, RunBaseline baseline, MetricCriterion metric, ModelCandidate current, double before, List<Try> tries,
        Dictionary<string, EvaluationResult> tried)
    {
        foreach (var t in tries)
            if (tried.TryGetValue(current.Without(t.Layer).Key, out var known))
                t.Measured(0, before, known, DecidedEarly.Drop(ctx, metric, known), !known.StoppedEarly && baseline.Criteria.AllMet(known.Values));
        var rest = tries.Where(t => t.Model < 0).ToList();
        if (rest.Count == 0 || ctx.Session.ItemCount < 2 * EstimateItems) return;
        var sample = ItemSelection.SampleSubset(ctx.Session.ItemCount, (double)EstimateItems / ctx.Session.ItemCount, ctx.Seed);
        double sampleBefore = metric.Drop(ctx.Session.Evaluate(current, sample).Values[metric.Name]);
        foreach (var t in rest)
            t.Estimated(metric.Drop(ctx.Session.Evaluate(current.Without(t.Layer), sample).Values[metric.Name]) - sampleBefore);
        ctx.Log($"  Estimated on {sample.Count} items, {metric.Name} drop increase: "
            + string.Join(", ", rest.OrderBy(t => t.Key).Select(t => $"{t.Layer} {SearchContext.F(t.Increase)}")) + ".");
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

        /// <summary>
        /// What quantizing it again added to the drop of the model it was measured on (at least that, when decided
        /// early), or its estimate before it was measured.
        /// </summary>
        public double Increase { get; private set; }

        private bool _estimated;

        /// <summary>Smallest drop first: neither measured nor estimated first (in ranking order), then the smallest increase.</summary>
        public (int, double, int) Key => Model < 0 && !_estimated ? (0, 0, Index) : (1, Increase, Index);

        public void Estimated(double increase)
        {
            Increase = increase;
            _estimated = true;
        }

        /// <param name="before">The drop of the model it was measured on.</param>
        public void Measured(int model, double before, EvaluationResult result, double drop, bool met)
        {
            Model = model;
            Result = result;
            Drop = drop;
            Met = met;
            Increase = drop - before;
        }
    }
}
