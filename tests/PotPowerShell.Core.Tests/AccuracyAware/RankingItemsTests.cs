using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>
/// Signal ranking's item set (hardest half plus a seeded sample of the rest) and its weights: a weighted mean over the
/// set estimates the mean over the whole pool (stratified sampling).
/// </summary>
public class RankingItemsTests
{
    private const int PoolSize = 200;

    /// <summary>FP32 signal 1 everywhere; the candidate loses 0.001 * i on item i, so the hardest items are the last ones.</summary>
    private static (Dictionary<int, double> Reference, Dictionary<int, double> Candidate) Signals() =>
        (Enumerable.Range(0, PoolSize).ToDictionary(i => i, _ => 1.0), Enumerable.Range(0, PoolSize).ToDictionary(i => i, i => 1 - 0.001 * i));

    [Fact]
    public void The_hardest_half_weighs_one_and_each_sampled_item_stands_for_its_share_of_the_rest()
    {
        var (reference, candidate) = Signals();
        var items = ItemSelection.HardestAndRandom(Enumerable.Range(0, PoolSize).ToArray(), reference, candidate, 50, seed: 3);

        Assert.Equal(50, items.Count);
        Assert.Equal(items.Items.OrderBy(i => i), items.Items);
        // The 25 hardest are items 175..199; the other 25 are drawn from the 175 others, each then standing for 7 items.
        for (int i = 175; i < PoolSize; i++) Assert.Equal(1.0, items.WeightOf(i));
        var sampled = items.Items.Where(i => i < 175).ToList();
        Assert.Equal(25, sampled.Count);
        Assert.All(sampled, i => Assert.Equal(175.0 / 25, items.WeightOf(i)));
        Assert.Equal(PoolSize, items.Weights!.Values.Sum(), 9);
        Assert.Equal(items, ItemSelection.HardestAndRandom(Enumerable.Range(0, PoolSize).ToArray(), reference, candidate, 50, seed: 3), RankingItemsComparer);
    }

    [Fact]
    public void Weighted_signal_gain_is_the_pool_mean_when_the_gain_is_even_outside_the_hardest_items()
    {
        // A revert gains 0.01 on each of the 25 hardest items and 0.002 on every other item: the mean over the pool is
        // (25 * 0.01 + 175 * 0.002) / 200 = 0.003. The unweighted mean over the set would be (0.01 + 0.002) / 2 = 0.006.
        var (reference, candidate) = Signals();
        var items = ItemSelection.HardestAndRandom(Enumerable.Range(0, PoolSize).ToArray(), reference, candidate, 50, seed: 11);
        var metric = new MetricCriterion("m", MetricDirection.HigherBetter, 1, false, 0.01);
        var before = Result(items.Items, _ => 0.5);
        var after = Result(items.Items, i => 0.5 + (i >= 175 ? 0.01 : 0.002));

        Assert.Equal(0.003, LayerRanker.SignalGain(before, after, metric, items), 12);
        Assert.Equal(0.006, LayerRanker.SignalGain(before, after, metric), 12);
    }

    [Fact]
    public void Over_many_seeds_the_weighted_gain_averages_to_the_pool_mean()
    {
        // Gain grows with the item index (hardest items gain most): pool mean = mean of 0.0001 * i over 0..199 = 0.00995.
        var (reference, candidate) = Signals();
        var metric = new MetricCriterion("m", MetricDirection.HigherBetter, 1, false, 0.01);
        double weighted = 0, unweighted = 0;
        const int seeds = 400;
        for (int seed = 0; seed < seeds; seed++)
        {
            var items = ItemSelection.HardestAndRandom(Enumerable.Range(0, PoolSize).ToArray(), reference, candidate, 50, seed);
            var (before, after) = (Result(items.Items, _ => 0), Result(items.Items, i => 0.0001 * i));
            weighted += LayerRanker.SignalGain(before, after, metric, items);
            unweighted += LayerRanker.SignalGain(before, after, metric);
        }
        // Per seed the estimate's standard deviation is about 175/200 * 0.0001 * 175/sqrt(12) / sqrt(25) = 8.8e-4, so
        // the average of 400 is within 1.5e-4 (3.4 deviations) of the pool mean. Unweighted, the hardest 25 items
        // (mean gain 0.0187) count as much as the other 175 (mean 0.0087): about 0.0137.
        Assert.InRange(weighted / seeds, 0.00995 - 1.5e-4, 0.00995 + 1.5e-4);
        Assert.InRange(unweighted / seeds, 0.0130, 0.0145);
    }

    [Fact]
    public void Signal_ranking_scores_the_metric_gain_first_and_orders_equal_gains_by_the_signal()
    {
        // Exact match (0/1 per item) with a character-level signal, on 4 items: layer A makes item 2 right (its signal
        // 0.5 -> 1); layer B brings every line closer (signal +0.4 each) but makes none right; layer C does what B does at
        // half the size. The signal alone puts B first (gain 0.4 against A's 0.125).
        var items = new[] { 0, 1, 2, 3 };
        var metric = new MetricCriterion("m", MetricDirection.HigherBetter, 1, false, 0.01);
        EvaluationResult Text(double[] right, double[] signal) =>
            new EvaluationResult(new Dictionary<string, double> { ["m"] = right.Average() }, new Dictionary<string, double[]> { ["m"] = right }, items, TimeSpan.Zero)
            { Signals = new Dictionary<string, double[]> { ["m"] = signal } };
        var reference = Text(new[] { 1.0, 0, 0, 0 }, new[] { 1, 0.5, 0.5, 0.5 });
        var a = Text(new[] { 1.0, 0, 1, 0 }, new[] { 1, 0.5, 1, 0.5 });
        var b = Text(new[] { 1.0, 0, 0, 0 }, new[] { 1, 0.9, 0.9, 0.9 });
        var c = Text(new[] { 1.0, 0, 0, 0 }, new[] { 1, 0.7, 0.7, 0.7 });

        Assert.Equal(0.25 + 0.125 / 1000, LayerRanker.SignalScore(reference, a, metric), 12);
        Assert.Equal(0.3 / 1000, LayerRanker.SignalScore(reference, b, metric), 12);
        Assert.Equal(0.15 / 1000, LayerRanker.SignalScore(reference, c, metric), 12);
        Assert.True(LayerRanker.SignalGain(reference, b, metric) > LayerRanker.SignalGain(reference, a, metric));
        // A continuous metric is its own signal: the score is its gain, times 1.001.
        var plain = Result(items, i => 0.1 * i);
        Assert.Equal(1.001 * 0.05, LayerRanker.SignalScore(plain, Result(items, i => 0.1 * i + (i == 3 ? 0.2 : 0)), metric), 12);
    }

    private static EvaluationResult Result(IReadOnlyList<int> items, Func<int, double> value) =>
        new(new Dictionary<string, double> { ["m"] = items.Average(value) },
            new Dictionary<string, double[]> { ["m"] = items.Select(value).ToArray() }, items, TimeSpan.Zero);

    private static readonly IEqualityComparer<RankingItems> RankingItemsComparer = EqualityComparer<RankingItems>.Create(
        (a, b) => a!.Items.SequenceEqual(b!.Items) && a.Items.All(i => a.WeightOf(i) == b.WeightOf(i)));
}
