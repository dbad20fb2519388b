using System.Globalization;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;

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
    /// <summary>POT's grid, mapped onto our estimators: global min/max, mean of per-sample min/max, quantiles 1e-3 and 1e-4.</summary>
    public static IReadOnlyList<RangeEstimatorOptions> RangeGrid(RangeEstimatorOptions current) => new[]
    {
        current with { Kind = RangeEstimatorKind.MinMax },
        current with { Kind = RangeEstimatorKind.MeanMinMax },
        current with { Kind = RangeEstimatorKind.Quantile, OutlierProbability = 1e-3 },
        current with { Kind = RangeEstimatorKind.Quantile, OutlierProbability = 1e-4 },
    };

    public static QuantizationSource Run(SearchContext ctx, QuantizationSource source, EvaluationResult sourceFull, Func<DefaultQuantizationOptions, IQuantizedModelBuilder> factory)
    {
        using var _ = ctx.Stages.Stage("Tuning");
        var baseCandidate = ModelCandidate.FullyQuantized(source);
        var metric = ctx.Criteria.MostViolated(sourceFull.Values);
        var subset = ctx.RankingSubset(baseCandidate, sourceFull, metric);
        var reference = ctx.Session.EvaluateFloat(ctx.Builder, subset, mandatory: false);
        double Score(QuantizationSource s) => WorstExcess(ctx, ctx.Session.Evaluate(ModelCandidate.FullyQuantized(s), subset), reference);

        var best = source;
        double bestScore = Score(source);
        ctx.Log($"Tuning on the {subset.Count} hardest items: current settings score {SearchContext.F(bestScore)} (worst excess over maximal_drop, relative to the baseline).");
        var grid = RangeGrid(source.Options.ActivationRange).Where(r => !SameRange(r, source.Options.ActivationRange)).ToList();
        for (int i = 0; i < grid.Count; i++)
        {
            var options = source.Options with { ActivationRange = grid[i] };
            best = Try(ctx, factory, options, Describe(options), ref bestScore, best, i, grid.Count + 1, Score);
        }
        if (best.Options.BiasCorrection)
        {
            var options = best.Options with { UseFastBiasCorrection = !best.Options.UseFastBiasCorrection };
            best = Try(ctx, factory, options, Describe(options), ref bestScore, best, grid.Count, grid.Count + 1, Score);
        }
        if (ReferenceEquals(best, source))
        {
            ctx.Log("Tuning found no better settings.");
            return source;
        }
        var full = ctx.Session.Evaluate(ModelCandidate.FullyQuantized(best), null);
        if (ctx.Criteria.WorstExcess(full.Values) < ctx.Criteria.WorstExcess(sourceFull.Values))
        {
            ctx.Log($"Tuned settings kept ({best.TunedSettings}): {ctx.Describe(full.Values)}.");
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
    private static double WorstExcess(SearchContext ctx, EvaluationResult candidate, EvaluationResult reference) =>
        ctx.Criteria.Metrics.Max(m => (m.DropOf(candidate.Values[m.Name], reference.Values[m.Name]) - m.MaxDrop) / m.Scale);

    private static bool SameRange(RangeEstimatorOptions a, RangeEstimatorOptions b) =>
        a.EffectiveKind == b.EffectiveKind
        && (a.Kind is not (RangeEstimatorKind.Quantile or RangeEstimatorKind.AbsQuantile) || a.OutlierProbability == b.OutlierProbability);

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
