using System.Globalization;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// POT's tune_hyperparams: before reverting anything, search the quantization settings on the hardest items.
/// Two sequential grids as in POT: (a) activation range estimators, (b) fast vs full bias correction on top of the best
/// of (a). A candidate is scored on the hardest subset by how far its worst metric is past its limit, with drops
/// measured against FP32 on the same items (POT averages the metric errors instead; with several metrics an
/// improvement of one would hide a loss in another). The winner is evaluated on the full set and kept only if it
/// brings the model closer to the target.
/// </summary>
internal static class HyperparameterTuner
{
    /// <summary>Tunes <paramref name="source"/>'s settings; the outcome is the fully quantized model of the settings kept.</summary>
    /// <param name="sourceFull"><paramref name="source"/>'s fully quantized model evaluated on the full set.</param>
    public static StageOutcome Run(SearchContext ctx, RunBaseline baseline, BuilderCatalogue catalogue, QuantizationSource source, EvaluationResult sourceFull,
        Func<DefaultQuantizationOptions, IQuantizedModelBuilder> factory) =>
        StageOutcome.FullyQuantized(Tune(ctx, baseline, catalogue, source, sourceFull, factory));

    private static QuantizationSource Tune(SearchContext ctx, RunBaseline baseline, BuilderCatalogue catalogue, QuantizationSource source, EvaluationResult sourceFull,
        Func<DefaultQuantizationOptions, IQuantizedModelBuilder> factory)
    {
        using var _ = ctx.Stages.Stage("Tuning");
        var criteria = baseline.Criteria;
        var baseCandidate = ModelCandidate.FullyQuantized(source);
        var metric = criteria.MostViolated(sourceFull.Values);
        // The items the search's first ranking would run on.
        var subset = new SearchRankings(ctx, baseline).Subset(baseCandidate, sourceFull, metric).Items;
        var reference = ctx.Session.EvaluateFloat(ctx.Builder, subset, mandatory: false);
        double Score(QuantizationSource s) => WorstExcess(criteria, ctx.Session.Evaluate(ModelCandidate.FullyQuantized(s), subset), reference);

        var best = source;
        double bestScore = Score(source);
        ctx.Log($"Tuning on the {subset.Count} hardest items: current settings score {SearchContext.F(bestScore)} (worst excess over maximal_drop, relative to the baseline).");
        var grid = catalogue.RangeCandidates(source.Options);
        for (int i = 0; i < grid.Count; i++)
            best = Try(ctx, factory, grid[i], Describe(grid[i]), ref bestScore, best, i, grid.Count + 1, Score);
        if (BuilderCatalogue.BiasAlternative(best.Options) is { } bias)
            best = Try(ctx, factory, bias, Describe(bias), ref bestScore, best, grid.Count, grid.Count + 1, Score);
        if (ReferenceEquals(best, source))
        {
            ctx.Log("Tuning found no better settings.");
            return source;
        }
        var full = ctx.Session.Evaluate(ModelCandidate.FullyQuantized(best), null);
        if (criteria.WorstExcess(full.Values) < criteria.WorstExcess(sourceFull.Values))
        {
            ctx.Log($"Tuned settings kept ({best.TunedSettings}): {baseline.Describe(full.Values)}.");
            return best;
        }
        ctx.Log($"Tuned settings ({best.TunedSettings}) do not lower the drop on the full set; keeping the original settings.");
        return source;
    }

    private static QuantizationSource Try(SearchContext ctx, Func<DefaultQuantizationOptions, IQuantizedModelBuilder> factory, DefaultQuantizationOptions options,
        string settings, ref double bestScore, QuantizationSource best, int index, int total, Func<QuantizationSource, double> score)
    {
        ctx.Session.CheckBudget();
        ctx.Report($"Tuning: {settings}", PotProgress.Percent(index, total));
        var candidate = new QuantizationSource("tuned:" + settings, options, factory(options), settings);
        double s = score(candidate);
        ctx.Log($"  {settings}: score {SearchContext.F(s)}.");
        if (s < bestScore)
        {
            bestScore = s;
            return candidate;
        }
        return best;
    }

    /// <summary>The largest (drop - max_drop) / baseline over the metrics, the drop taken against FP32 on the same items.</summary>
    private static double WorstExcess(MetricCriteria criteria, EvaluationResult candidate, EvaluationResult reference) =>
        criteria.Metrics.Max(m => (m.DropOf(candidate.Values[m.Name], reference.Values[m.Name]) - m.MaxDrop) / m.Scale);

    public static string Describe(DefaultQuantizationOptions options)
    {
        var r = options.ActivationRange;
        string range = r.Kind is RangeEstimatorKind.Quantile or RangeEstimatorKind.AbsQuantile
            ? $"{r.Kind}({r.OutlierProbability.ToString("G3", CultureInfo.InvariantCulture)})"
            : r.EffectiveKind.ToString();
        string bias = !options.BiasCorrection ? "no bias correction" : options.UseFastBiasCorrection ? "fast bias correction" : "full bias correction";
        return $"activation range {range}, {bias}";
    }
}
