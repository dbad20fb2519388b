using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>Which validation items the accuracy-aware steps look at: seeded, and ordered so the result never depends on ties.</summary>
internal static class ItemSelection
{
    /// <summary>
    /// POT's metric_subset_ratio: when every metric has a baseline_value, FP32 and INT8 are compared per item on
    /// int(N * ratio) items only. POT draws them unseeded; we use the run's seed. Sorted ascending.
    /// </summary>
    public static IReadOnlyList<int> SampleSubset(int count, double ratio, int seed)
    {
        int take = Math.Clamp((int)(count * ratio), 1, count);
        var sample = Draw(Enumerable.Range(0, count).ToArray(), take, new Random(seed));
        Array.Sort(sample);
        return sample;
    }

    /// <summary>Per-item values of one metric by item index (items without a value are left out).</summary>
    public static Dictionary<int, double> PerItem(EvaluationResult result, string metric)
    {
        var map = new Dictionary<int, double>();
        if (!result.PerItem.TryGetValue(metric, out var values)) return map;
        for (int k = 0; k < result.Items.Count && k < values.Length; k++)
            if (!double.IsNaN(values[k])) map[result.Items[k]] = values[k];
        return map;
    }

    /// <summary>
    /// The ranking subset: the <paramref name="size"/> items of <paramref name="pool"/> where the candidate is worst
    /// against FP32 on <paramref name="metric"/> (largest per-item drop first, ties by item index). Items without a
    /// per-item value rank last. Returned sorted by index.
    /// </summary>
    public static IReadOnlyList<int> Hardest(IReadOnlyList<int> pool, IReadOnlyDictionary<int, double> reference, IReadOnlyDictionary<int, double> candidate, MetricCriterion metric, int size) =>
        Hardest(pool, i => reference.TryGetValue(i, out var r) && candidate.TryGetValue(i, out var q) ? metric.DropOf(q, r) : double.NegativeInfinity, size);

    /// <summary>The <paramref name="size"/> items with the largest <paramref name="error"/>, ties by index; sorted by index.</summary>
    public static IReadOnlyList<int> Hardest(IReadOnlyList<int> pool, Func<int, double> error, int size)
    {
        var picked = pool
            .Select(i => (Item: i, Error: error(i)))
            .OrderByDescending(x => x.Error)
            .ThenBy(x => x.Item)
            .Take(Math.Min(size, pool.Count))
            .Select(x => x.Item)
            .ToArray();
        Array.Sort(picked);
        return picked;
    }

    /// <summary>Per-item signal of one metric by item index, higher = better (see <see cref="LayerRanker.SignalOf"/>; items without one are left out).</summary>
    public static Dictionary<int, double> Signal(EvaluationResult result, MetricCriterion metric)
    {
        var values = LayerRanker.SignalOf(result, metric);
        var map = new Dictionary<int, double>();
        for (int k = 0; k < result.Items.Count && k < values.Length; k++)
            if (!double.IsNaN(values[k])) map[result.Items[k]] = values[k];
        return map;
    }

    /// <summary>
    /// Signal ranking's set: half of it the items whose signal the candidate lowers most against FP32 (where
    /// quantization hurts), the other half a seeded random sample of the remaining items, so that a layer that helps
    /// the hard items by disturbing the others does not rank first. Sorted by index.
    /// The weights make a weighted mean over the set an unbiased estimate of the mean over the whole pool (stratified
    /// sampling): every hardest item stands for itself (weight 1), every sampled item for its share of the remaining
    /// items (their count over the sample size). An unweighted mean gave the hardest items half the say where they are
    /// an eighth of the pool (25 of 200): on MiniLM it ranked layers that help those items above layers that lower the
    /// full-set drop more, and the search reverted 7 layers where ranking on every item reverts 5
    /// (bench/Bench-AccuracyAware.ps1).
    /// </summary>
    public static RankingItems HardestAndRandom(IReadOnlyList<int> pool, IReadOnlyDictionary<int, double> reference, IReadOnlyDictionary<int, double> candidate, int size, int seed)
    {
        size = Math.Min(size, pool.Count);
        var hardest = Hardest(pool, i => reference.TryGetValue(i, out var r) && candidate.TryGetValue(i, out var q) ? r - q : double.NegativeInfinity, (size + 1) / 2);
        var taken = new HashSet<int>(hardest);
        var rest = pool.Where(i => !taken.Contains(i)).ToArray();
        int more = size - hardest.Count;
        var weights = new Dictionary<int, double>();
        foreach (int i in hardest) weights[i] = 1;
        foreach (int i in Draw(rest, more, new Random(seed))) weights[i] = (double)rest.Length / more;
        var picked = weights.Keys.ToArray();
        Array.Sort(picked);
        return new RankingItems(picked, weights);
    }

    /// <summary>
    /// <paramref name="count"/> items of <paramref name="items"/> drawn without replacement, in draw order: a partial
    /// Fisher-Yates shuffle of a copy, whose first slots become a uniform sample.
    /// </summary>
    private static int[] Draw(IReadOnlyList<int> items, int count, Random random)
    {
        var copy = items.ToArray();
        for (int i = 0; i < count; i++)
        {
            int j = random.Next(i, copy.Length);
            (copy[i], copy[j]) = (copy[j], copy[i]);
        }
        return copy.Take(count).ToArray();
    }

    /// <summary>True when the evaluator gave per-item values for <paramref name="metric"/> on any item.</summary>
    public static bool HasPerItem(EvaluationResult result, string metric) =>
        result.PerItem.TryGetValue(metric, out var values) && values.Any(v => !double.IsNaN(v));
}

/// <summary>
/// The items a ranking measures (sorted by index), and per item the weight that makes a weighted mean over them
/// estimate the mean over the whole pool; null = every item counts the same.
/// </summary>
internal sealed record RankingItems(IReadOnlyList<int> Items, IReadOnlyDictionary<int, double>? Weights = null)
{
    public int Count => Items.Count;

    /// <summary>Weight of data-set item <paramref name="item"/> (1 when unweighted).</summary>
    public double WeightOf(int item) => Weights?.GetValueOrDefault(item, 1) ?? 1;
}
