using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>ranking_method auto (RankingChoice): Metric ranking where most items sit at the metric's best value (on every item when the ranking covers them, decided early), else Signal.</summary>
public class RankingChoiceTests
{
    private static AccuracyAwareOutcome Run(FakeEvaluator world, RankingMethod method, int? subset = null) =>
        new AccuracyAwareQuantizer(new AccuracyAwareOptions { RankingMethod = method, RankingSubsetSize = subset, MaximalDrop = 0.051 })
            .Run(new FakeBuilder("performance", DisjointWorld.Layers), world);

    /// <summary>The run of the chosen method, given explicitly: the same run, but for the line that says why.</summary>
    private static void SameSearch(AccuracyAwareOutcome expected, AccuracyAwareOutcome actual)
    {
        Assert.Equal(expected.Result.RankingMethod, actual.Result.RankingMethod);
        Assert.Equal(expected.Result.RevertedLayers, actual.Result.RevertedLayers);
        SameRun.Check(expected, actual, l => l.StartsWith("Ranking: ", StringComparison.Ordinal));
    }

    [Fact]
    public void Most_items_at_the_best_value_choose_Metric_ranking_on_every_item_decided_early()
    {
        // 16 items short, 24 at 1: at least half.
        var auto = Run(DisjointWorld.Create(2), RankingMethod.Auto);
        Assert.Contains("Ranking: Metric on every item, decided early (ranking_method auto): the fully quantized model scores 24 of 40 items at accuracy's best value (1).", auto.Result.Log);
        Assert.Contains(auto.Result.Log, l => l.StartsWith("Ranking 1 (Metric, metric accuracy, 40 items, decided early)", StringComparison.Ordinal));
        SameSearch(Run(DisjointWorld.Create(2), RankingMethod.Metric), auto);
        Assert.True(auto.Result.DecidedEarlyEvaluations > 0);
    }

    [Fact]
    public void Fewer_than_half_at_the_best_value_keep_Signal_ranking()
    {
        // 32 items short, 8 at 1.
        var auto = Run(DisjointWorld.Create(4), RankingMethod.Auto);
        Assert.Contains("Ranking: Signal (ranking_method auto): the fully quantized model scores 8 of 40 items at accuracy's best value (1), too few for a Metric ranking to pay.", auto.Result.Log);
        SameSearch(Run(DisjointWorld.Create(4), RankingMethod.Signal), auto);
    }

    [Fact]
    public void A_ranking_subset_smaller_than_the_set_chooses_Metric_ranking_on_it_as_POT_ranks()
    {
        var subset = Run(DisjointWorld.Create(2), RankingMethod.Auto, subset: 39);
        Assert.Contains("Ranking: Metric on the 39 items the current model gets most wrong, as POT ranks (ranking_method auto): the fully quantized model scores 24 of 40 items at accuracy's best value (1).", subset.Result.Log);
        Assert.Contains(subset.Result.Log, l => l.StartsWith("Ranking 1 (Metric, metric accuracy, 39 items, decided early):", StringComparison.Ordinal));
        SameSearch(Run(DisjointWorld.Create(2), RankingMethod.Metric, subset: 39), subset);
    }

    [Fact]
    public void A_metric_without_bounds_keeps_Signal_ranking()
    {
        var unbounded = Run(DisjointWorld.Create(2, bounded: false), RankingMethod.Auto);
        Assert.Contains("Ranking: Signal (ranking_method auto): accuracy is not a mean of bounded per-item values.", unbounded.Result.Log);
        SameSearch(Run(DisjointWorld.Create(2, bounded: false), RankingMethod.Signal), unbounded);
    }
}
