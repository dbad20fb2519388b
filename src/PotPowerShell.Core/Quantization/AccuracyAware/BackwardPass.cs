using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// After the target is met: try quantizing each float layer again, the least useful first (lowest ranking score when
/// it was reverted), and keep the re-quantization when every metric still holds. The greedy search can revert layers
/// that only mattered together with a later one; POT and NNCF keep them all.
/// A layer that stayed float is tried again once another layer was quantized again after its try (the model it was
/// tried on is gone), so the pass ends where no single float layer can be quantized again. Failed tries are mostly
/// decided early (<see cref="DecidedEarly.Order"/>), so the retries cost little.
/// </summary>
internal static class BackwardPass
{
    /// <summary>Continues <paramref name="search"/>: its model with the layers quantized again, its iterations followed by the pass's.</summary>
    public static SearchOutcome Run(SearchContext ctx, RunBaseline baseline, SearchOutcome search)
    {
        var current = search.Model;
        if (current.Reverted.Count == 0) return search;
        var iterations = search.Iterations.ToList();
        try
        {
            using var _ = ctx.Stages.Stage("Backward");
            var order = current.Reverted
                .OrderBy(l => search.Picks.TryGetValue(l, out var p) ? p.Score : double.NegativeInfinity)
                .ThenBy(l => l, StringComparer.Ordinal)
                .ToList();
            ctx.Log($"Backward pass: trying to quantize again {string.Join(", ", order)}.");
            var metric = baseline.Criteria.MostViolated(ctx.Session.Evaluate(current, null).Values);
            var queue = new Queue<string>(order);
            var stayedFloat = new List<string>();
            int tries = 0;
            while (queue.TryDequeue(out var layer))
            {
                var candidate = current.Without(layer);
                ctx.Report($"Backward pass: quantizing {layer} again", PotProgress.Percent(tries, tries + 1 + queue.Count));
                tries++;
                var currentResult = ctx.Session.Evaluate(current, null);
                double before = metric.Drop(currentResult.Values[metric.Name]);
                // Decided early once the metric is certain to miss its limit: the layer then stays float.
                var result = ctx.Session.EvaluateUntilDecided(candidate, DecidedEarly.Above(ctx, metric, () => double.NegativeInfinity),
                    order: DecidedEarly.Order(ctx, metric, currentResult));
                bool met = !result.StoppedEarly && baseline.Criteria.AllMet(result.Values);
                var action = met ? IterationAction.Requantized : IterationAction.KeptFloat;
                double after = DecidedEarly.Drop(ctx, metric, result);
                iterations.Add(new AccuracyAwareIteration(iterations.Count + 1, "Backward", layer, metric.Name, before, after, met, action,
                    met ? candidate.Reverted.Count : current.Reverted.Count) { DecidedEarly = result.StoppedEarly, Items = result.Items.Count });
                ctx.Log($"Iteration {iterations.Count}: quantized {layer} again: {metric.Name} drop {SearchContext.F(before)} -> {SearchContext.F(after)}"
                    + (result.StoppedEarly ? $" at least, decided after {result.Items.Count} of {ctx.Session.ItemCount} items (certain to miss the limit)" : "") + ", "
                    + (met ? "target still met, kept INT8" : "target missed, stays float") + $"; {baseline.Describe(result.Values)}.");
                if (!met)
                {
                    stayedFloat.Add(layer);
                    continue;
                }
                current = candidate;
                foreach (var retry in stayedFloat) queue.Enqueue(retry);
                stayedFloat.Clear();
            }
            return search with { Model = current, Iterations = iterations };
        }
        catch (BudgetExhaustedException e)
        {
            return (search with { Model = current, Iterations = iterations }).Exhausted(e);
        }
    }
}
