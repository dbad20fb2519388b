using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>The greedy loop against a fake world where each layer's cost is known, so every decision can be predicted by hand.</summary>
public class AccuracyAwareSearchTests
{
    private static readonly string[] FourLayers = { "L0", "L1", "L2", "L3" };

    /// <summary>Uniform per-item costs: quantizing L1 costs 0.03 accuracy, L3 0.015, L2 0.002, L0 0.001.</summary>
    private static (FakeBuilder, FakeEvaluator) Uniform(double baseline = 1.0, MetricDirection direction = MetricDirection.HigherBetter, string name = "accuracy")
    {
        var metric = new FakeMetric(name, direction, _ => baseline)
            .WithCost("L0", 0.001).WithCost("L1", 0.03).WithCost("L2", 0.002).WithCost("L3", 0.015);
        return (new FakeBuilder("performance", FourLayers), new FakeEvaluator(20, metric));
    }

    private static AccuracyAwareOutcome Run(FakeBuilder b, FakeEvaluator e, AccuracyAwareOptions o, ILayerOutputProbe? probe = null, Func<TimeSpan>? clock = null) =>
        new AccuracyAwareQuantizer(o) { OutputProbe = probe, Clock = clock }.Run(b, e);

    private static string[] Names(AccuracyAwareResult r) => r.RevertedLayers.Select(l => l.Layer).OrderBy(l => l, StringComparer.Ordinal).ToArray();

    [Fact]
    public void RevertsTheCostliestLayersUntilTheDropIsMet()
    {
        var (b, e) = Uniform();
        var r = Run(b, e, new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.01, RankingSubsetSize = 10 }).Result;

        Assert.True(r.Met);
        Assert.Equal(new[] { "L1", "L3" }, Names(r));
        // 0.048 total; -0.03 (L1) = 0.018 > 0.01; -0.015 (L3) = 0.003.
        Assert.Equal(0.048, r.Metrics[0].FullyQuantizedDrop, 9);
        Assert.Equal(0.003, r.Metrics[0].Drop, 9);
        Assert.Equal(new[] { "L1", "L3" }, r.Iterations.Where(i => i.Stage == "Search").Select(i => i.Layer));
        Assert.All(r.Iterations.Where(i => i.Stage == "Search"), i => Assert.Equal(IterationAction.Reverted, i.Action));
        // FP32 + quantized + ranking on 10 items (reference + 4 layers) + 2 iterations + 1 backward try: re-quantizing
        // L3 gives {L1}, already evaluated by iteration 1, so the cache answers.
        Assert.Equal(1 + 1 + 5 + 2 + 1, r.Evaluations);
        Assert.Equal(2, r.Iterations.Count(i => i.Stage == "Backward"));
        Assert.Equal(5, r.RankingEvaluations);
        Assert.Equal(5 * 10L, r.RankingInferences);
        Assert.Equal(4 * 20L + 5 * 10L + 20L, r.Inferences);
        Assert.Equal(1, r.Rankings);
        Assert.Equal(r.Evaluations, e.Calls.Count);
    }

    [Fact]
    public void AbsoluteAndRelativeDropsGiveDifferentTargets()
    {
        var metric = () => new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 0.5)
            .WithCost("L0", 0.001).WithCost("L1", 0.03).WithCost("L2", 0.01).WithCost("L3", 0.015);
        var b = new FakeBuilder("performance", FourLayers);

        // Total drop 0.056. Absolute 0.05: reverting L1 (-> 0.026) is enough.
        var absolute = Run(b, new FakeEvaluator(10, metric()), new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.05 }).Result;
        Assert.Equal(new[] { "L1" }, Names(absolute));
        Assert.Equal(0.05, absolute.Metrics[0].MaxDrop, 12);

        // Relative 0.05 of 0.5 = 0.025: L1 then L3 (-> 0.011).
        var relative = Run(b, new FakeEvaluator(10, metric()), new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.05, DropType = DropType.Relative }).Result;
        Assert.Equal(new[] { "L1", "L3" }, Names(relative));
        Assert.Equal(0.025, relative.Metrics[0].MaxDrop, 12);
        Assert.Equal(0.011 / 0.5, relative.Metrics[0].RelativeDrop, 9);
    }

    [Fact]
    public void RelativeDropOfANegativeMetricUsesItsMagnitude()
    {
        // A log-likelihood-like metric around -2 (higher is better): the allowed drop must be positive.
        var (b, e) = Uniform(baseline: -2.0);
        var r = Run(b, e, new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.01, DropType = DropType.Relative }).Result;
        Assert.Equal(0.02, r.Metrics[0].MaxDrop, 12);
        Assert.True(r.Met);
        Assert.Equal(new[] { "L1" }, Names(r)); // 0.048 - 0.03 = 0.018 <= 0.02
    }

    [Fact]
    public void AHigherWorseMetricDropsWhenItRises()
    {
        var (b, e) = Uniform(baseline: 0.2, direction: MetricDirection.HigherWorse, name: "error");
        var r = Run(b, e, new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.01 }).Result;
        Assert.True(r.Met);
        Assert.Equal(new[] { "L1", "L3" }, Names(r));
        var m = Assert.Single(r.Metrics);
        Assert.Equal(MetricDirection.HigherWorse, m.Direction);
        Assert.Equal(0.2 + 0.048, m.FullyQuantized, 9);
        Assert.Equal(0.048, m.FullyQuantizedDrop, 9);
        Assert.Equal(0.2 + 0.003, m.Final, 9);
    }

    [Fact]
    public void TheMetricFurthestPastItsLimitDrivesThenTheNextOne()
    {
        var accuracy = new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 0.9).WithCost("L0", 0.02);
        var error = new FakeMetric("error", MetricDirection.HigherWorse, _ => 0.1).WithCost("L1", 0.05).WithCost("L2", 0.01);
        var b = new FakeBuilder("performance", "L0", "L1", "L2");
        var r = Run(b, new FakeEvaluator(10, accuracy, error), new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.01, BackwardPass = false }).Result;

        // error: (0.06 - 0.01) / 0.1 = 0.5 past its limit, accuracy (0.02 - 0.01) / 0.9 = 0.011: error first.
        Assert.True(r.Met);
        var search = r.Iterations.Where(i => i.Stage == "Search").ToList();
        Assert.Equal(new[] { ("L1", "error"), ("L0", "accuracy") }, search.Select(i => (i.Layer, i.Metric)));
        Assert.Equal(2, r.Rankings); // initial, then after switching metric
        Assert.All(r.Metrics, m => Assert.True(m.Met));
    }

    /// <summary>
    /// 20 items, ranking subset 5. "Bad" looks best on the hardest items (0-4) but hurts the other 15; "Good" only
    /// matters on items 5-9; "Base" costs 0.1 everywhere.
    /// </summary>
    private static (FakeBuilder, FakeEvaluator) RollbackWorld()
    {
        var m = new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0)
            .WithCost("Bad", i => i < 5 ? 0.2 : -0.15)
            .WithCost("Base", 0.1)
            .WithCost("Good", i => i is >= 5 and < 10 ? 0.3 : 0);
        return (new FakeBuilder("performance", "Bad", "Base", "Good"), new FakeEvaluator(20, m));
    }

    [Fact]
    public void TheLayerJustRolledBackIsNotRevertedNextEvenWhenItRanksFirstAgain()
    {
        // 20 items, ranking subset 5; every layer costs most on items 0-4, where "Bad" looks best, but Bad helps the
        // other 15 items. Fully quantized drop 0.075; reverting Bad -> 0.1375, rolled back. The rejected model's worst
        // items are 0-4 again, so Bad ranks first again: Good (-> 0.0375) is reverted instead, then Base (-> -0.0625).
        var m = new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0)
            .WithCost("Bad", i => i < 5 ? 0.2 : -0.15)
            .WithCost("Base", 0.1)
            .WithCost("Good", i => i < 5 ? 0.15 : 0);
        var b = new FakeBuilder("performance", "Bad", "Base", "Good");
        var r = Run(b, new FakeEvaluator(20, m), new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.01, RankingSubsetSize = 5, BackwardPass = false }).Result;
        var search = r.Iterations.Where(i => i.Stage == "Search").ToList();
        Assert.Equal(new[] { ("Bad", IterationAction.RolledBack), ("Good", IterationAction.Reverted), ("Base", IterationAction.Reverted) },
            search.Select(i => (i.Layer, i.Action)));
        Assert.Equal(0.1375, search[0].DropAfter, 9);
        Assert.Equal(0.0375, search[1].DropAfter, 9);
        Assert.True(r.Met);
        Assert.Equal(new[] { "Base", "Good" }, Names(r));
    }

    [Fact]
    public void ADropIncreaseRollsBackAndReranksOnTheItemsTheRejectedModelGotWrong()
    {
        var (b, e) = RollbackWorld();
        var r = Run(b, e, new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.01, RankingSubsetSize = 5 }).Result;

        // Fully quantized drop 0.1125. Bad: -> 0.175, rolled back; re-ranked on items 5-9: Good (-> 0.0375), Base (-> -0.0625).
        var search = r.Iterations.Where(i => i.Stage == "Search").ToList();
        Assert.Equal(new[] { ("Bad", IterationAction.RolledBack), ("Good", IterationAction.Reverted), ("Base", IterationAction.Reverted) },
            search.Select(i => (i.Layer, i.Action)));
        Assert.Equal(0.1125, search[0].DropBefore, 9);
        Assert.Equal(0.175, search[0].DropAfter, 9);
        Assert.Equal(0, search[0].RevertedCount);
        Assert.Equal(0.0375, search[1].DropAfter, 9);
        Assert.True(r.Met);
        Assert.Equal(new[] { "Base", "Good" }, Names(r));
        Assert.Equal(2, r.Rankings);
        // Backward: Base (score 0.1) then Good (0.3) are both needed.
        Assert.Equal(new[] { ("Base", IterationAction.KeptFloat), ("Good", IterationAction.KeptFloat) },
            r.Iterations.Where(i => i.Stage == "Backward").Select(i => (i.Layer, i.Action)));
    }

    [Fact]
    public void WithoutRollbackAWorseRevertIsKeptAndTheBackwardPassUndoesIt()
    {
        var (b, e) = RollbackWorld();
        var r = Run(b, e, new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.01, RankingSubsetSize = 5, UsePreviousIfDropIncrease = false }).Result;

        var search = r.Iterations.Where(i => i.Stage == "Search").ToList();
        Assert.Equal(new[] { "Bad", "Good", "Base" }, search.Select(i => i.Layer));
        Assert.All(search, i => Assert.Equal(IterationAction.Reverted, i.Action));
        // Backward pass: alone, only Bad keeps the target (quantizing it again helps); on the model without it Base and Good
        // are still needed. The layers that stay float are recorded last, in the order of their scores.
        var backward = r.Iterations.Where(i => i.Stage == "Backward").ToList();
        Assert.Equal(new[] { ("Bad", IterationAction.Requantized), ("Base", IterationAction.KeptFloat), ("Good", IterationAction.KeptFloat) },
            backward.Select(i => (i.Layer, i.Action)));
        Assert.True(r.Met);
        Assert.Equal(new[] { "Base", "Good" }, Names(r));
    }

    [Fact]
    public void TheBackwardPassTriesAgainALayerThatStayedFloatBeforeAnotherWasQuantizedAgain()
    {
        // As above with a cheaper Base (0.05): needed while Bad (mean gain -0.0625) is float, not once Bad is INT8 again.
        var m = new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0)
            .WithCost("Bad", i => i < 5 ? 0.2 : -0.15)
            .WithCost("Base", 0.05)
            .WithCost("Good", i => i is >= 5 and < 10 ? 0.3 : 0);
        var r = Run(new FakeBuilder("performance", "Bad", "Base", "Good"), new FakeEvaluator(20, m),
            new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.01, RankingSubsetSize = 5, UsePreviousIfDropIncrease = false }).Result;

        Assert.Equal(new[] { "Bad", "Base", "Good" }, r.Iterations.Where(i => i.Stage == "Search").Select(i => i.Layer).Order(StringComparer.Ordinal));
        // Alone: Base -> 0.05, Bad -> -0.0625, Good -> 0.075; Bad is quantized again. Then Base (0.05 before) -> -0.0125,
        // quantized again; Good -> 0.0625 stays float.
        var backward = r.Iterations.Where(i => i.Stage == "Backward").ToList();
        Assert.Equal(new[] { ("Bad", IterationAction.Requantized), ("Base", IterationAction.Requantized), ("Good", IterationAction.KeptFloat) },
            backward.Select(i => (i.Layer, i.Action)));
        Assert.Equal(new[] { -0.0625, -0.0125, 0.0625 }, backward.Select(i => Math.Round(i.DropAfter, 9)));
        Assert.True(r.Met);
        Assert.Equal(new[] { "Good" }, Names(r));
    }

    [Fact]
    public void TheBackwardPassKeepsSmallestDropFirstWhenItLeavesFewerLayersFloat()
    {
        // Bad helps (mean cost -0.0625); X costs 0.06, only on items 10-19; Y and Z cost 0.035 each, only on items 0-4. Once
        // Bad is INT8 again there is room for 0.0725: X alone (0.06) or Y and Z (0.07), not X with either. X scores lowest
        // in the rankings (on the hardest items, 0-4), so ranking order quantizes X again first and keeps Y and Z float.
        var m = new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0)
            .WithCost("Bad", i => i < 5 ? 0.2 : -0.15)
            .WithCost("X", i => i >= 10 ? 0.12 : 0)
            .WithCost("Y", i => i < 5 ? 0.14 : 0)
            .WithCost("Z", i => i < 5 ? 0.14 : 0);
        var r = Run(new FakeBuilder("performance", "Bad", "X", "Y", "Z"), new FakeEvaluator(20, m),
            new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.01, RankingSubsetSize = 5, UsePreviousIfDropIncrease = false }).Result;

        Assert.Equal(new[] { "Bad", "X", "Y", "Z" }, r.Iterations.Where(i => i.Stage == "Search").Select(i => i.Layer).Order(StringComparer.Ordinal));
        // Alone on the all-float model: Bad -0.0625 (the only one within the limit), X 0.06, Y and Z 0.035. After Bad: Y
        // (measured 0.035 before) -> -0.0275, then Z -> 0.0075, then X -> 0.0675, which misses.
        var backward = r.Iterations.Where(i => i.Stage == "Backward").ToList();
        Assert.Equal(new[] { ("Bad", IterationAction.Requantized), ("Y", IterationAction.Requantized), ("Z", IterationAction.Requantized), ("X", IterationAction.KeptFloat) },
            backward.Select(i => (i.Layer, i.Action)));
        Assert.Equal(new[] { -0.0625, -0.0275, 0.0075, 0.0675 }, backward.Select(i => Math.Round(i.DropAfter, 9)));
        Assert.Contains("Backward pass: 2 layers float in ranking order, 1 smallest drop first; kept smallest drop first.", r.Log);
        Assert.True(r.Met);
        Assert.Equal(new[] { "X" }, Names(r));
    }

    [Fact]
    public void TheBackwardPassKeepsRankingOrderWhenItLeavesFewerLayersFloat()
    {
        // Exact match on 20 items, an item right while its degradation is at most 0.5. A adds 0.3 on items 0-9; B 0.3 on
        // items 0-4 and 0.6 on item 10; C 0.3 on items 5-9 and 0.6 on item 11; D 0.6 on items 12-19. Alone A loses no
        // item, B and C one each, D eight; A with B or C loses six. The given ranking (A, B, C, D) is reverted in full:
        // 20 items lost, then 10, 9, 8, 0.
        var m = new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0) { RightUpTo = 0.5 }
            .WithCost("A", i => i < 10 ? 0.3 : 0)
            .WithCost("B", i => i < 5 ? 0.3 : i == 10 ? 0.6 : 0)
            .WithCost("C", i => i is >= 5 and < 10 ? 0.3 : i == 11 ? 0.6 : 0)
            .WithCost("D", i => i >= 12 ? 0.6 : 0);
        LayerRank Given(string layer, double score) => new(0, layer, "Conv", score, RankingMethod.Metric, new MetricValues(), double.NaN);
        var r = new AccuracyAwareQuantizer(new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.1 })
        {
            Ranking = new[] { Given("A", 0.9), Given("B", 0.5), Given("C", 0.4), Given("D", 0.3) },
        }.Run(new FakeBuilder("performance", "A", "B", "C", "D"), new FakeEvaluator(20, m)).Result;

        Assert.Equal(new[] { "A", "B", "C", "D" }, r.Iterations.Where(i => i.Stage == "Search").Select(i => i.Layer));
        // In ranking order (lowest score first): D stays float, C and B are quantized again (one item lost each), A
        // stays float (twelve). Smallest drop first: A (none lost) first, then B and C lose six each, D eight: three float.
        Assert.Contains("Backward pass: 2 layers float in ranking order, 3 smallest drop first; kept ranking order.", r.Log);
        Assert.Equal(new[] { ("C", IterationAction.Requantized), ("B", IterationAction.Requantized), ("D", IterationAction.KeptFloat), ("A", IterationAction.KeptFloat) },
            r.Iterations.Where(i => i.Stage == "Backward").Select(i => (i.Layer, i.Action)));
        Assert.True(r.Met);
        Assert.Equal(new[] { "A", "D" }, Names(r));
    }

    [Fact]
    public void SmallestDropFirstMeasuresAgainOnlyTheLayerThatAddedLeast()
    {
        // Costs add up, the same on each of 200 items: A 0.01, B 0.02, C 0.03, Big 0.5. The given ranking (A, B, C, Big) is
        // reverted in full (0.56, 0.55, 0.53, 0.5, then 0), so the backward pass starts from an all-float model with room for 0.1.
        var m = new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0)
            .WithCost("A", 0.01).WithCost("B", 0.02).WithCost("C", 0.03).WithCost("Big", 0.5);
        LayerRank Given(string layer, double score) => new(0, layer, "Conv", score, RankingMethod.Metric, new MetricValues(), double.NaN);
        var e = new FakeEvaluator(200, m);
        var r = new AccuracyAwareQuantizer(new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.1 })
        {
            Ranking = new[] { Given("A", 0.9), Given("B", 0.8), Given("C", 0.7), Given("Big", 0.6) },
        }.Run(new FakeBuilder("performance", "A", "B", "C", "Big"), e).Result;

        Assert.Equal(new[] { "A", "B", "C", "Big" }, r.Iterations.Where(i => i.Stage == "Search").Select(i => i.Layer));
        // Ranking order measured Big (0.5) and C (0.03) alone; smallest drop first estimates A and B on 100 items, measures
        // A (0.01) and takes it. B added 0.02, less than C's 0.03, so only B is measured again (0.01 -> 0.03) and taken,
        // then C (0.03 -> 0.06), then Big misses. Ranked by drop instead, C's 0.03 alone looked smaller than B's 0.03
        // after A, and C was measured once more on that model.
        var log = r.Log.ToList();
        var smallest = log.Skip(log.FindIndex(l => l.StartsWith("Backward pass (smallest drop first)", StringComparison.Ordinal)) + 1)
            .TakeWhile(l => l.StartsWith("  ", StringComparison.Ordinal)).ToList();
        Assert.Equal(new[]
        {
            "  Estimated on 100 items, accuracy drop increase: A 0.01, B 0.02.",
            "  A quantized again: accuracy drop 0 -> 0.01",
            "  Quantized A again: accuracy drop 0 -> 0.01.",
            "  B quantized again: accuracy drop 0.01 -> 0.03",
            "  Quantized B again: accuracy drop 0.01 -> 0.03.",
            "  C quantized again: accuracy drop 0.03 -> 0.06",
            "  Quantized C again: accuracy drop 0.03 -> 0.06.",
            "  Big quantized again: accuracy drop 0.06 -> 0.56",
        }, smallest.Select(l => l.StartsWith("  Estimated", StringComparison.Ordinal) ? l : l.Split(',')[0].Split(" at least")[0]));
        // The estimates ran on 100 items each; no try alone ran on the whole set in that order.
        Assert.Equal(3, e.Calls.Count(c => c.Items == 100));
        Assert.True(r.Met);
        Assert.Equal(new[] { "Big" }, Names(r));
    }

    [Fact]
    public void BackwardPassCanBeTurnedOff()
    {
        var (b, e) = RollbackWorld();
        var r = Run(b, e, new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.01, RankingSubsetSize = 5, UsePreviousIfDropIncrease = false, BackwardPass = false }).Result;
        Assert.Equal(new[] { "Bad", "Base", "Good" }, Names(r));
        Assert.DoesNotContain(r.Iterations, i => i.Stage == "Backward");
    }

    [Fact]
    public void RankingOnTheWholeSetReusesItsEvaluationsForTheSearch()
    {
        // Default ranking_subset_size (300) covers all 20 items: each ranking run is a full evaluation of a
        // one-layer-reverted model, so iteration 1 and both backward tries come from the cache.
        var (b, e) = Uniform();
        var r = Run(b, e, new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.01 }).Result;
        Assert.Equal(new[] { "L1", "L3" }, Names(r));
        Assert.Equal(1 + 1 + 4 + 1, r.Evaluations);
        Assert.Equal(4, r.RankingEvaluations);
        Assert.Equal(e.Calls.Count, r.Evaluations);
        Assert.Equal(e.Calls.Count, e.Calls.Distinct().Count());
    }

    [Fact]
    public void MaxIterNumStopsAndReturnsTheBestModel()
    {
        var (b, e) = Uniform();
        var r = Run(b, e, new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.01, MaxIterations = 1 }).Result;
        Assert.False(r.Met);
        Assert.Contains("max_iter_num (1", r.Reason);
        Assert.Equal(new[] { "L1" }, Names(r));
        Assert.Equal(0.018, r.Metrics[0].Drop, 9);
        Assert.Single(r.Iterations);
    }

    [Fact]
    public void MaxIterNumZeroRunsOnlyDefaultQuantization()
    {
        var (b, e) = Uniform();
        var r = Run(b, e, new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.01, MaxIterations = 0 }).Result;
        Assert.False(r.Met);
        Assert.Empty(r.RevertedLayers);
        Assert.Empty(r.Iterations);
    }

    [Fact]
    public void WhenTheTargetIsUnreachableTheBestModelSeenIsReturnedNotTheLast()
    {
        // Every quantized model loses 0.1 that no revert gives back. Reverting Bad (best on the hardest items) makes
        // the full-set drop worse; without rollback the last model is the worst one.
        var m = new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0) { Offset = _ => 0.1 }
            .WithCost("A", 0.02)
            .WithCost("Bad", i => i < 5 ? 0.2 : -0.15);
        var b = new FakeBuilder("performance", "A", "Bad");
        var outcome = Run(b, new FakeEvaluator(20, m), new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.01, RankingSubsetSize = 5, UsePreviousIfDropIncrease = false });
        var r = outcome.Result;

        Assert.False(r.Met);
        Assert.Contains("Every quantized layer has been reverted", r.Reason);
        Assert.Equal(2, r.Iterations.Count);
        Assert.Empty(r.RevertedLayers); // the fully quantized model (drop 0.0575) beats both later ones (0.12, 0.1)
        Assert.Equal(0.0575, r.Metrics[0].Drop, 9);
        Assert.Equal(b.Build(new HashSet<string>()).ToByteArray(), outcome.Model.ToByteArray());
    }

    [Fact]
    public void MaxEvaluationsStopsWithTheBestSoFar()
    {
        var (b, e) = Uniform();
        var r = Run(b, e, new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, RankingSubsetSize = 10, MaximalDrop = 0.01, MaxEvaluations = 5 }).Result;
        Assert.False(r.Met);
        Assert.Contains("MaxEvaluations (5)", r.Reason);
        Assert.Equal(5, r.Evaluations);
        Assert.Equal(5, e.Calls.Count);
        Assert.Empty(r.RevertedLayers);
    }

    [Fact]
    public void MaxEvaluationsLeavingRoomForOneIterationKeepsItsModel()
    {
        var (b, e) = Uniform();
        // FP32, quantized, 5 ranking evaluations, then one iteration.
        var r = Run(b, e, new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, RankingSubsetSize = 10, MaximalDrop = 0.01, MaxEvaluations = 8 }).Result;
        Assert.False(r.Met);
        Assert.Equal(new[] { "L1" }, Names(r));
        Assert.Equal(8, r.Evaluations);
        // The search stopped inside its second iteration; what it recorded before is in the result.
        var iteration = Assert.Single(r.Iterations);
        Assert.Equal(("Search", "L1", IterationAction.Reverted), (iteration.Stage, iteration.Layer, iteration.Action));
        var reverted = Assert.Single(r.RevertedLayers);
        Assert.Equal((1, RankingMethod.Metric), (reverted.Iteration, reverted.Method));
        Assert.Equal(1, r.Rankings);
        Assert.Equal((1, 1), (r.RankTrials, r.RankHits));
        Assert.Contains("Stopped: MaxEvaluations (8) reached; returning the best model so far.", r.Log);
    }

    [Fact]
    public void ABudgetUsedUpInTheBackwardPassKeepsWhatTheSearchAndThePassRecorded()
    {
        var (b, e) = Uniform();
        // FP32, quantized, 5 ranking evaluations, L1 then L3 reverted (target met): 9. The backward pass tries L3 first
        // (lower score): {L1} is cached and misses the target; trying L1 would be the 10th evaluation. L3, measured on
        // the model returned, is recorded as staying float.
        var r = Run(b, e, new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, RankingSubsetSize = 10, MaximalDrop = 0.01, MaxEvaluations = 9 }).Result;
        Assert.True(r.Met);
        Assert.Equal(new[] { "L1", "L3" }, Names(r));
        Assert.Equal(9, r.Evaluations);
        Assert.Equal(new[] { ("Search", "L1", 1), ("Search", "L3", 2), ("Backward", "L3", 3) }, r.Iterations.Select(i => (i.Stage, i.Layer, i.Index)));
        Assert.Equal(IterationAction.KeptFloat, r.Iterations[2].Action);
        Assert.Equal(new[] { 1, 2 }, r.RevertedLayers.Select(l => l.Iteration));
        Assert.Equal((1, 2), (r.Rankings, r.RankTrials));
        Assert.Contains("Stopped: MaxEvaluations (9) reached; returning the best model so far.", r.Log);
        Assert.Equal("Target met with 2 of 4 layers in float: L1, L3.", r.Reason);
    }

    [Fact]
    public void TimeLimitStopsWithTheBestSoFar()
    {
        var (b, e) = Uniform();
        var clock = new FakeClock();
        e.OnEvaluate = () => clock.Now += TimeSpan.FromSeconds(1);
        var r = Run(b, e, new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.01, TimeLimit = TimeSpan.FromSeconds(4) }, clock: clock.Read).Result;
        Assert.False(r.Met);
        Assert.Contains("TimeLimit", r.Reason);
        Assert.Equal(4, r.Evaluations);
        Assert.Equal(TimeSpan.FromSeconds(4), r.TotalTime);
        Assert.Equal(r.TotalTime, r.StageTimes.Aggregate(TimeSpan.Zero, (a, s) => a + s.Elapsed));
    }

    [Fact]
    public void TimeLimitStopsAnEvaluationThatRunsPastIt()
    {
        var (b, e) = Uniform();
        bool stopped = false;
        // The two mandatory evaluations (FP32, fully quantized) are quick; the first ranking evaluation would take a
        // minute unless its token is cancelled.
        e.During = (call, token) =>
        {
            if (call < 2) return;
            stopped = token.WaitHandle.WaitOne(TimeSpan.FromMinutes(1));
            token.ThrowIfCancellationRequested();
        };
        var r = Run(b, e, new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.01, TimeLimit = TimeSpan.FromMilliseconds(300) }).Result;
        Assert.True(stopped, "the evaluation was not stopped at the time limit");
        Assert.False(r.Met);
        Assert.Contains("TimeLimit", r.Reason);
        Assert.Equal(2, r.Evaluations);   // the stopped evaluation is not counted
    }

    [Fact]
    public void StageTimesAreChargedToTheInnermostStage()
    {
        var (b, e) = Uniform();
        var clock = new FakeClock();
        e.OnEvaluate = () => clock.Now += TimeSpan.FromSeconds(1);
        var r = Run(b, e, new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, RankingSubsetSize = 10, MaximalDrop = 0.01 }, clock: clock.Read).Result;
        var times = r.StageTimes.ToDictionary(s => s.Stage, s => s.Elapsed.TotalSeconds);
        Assert.Equal(1, times["Baseline"]);
        Assert.Equal(1, times["Quantized"]);
        Assert.Equal(5, times["Ranking"]);
        Assert.Equal(2, times["Search"]);
        Assert.Equal(1, times["Backward"]);
    }

    [Fact]
    public void SameInputsGiveTheSameLayersModelAndReport()
    {
        // Equal costs everywhere: only the name tie-break decides.
        AccuracyAwareOutcome Once()
        {
            var m = new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0);
            foreach (var l in new[] { "c", "a", "d", "b" }) m.WithCost(l, 0.01);
            return Run(new FakeBuilder("performance", "c", "a", "d", "b"), new FakeEvaluator(8, m), new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.015 });
        }
        var first = Once();
        var second = Once();
        Assert.Equal(new[] { "a", "b", "c" }, first.Result.RevertedLayers.Select(l => l.Layer));
        Assert.Equal(first.Model.ToByteArray(), second.Model.ToByteArray());
        Assert.Equal(AccuracyAwareReport.ToJson(first.Result), AccuracyAwareReport.ToJson(second.Result));
        Assert.Equal(first.Result.Log, second.Result.Log);
    }

    [Fact]
    public void AModelThatAlreadyMeetsTheTargetIsReturnedAsIs()
    {
        var (b, e) = Uniform();
        var r = Run(b, e, new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.05 }).Result;
        Assert.True(r.Met);
        Assert.Equal("The fully quantized model meets the target.", r.Reason);
        Assert.Equal(2, r.Evaluations);
        Assert.Empty(r.Iterations);
    }

    [Fact]
    public void CancellationStopsTheRun()
    {
        var (b, e) = Uniform();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => new AccuracyAwareQuantizer(new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric }).Run(b, e, cts.Token));
    }

    [Fact]
    public void LogLinesAreReportedAsTheyAreWritten()
    {
        var (b, e) = Uniform();
        var lines = new List<string>();
        var r = new AccuracyAwareQuantizer(new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.01 }) { Log = new LogLines(lines) }.Run(b, e).Result;
        // The sink also gets the time estimate, which the reproducible log leaves out.
        Assert.Equal(r.Log, lines.Where(l => !l.StartsWith("Time estimate at ", StringComparison.Ordinal)));
        Assert.Single(lines, l => l.StartsWith("Time estimate at ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("Iteration 1: reverted L1", StringComparison.Ordinal));
    }
}
