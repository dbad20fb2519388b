using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>The Signal search's step back (keeping a revert that makes the drop larger) comes only from a ranking of the current model.</summary>
public class ConfirmedStepBackTests
{
    // Reverting A or B lowers the drop; reverting C or D raises it (quantizing them happens to help).
    private static FakeEvaluator World() => new(40, new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0)
        .WithCost("A", 0.03).WithCost("B", 0.02).WithCost("C", -0.005).WithCost("D", -0.005));

    private static LayerRank Rank(int rank, string layer, double score) =>
        new(rank, layer, "Conv", score, RankingMethod.Signal, new MetricValues(), double.NaN);

    [Fact]
    public void A_stale_ranking_ranks_again_instead_of_keeping_a_larger_drop()
    {
        var builder = new FakeBuilder("performance", "A", "B", "C", "D");
        // A given first ranking that is right about A and wrong about C and D (ranked above B); one confirmation per step.
        var given = new[] { Rank(1, "A", 0.04), Rank(2, "C", 0.03), Rank(3, "D", 0.02), Rank(4, "B", 0.01) };
        var options = new AccuracyAwareOptions { MaximalDrop = 0.005, ConfirmOnFullSet = 1 };
        var r = new AccuracyAwareQuantizer(options) { Ranking = given }.Run(builder, World()).Result;

        Assert.True(r.Met, r.Reason);
        Assert.Equal(new[] { "A", "B" }, r.RevertedLayers.Select(l => l.Layer).Order(StringComparer.Ordinal));
        // After A is kept, C is rolled back; D would be the step back (drop 0.01 -> 0.015) from a ranking made before A
        // was reverted, so the layers are ranked again on the current model, which puts B first.
        var search = r.Iterations.Where(i => i.Stage == "Search").Select(i => (i.Layer, i.Action)).ToList();
        Assert.Equal(new[] { ("A", IterationAction.Reverted), ("C", IterationAction.RolledBack), ("D", IterationAction.RolledBack), ("B", IterationAction.Reverted) }, search);
        Assert.All(r.Iterations.Where(i => i.Action == IterationAction.Reverted), i => Assert.True(i.DropAfter <= i.DropBefore + 1e-12, $"{i.Layer}: {i.DropBefore} -> {i.DropAfter}"));
        Assert.Equal(2, r.Rankings);
        Assert.Contains(r.Log, l => l.Contains("ranking again on the current model before stepping back", StringComparison.Ordinal));
    }

    [Fact]
    public void A_fresh_ranking_still_steps_back()
    {
        // Past A, every revert raises the drop and the target cannot be met: after ranking again, the best of the fresh
        // ranking is kept, as POT's step back, and the search ends once every layer was tried on the current model.
        var builder = new FakeBuilder("performance", "A", "C", "D");
        var metric = new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0) { Offset = _ => 0.05 };
        var world = new FakeEvaluator(40, metric.WithCost("A", 0.03).WithCost("C", -0.005).WithCost("D", -0.01));
        var r = new AccuracyAwareQuantizer(new AccuracyAwareOptions { MaximalDrop = 0.001, ConfirmOnFullSet = 1 }).Run(builder, world).Result;

        Assert.False(r.Met);
        var search = r.Iterations.Where(i => i.Stage == "Search").Select(i => (i.Layer, i.Action)).ToList();
        Assert.Equal(new[] { ("A", IterationAction.Reverted), ("C", IterationAction.RolledBack), ("D", IterationAction.RolledBack),
            ("C", IterationAction.Reverted), ("D", IterationAction.RolledBack) }, search);
        Assert.Contains("Every remaining layer was tried on the current model", r.Reason);
    }
}
