using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// restore_mode only_activations: once the target is met, each float layer with a faster dynamic form (INT8 weights,
/// activations quantized at run time; <see cref="IQuantizedModelBuilder.DynamicCapable"/>) takes that form when every
/// metric still holds, in the backward pass's ranking order (the layer that scored lowest when it was reverted first).
/// The search before it reverts to float, as with activations_and_weights: the dynamic form still quantizes the
/// layer's input, and the layers a search reverts are mostly those whose activation quantization hurts, so a search
/// whose reverts were dynamic reverted layer after layer and missed targets float reverts meet
/// (bench/Bench-AccuracyAware.ps1 NOTES: MiniLM, 30 of 49 layers and missed, against 5 of 49 and met). The returned
/// model thus never has more reverted layers than the default mode's, and is faster where the dynamic forms are.
/// <para>
/// A dynamic layer quantizes its input from the whole batch, so an item's outputs depend on its batch-mates: every
/// try is a complete evaluation in the set's own batches (none decided early), at a batch size that is given, not
/// measured (see <see cref="AccuracyAwareQuantizer"/>'s batch size choice), so that the same run gives the same model.
/// </para>
/// </summary>
internal static class DynamicPass
{
    /// <summary>Continues from <paramref name="start"/> (a model that meets the target): <paramref name="search"/>'s iterations followed by the pass's.</summary>
    public static SearchOutcome Run(SearchContext ctx, RunBaseline baseline, SearchOutcome search, ModelCandidate start)
    {
        var capable = start.Source.Builder.DynamicCapable;
        var layers = start.Reverted.Where(l => capable.Contains(l) && !start.Dynamic.Contains(l))
            .OrderBy(l => search.Picks.TryGetValue(l, out var p) ? p.Score : double.NegativeInfinity)
            .ThenBy(l => l, StringComparer.Ordinal)
            .ToList();
        if (layers.Count == 0) return search;
        using var _ = ctx.Stages.Stage("Dynamic");
        var current = start;
        var iterations = search.Iterations.ToList();
        var reuse = ctx.Session.Reuse;
        // Candidates read the stores of float models and add none: a store of a dynamic model would hold rows computed in its batches.
        if (reuse != null) reuse.ReadOnly = true;
        try
        {
            ctx.Log($"Dynamic pass (restore_mode only_activations): trying INT8 weights with activations quantized at run time for {string.Join(", ", layers)}.");
            var values = ctx.Session.Evaluate(current, null).Values;
            var metric = baseline.Criteria.MostViolated(values);
            double drop = metric.Drop(values[metric.Name]);
            for (int k = 0; k < layers.Count; k++)
            {
                ctx.Report($"Dynamic pass: {layers[k]} with INT8 weights", PotProgress.Percent(k, layers.Count));
                var candidate = current.WithDynamic(layers[k]);
                var result = ctx.Session.Evaluate(candidate, null);
                bool met = baseline.Criteria.AllMet(result.Values);
                double before = drop, after = metric.Drop(result.Values[metric.Name]);
                ctx.Log($"  {layers[k]} dynamic: {metric.Name} drop {SearchContext.F(before)} -> {SearchContext.F(after)}, "
                    + (met ? "target still met" : "target missed, it stays float") + $"; {baseline.Describe(result.Values)}.");
                if (met)
                {
                    current = candidate;
                    drop = after;
                }
                iterations.Add(new AccuracyAwareIteration(iterations.Count + 1, "Dynamic", layers[k], metric.Name, before, after, met,
                    met ? IterationAction.Dynamic : IterationAction.KeptFloat, current.FloatCount) { Items = result.Items.Count });
            }
            return search with { Model = current, Iterations = iterations };
        }
        catch (BudgetExhaustedException e)
        {
            return (search with { Model = current, Iterations = iterations }).Exhausted(e);
        }
        finally
        {
            if (reuse != null) reuse.ReadOnly = false;
        }
    }
}
