using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>
/// restore_mode only_activations: the search reverts to float, then each reverted layer with a faster dynamic form
/// takes it where the target still holds (fake world: every number below follows from the layer costs by hand).
/// </summary>
public class DynamicPassTests
{
    private static readonly string[] FourLayers = { "L0", "L1", "L2", "L3" };

    /// <summary>
    /// Quantizing L1 costs 0.03 accuracy, L3 0.015, L2 0.002, L0 0.001; with maximal_drop 0.01 the search reverts L1
    /// and L3 (drop 0.003). In their dynamic forms L1 still costs 0.02 and L3 0.005.
    /// </summary>
    private static (FakeBuilder, FakeEvaluator) World(params string[] dynamicCapable)
    {
        var metric = new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0)
            .WithCost("L0", 0.001).WithCost("L1", 0.03).WithCost("L2", 0.002).WithCost("L3", 0.015);
        metric.DynamicCost["L1"] = 0.02;
        metric.DynamicCost["L3"] = 0.005;
        return (new FakeBuilder("performance", FourLayers) { DynamicCapable = dynamicCapable.ToHashSet() }, new FakeEvaluator(20, metric) { Bounds = (0, 1) });
    }

    private static readonly AccuracyAwareOptions Options = new() { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.01, RankingSubsetSize = 10, RestoreMode = RestoreMode.OnlyActivations };

    [Fact]
    public void A_reverted_layer_keeps_its_dynamic_form_only_where_the_target_still_holds()
    {
        var (builder, evaluator) = World("L1", "L3");
        var outcome = new AccuracyAwareQuantizer(Options).Run(builder, evaluator);
        var r = outcome.Result;

        Assert.True(r.Met);
        // Ranking order: L3 scored lower than L1 when reverted, so it goes first. L3 dynamic: 0.003 + 0.005 = 0.008 <=
        // 0.01, kept. L1 dynamic on top: 0.008 + 0.02 = 0.028, missed: it stays float.
        var pass = r.Iterations.Where(i => i.Stage == "Dynamic").ToList();
        Assert.Equal(new[] { ("L3", IterationAction.Dynamic, 0.003, 0.008, 1), ("L1", IterationAction.KeptFloat, 0.008, 0.028, 1) },
            pass.Select(i => (i.Layer, i.Action, Math.Round(i.DropBefore, 9), Math.Round(i.DropAfter, 9), i.RevertedCount)));
        // Complete evaluations: a dynamic form's values depend on the batch, so none is decided early.
        Assert.All(pass, i => Assert.Equal((false, 20), (i.DecidedEarly, i.Items)));
        Assert.Equal(0.008, r.Metrics[0].Drop, 9);
        Assert.Equal(new[] { ("L1", "Float"), ("L3", "Dynamic") }, r.RevertedLayers.Select(l => (l.Layer, l.Precision)).OrderBy(p => p.Layer));
        Assert.Equal(new HashSet<string> { "L3" }, FakeBuilder.DecodeDynamic(outcome.Model.ToByteArray()));
        Assert.Equal(new HashSet<string> { "L1", "L3" }, FakeBuilder.Decode(outcome.Model.ToByteArray()).Reverted);
    }

    [Fact]
    public void The_search_before_the_pass_is_the_default_modes_search()
    {
        var (plainBuilder, plainEvaluator) = World();
        var plain = new AccuracyAwareQuantizer(Options with { RestoreMode = RestoreMode.ActivationsAndWeights }).Run(plainBuilder, plainEvaluator).Result;
        var (builder, evaluator) = World("L1", "L3");
        var only = new AccuracyAwareQuantizer(Options).Run(builder, evaluator).Result;
        // The same evaluations (decided early alike) up to the pass, which adds one complete evaluation per layer.
        Assert.Equal(plainEvaluator.Calls, evaluator.Calls.Take(plainEvaluator.Calls.Count));
        Assert.Equal(new[] { ("performance", "L1,L3|L3", 20), ("performance", "L1,L3|L1,L3", 20) }, evaluator.Calls.Skip(plainEvaluator.Calls.Count));
        Assert.Equal(plain.Iterations, only.Iterations.Where(i => i.Stage != "Dynamic"));
        Assert.Contains(plain.Iterations, i => i.DecidedEarly);
    }

    [Fact]
    public void No_dynamic_form_no_pass_and_a_missed_target_none_either()
    {
        var (builder, evaluator) = World();
        Assert.DoesNotContain(new AccuracyAwareQuantizer(Options).Run(builder, evaluator).Result.Iterations, i => i.Stage == "Dynamic");
        // One iteration (L1 reverted, drop 0.018) cannot meet 0.0005: the best model misses, and no dynamic form is tried.
        var (capped, cappedEvaluator) = World("L1", "L3");
        var missed = new AccuracyAwareQuantizer(Options with { MaximalDrop = 0.0005, MaxIterations = 1 }).Run(capped, cappedEvaluator).Result;
        Assert.False(missed.Met);
        Assert.DoesNotContain(missed.Iterations, i => i.Stage == "Dynamic");
        Assert.All(missed.RevertedLayers, l => Assert.Equal("Float", l.Precision));
    }
}
