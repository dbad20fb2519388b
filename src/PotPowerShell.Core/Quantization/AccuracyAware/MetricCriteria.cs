using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>One watched metric with its FP32 baseline and allowed drop (POT's metrics[] plus maximal_drop).</summary>
internal sealed record MetricCriterion(string Name, MetricDirection Direction, double Baseline, bool BaselineGiven, double MaxDrop)
{
    /// <summary>+1 when higher is better, -1 when higher is worse (POT's comparator).</summary>
    public double Sign => Direction == MetricDirection.HigherBetter ? 1 : -1;

    /// <summary>How much worse <paramref name="value"/> is than <paramref name="reference"/> (positive = worse).</summary>
    public double DropOf(double value, double reference) => Sign * (reference - value);

    public double Drop(double value) => DropOf(value, Baseline);

    /// <summary>
    /// How far past its limit a drop is, relative to the baseline as POT does ((drop - max_drop) / baseline), so that
    /// metrics of different scales compare. Negative = within the limit.
    /// </summary>
    public double Excess(double value) => (Drop(value) - MaxDrop) / Scale;

    public double Scale => Baseline == 0 || double.IsNaN(Baseline) ? 1 : Math.Abs(Baseline);

    public bool IsMet(double value) => WithinLimit(Drop(value));

    // Metrics are averages of per-item values: a tolerance keeps an exact hit (drop == max) from failing on rounding.
    public bool WithinLimit(double drop) => drop <= MaxDrop + 1e-12 * Math.Max(1, Scale);
}

/// <summary>All watched metrics; a model is accepted when every one of them is met.</summary>
internal sealed class MetricCriteria
{
    public MetricCriteria(IReadOnlyList<MetricCriterion> metrics) => Metrics = metrics;

    public IReadOnlyList<MetricCriterion> Metrics { get; }

    public MetricCriterion this[string name] => Metrics.First(m => m.Name == name);

    public bool AllMet(IReadOnlyDictionary<string, double> values) => Metrics.All(m => m.IsMet(values[m.Name]));

    /// <summary>The largest relative excess over all metrics: what "how far from the target" means for ranking models.</summary>
    public double WorstExcess(IReadOnlyDictionary<string, double> values) => Metrics.Max(m => m.Excess(values[m.Name]));

    /// <summary>The metric furthest past its limit (POT's metric_to_optimize); ties go to the first by name.</summary>
    public MetricCriterion MostViolated(IReadOnlyDictionary<string, double> values) =>
        Metrics.OrderByDescending(m => m.Excess(values[m.Name])).ThenBy(m => m.Name, StringComparer.Ordinal).First();

    /// <summary>
    /// Resolves the watched metrics: metrics[] by name (each must exist in the evaluator) or every evaluator metric,
    /// and the allowed drop of each. Baselines are filled in later when they have to be measured.
    /// </summary>
    public static MetricCriteria Create(AccuracyAwareOptions options, IReadOnlyList<MetricDefinition> available, IReadOnlyDictionary<string, double>? measuredBaseline)
    {
        var targets = options.Metrics.Count > 0
            ? options.Metrics
            : available.Select(m => new MetricTarget(m.Name)).ToList();
        var list = new List<MetricCriterion>();
        foreach (var target in targets)
        {
            var definition = available.FirstOrDefault(m => string.Equals(m.Name, target.Name, StringComparison.OrdinalIgnoreCase))
                ?? ByType(target, available)
                ?? throw new PotException("MetricNotFound", PotErrorCategory.InvalidArgument,
                    $"AccuracyAwareQuantization metrics[] names '{target.Name}', but the engine computes only: {string.Join(", ", available.Select(m => m.Name + (m.Type is { } t ? $" ({t})" : "")))}. Use one of those names.",
                    "metrics");
            if (list.Any(m => m.Name == definition.Name))
                throw new PotException("MetricDuplicate", PotErrorCategory.InvalidArgument,
                    $"AccuracyAwareQuantization metrics[] lists '{definition.Name}' twice. List each metric once.", "metrics");
            bool given = measuredBaseline == null;
            double baseline = given ? target.BaselineValue!.Value : measuredBaseline![definition.Name];
            double maxDrop = options.DropType == DropType.Relative ? options.MaximalDrop * Math.Abs(baseline) : options.MaximalDrop;
            list.Add(new MetricCriterion(definition.Name, definition.Direction, baseline, given, maxDrop));
        }
        if (list.Count == 0)
            throw new PotException("NoMetrics", PotErrorCategory.InvalidArgument,
                "The engine defines no metric, so AccuracyAwareQuantization has nothing to keep within maximal_drop. Add a metric to the engine.", "metrics");
        return new MetricCriteria(list);
    }

    /// <summary>metrics[].type without a matching name (POT reads either): the one engine metric of that type.</summary>
    private static MetricDefinition? ByType(MetricTarget target, IReadOnlyList<MetricDefinition> available)
    {
        if (target.Type is not { } type) return null;
        var matches = available.Where(m => string.Equals(m.Type, type, StringComparison.OrdinalIgnoreCase)).ToList();
        if (matches.Count > 1)
            throw new PotException("MetricAmbiguous", PotErrorCategory.InvalidArgument,
                $"AccuracyAwareQuantization metrics[] gives type '{type}', and the engine has {matches.Count} metrics of that type: {string.Join(", ", matches.Select(m => m.Name))}. Name one with metrics[].name.",
                "metrics");
        return matches.SingleOrDefault();
    }

    /// <summary>POT uses configured baselines only when every metric has one.</summary>
    public static bool AllBaselinesGiven(AccuracyAwareOptions options) =>
        options.Metrics.Count > 0 && options.Metrics.All(m => m.BaselineValue.HasValue);
}
