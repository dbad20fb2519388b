using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>The Signal search reverts as many layers in one step as the ranking's scores say the target needs.</summary>
public class GroupStepTests
{
    private static LayerRank Rank(string layer, double score, RankingMethod method = RankingMethod.Signal) =>
        new(0, layer, "Conv", score, method, new MetricValues(), double.NaN);

    private static readonly MetricCriterion Accuracy = new("accuracy", MetricDirection.HigherBetter, 1, false, 0.02);

    private static string[]? Names(IReadOnlyList<LayerRank>? group) => group?.Select(r => r.Layer).ToArray();

    [Fact]
    public void The_first_group_is_half_the_prediction_rounded_up_and_a_calibrated_one_all_of_it()
    {
        var flat = Enumerable.Range(0, 8).Select(i => Rank($"L{i}", 0.01)).ToArray();
        // Drop 0.075, limit 0.02: six layers of 0.01 reach the 0.055 needed; five would reach 0.045.
        Assert.Equal(new[] { "L0", "L1", "L2" }, Names(new GroupStep().Next(flat, Accuracy, 0.075)));
        Assert.Equal(new[] { "L0", "L1", "L2" }, Names(new GroupStep().Next(flat, Accuracy, 0.065)));

        var ranking = new[] { Rank("A", 0.03), Rank("B", 0.02), Rank("C", 0.015), Rank("D", 0.01) };
        var groups = new GroupStep();
        // Drop 0.078: A, B and C (0.065) reach the 0.058 needed; the group is A and B.
        Assert.Equal(new[] { "A", "B" }, Names(groups.Next(ranking, Accuracy, 0.078)));
        // A and B gained 0.025 for scores of 0.05: C and D are now predicted at half their scores.
        groups.Kept(ranking[..2], 0.025);
        Assert.Equal(0.0125, groups.Predicted(ranking[2..]), 12);
        // Drop 0.053: 0.033 needed, C and D give 0.0125 at that rate: no prediction reaches the limit.
        Assert.Null(groups.Next(ranking[2..], Accuracy, 0.053));
        // Drop 0.03: 0.01 needed, C alone gives 0.0075 and C with D 0.0125: both, as the rate was measured.
        Assert.Equal(new[] { "C", "D" }, Names(groups.Next(ranking[2..], Accuracy, 0.03)));
    }

    [Fact]
    public void One_layer_a_method_other_than_Signal_or_a_score_not_above_zero_is_no_group()
    {
        var groups = new GroupStep();
        // A alone reaches the limit: a confirmed step, not a group of one.
        Assert.Null(groups.Next(new[] { Rank("A", 0.1), Rank("B", 0.05) }, Accuracy, 0.05));
        Assert.Null(groups.Next(new[] { Rank("A", 0.01), Rank("B", 0.01, RankingMethod.Metric), Rank("C", 0.05) }, Accuracy, 0.05));
        Assert.Null(groups.Next(new[] { Rank("A", 0.01), Rank("B", 0), Rank("C", 0.05) }, Accuracy, 0.05));
        Assert.Null(groups.Next(new[] { Rank("A", 0.01), Rank("B", double.NaN), Rank("C", 0.05) }, Accuracy, 0.05));
        // After a rolled-back group, none until the next ranking.
        var ranking = new[] { Rank("A", 0.01), Rank("B", 0.01), Rank("C", 0.05) };
        Assert.NotNull(groups.Next(ranking, Accuracy, 0.05));
        groups.RolledBack();
        Assert.Null(groups.Next(ranking, Accuracy, 0.05));
        groups.Ranked();
        Assert.NotNull(groups.Next(ranking, Accuracy, 0.05));
    }

    [Fact]
    public void A_search_reverts_a_group_then_the_rest_of_the_prediction_one_evaluation_each()
    {
        // The drops of the layers add up (FakeMetric), so Signal scores are the exact gains: 0.078 above FP32, limit 0.02.
        FakeEvaluator World() => new(40, new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0)
            .WithCost("A", 0.03).WithCost("B", 0.02).WithCost("C", 0.015).WithCost("D", 0.01).WithCost("E", 0.002).WithCost("F", 0.001));
        var options = new AccuracyAwareOptions { MaximalDrop = 0.02, RankingMethod = RankingMethod.Signal };
        var r = new AccuracyAwareQuantizer(options).Run(new FakeBuilder("performance", "A", "B", "C", "D", "E", "F"), World()).Result;

        Assert.True(r.Met, r.Reason);
        Assert.Equal(new[] { "A", "B", "C" }, r.RevertedLayers.Select(l => l.Layer).Order(StringComparer.Ordinal));
        // The prediction is A, B and C; the first group is its first half, rounded up (A and B), then C at the measured rate.
        var search = r.Iterations.Where(i => i.Stage == "Search").Select(i => (i.Layer, i.Action, i.RevertedCount)).ToList();
        Assert.Equal(new[] { ("A, B", IterationAction.Reverted, 2), ("C", IterationAction.Reverted, 3) }, search);
        Assert.Equal(0.078 - 0.05, r.Iterations[0].DropAfter, 9);
        Assert.All(r.RevertedLayers, l => Assert.Equal(l.Layer == "C" ? 2 : 1, l.Iteration));
        Assert.Equal((2, 1.0), (r.RankTrials, r.RankPrecision));
    }

    [Fact]
    public void A_group_that_makes_the_drop_larger_is_rolled_back_and_the_search_goes_on_one_layer_a_step()
    {
        // A given ranking that is wrong about C: reverting C raises the drop by 0.04.
        var world = new FakeEvaluator(40, new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0)
            .WithCost("A", 0.03).WithCost("B", 0.02).WithCost("C", -0.04));
        var given = new[] { Rank("A", 0.005), Rank("C", 0.003), Rank("B", 0.002) };
        var r = new AccuracyAwareQuantizer(new AccuracyAwareOptions { MaximalDrop = 0.001 }) { Ranking = given }
            .Run(new FakeBuilder("performance", "A", "B", "C"), world).Result;

        Assert.True(r.Met, r.Reason);
        Assert.Equal(new[] { "A" }, r.RevertedLayers.Select(l => l.Layer));
        var search = r.Iterations.Where(i => i.Stage == "Search").Select(i => (i.Layer, i.Action)).ToList();
        Assert.Equal(("A, C", IterationAction.RolledBack), search[0]);
        Assert.Equal(("A", IterationAction.Reverted), search[1]);
    }

    [Fact]
    public void After_single_steps_a_group_is_predicted_from_a_ranking_of_the_current_model()
    {
        // The drops add up (0.075 above FP32, limit 0.02). The given ranking overrates E (no cost) and D (a small one):
        // A alone reaches the limit by its score (a single step), then E, D and B would reach the rest, so its scores,
        // those of the fully quantized model, would make E and D a group.
        var world = new FakeEvaluator(40, new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0)
            .WithCost("A", 0.03).WithCost("B", 0.02).WithCost("C", 0.015).WithCost("D", 0.01).WithCost("E", 0));
        var given = new[] { Rank("A", 0.06), Rank("E", 0.01), Rank("D", 0.01), Rank("B", 0.01), Rank("C", 0.001) };
        var options = new AccuracyAwareOptions { MaximalDrop = 0.02, RankingMethod = RankingMethod.Signal };
        var r = new AccuracyAwareQuantizer(options) { Ranking = given }.Run(new FakeBuilder("performance", "A", "B", "C", "D", "E"), world).Result;

        Assert.True(r.Met, r.Reason);
        // Ranked again after A, the exact scores (B 0.02, C 0.015) predict B and C: single steps, no group of E and D.
        Assert.Equal(2, r.Rankings);
        var kept = r.Iterations.Where(i => i.Stage == "Search" && i.Action == IterationAction.Reverted).Select(i => i.Layer).ToList();
        Assert.Equal(new[] { "A", "B", "C" }, kept);
        Assert.Contains(r.Log, line => line.Contains("predates the last kept revert: ranking again", StringComparison.Ordinal));
    }
}
