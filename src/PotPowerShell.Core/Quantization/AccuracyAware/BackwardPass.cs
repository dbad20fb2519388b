using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// After the target is met: quantize float layers again while every metric still holds, the one whose re-quantization
/// leaves the smallest drop first. The greedy search can revert layers that only mattered together with a later one, or
/// that changed nothing; POT and NNCF keep them all.
/// Each float layer is first tried alone on the search's model. From then on the pass is lazy: the layer with the
/// smallest drop measured so far is tried again on the current model unless that is the model it was measured on, and is
/// quantized again when it still keeps the target and still leaves the smallest drop. A layer measured on an older model
/// is tried again before the pass ends, so it ends where no single float layer can be quantized again. Trying them in
/// the order of the search's ranking scores instead, the first tries used up the room under the limit: OcrRec on other
/// lines (bench/Bench-AccuracyAware.ps1 NOTES) kept 15 layers float that way.
/// Tries that are certain to miss the limit are decided early (<see cref="DecidedEarly.Above"/>); their lower bound is
/// their drop here.
/// </summary>
internal static class BackwardPass
{
    /// <summary>Continues <paramref name="search"/>: its model with the layers quantized again, its iterations followed by the pass's.</summary>
    public static SearchOutcome Run(SearchContext ctx, RunBaseline baseline, SearchOutcome search)
    {
        var current = search.Model;
        if (current.Reverted.Count == 0) return search;
        var iterations = search.Iterations.ToList();
        // Ties go to the layer that scored lowest when it was reverted (the least useful by the search's own ranking).
        var tries = current.Reverted
            .OrderBy(l => search.Picks.TryGetValue(l, out var p) ? p.Score : double.NegativeInfinity)
            .ThenBy(l => l, StringComparer.Ordinal)
            .Select((l, k) => new Try(l, k))
            .ToList();
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
        try
        {
            using var _ = ctx.Stages.Stage("Backward");
            ctx.Log($"Backward pass: trying to quantize again {string.Join(", ", tries.Select(t => t.Layer))}.");
            var currentResult = ctx.Session.Evaluate(current, null);
            metric = baseline.Criteria.MostViolated(currentResult.Values);
            drop = metric.Drop(currentResult.Values[metric.Name]);
            int measured = 0;
            while (true)
            {
                var best = tries.MinBy(t => t.Key);
                if (best == null) break;
                if (best.Model == model && best.Met)
                {
                    // The smallest drop, measured on this model: quantize it again.
                    iterations.Add(Record(iterations.Count + 1, best, metric, drop, IterationAction.Requantized, current.Reverted.Count - 1));
                    ctx.Log($"  Quantized {best.Layer} again: {metric.Name} drop {SearchContext.F(best.Drop)}, the smallest that keeps the target.");
                    current = current.Without(best.Layer);
                    currentResult = best.Result!;
                    drop = best.Drop;
                    tries.Remove(best);
                    model++;
                    continue;
                }
                var next = tries.Where(t => t.Model != model).OrderBy(t => t.Key).Take(2).ToList();
                if (next.Count == 0) break;
                var layer = next[0];
                ctx.Report($"Backward pass: quantizing {layer.Layer} again", PotProgress.Percent(measured, measured + tries.Count(t => t.Model != model)));
                measured++;
                // Decided early once the metric is certain to miss its limit.
                var result = ctx.Session.EvaluateUntilDecided(current.Without(layer.Layer), DecidedEarly.Above(ctx, metric, () => double.NegativeInfinity),
                    next.Count > 1 ? current.Without(next[1].Layer) : null, DecidedEarly.Order(ctx, metric, currentResult));
                layer.Measured(model, result, DecidedEarly.Drop(ctx, metric, result), !result.StoppedEarly && baseline.Criteria.AllMet(result.Values));
                ctx.Log($"Backward pass: {layer.Layer} quantized again: {metric.Name} drop {SearchContext.F(drop)} -> {SearchContext.F(layer.Drop)}"
                    + (result.StoppedEarly ? $" at least, decided after {result.Items.Count} of {ctx.Session.ItemCount} items (certain to miss the limit)" : "") + ", "
                    + (layer.Met ? "target still met" : "target missed") + $"; {baseline.Describe(result.Values)}.");
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
        public int Index { get; } = index;
        public int Model { get; private set; } = -1;
        public EvaluationResult? Result { get; private set; }
        public double Drop { get; private set; }
        public bool Met { get; private set; }

        /// <summary>Not measured yet first (in the starting order), then those that keep the target, then smallest drop.</summary>
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
