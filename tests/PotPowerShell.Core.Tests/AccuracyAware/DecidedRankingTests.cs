using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>Metric ranking on the full set or a ranking subset, decided early (RankingQueue).</summary>
public class DecidedRankingTests : IClassFixture<OutlierModelFixture>
{
    private readonly OutlierModel _m;

    public DecidedRankingTests(OutlierModelFixture fixture) => _m = fixture.Model;

    private AccuracyAwareResult Run(AccuracyAwareOptions options, string name) => AccuracyAwarePipeline.Run(new AccuracyAwareJob
    {
        ModelPath = _m.ModelPath,
        CalibrationDataPath = _m.CalibrationPath,
        EnginePath = _m.EnginePath,
        Options = options,
    }, _m.File(name));

    [Theory]
    [InlineData(null)]
    [InlineData(120)]
    public void A_decided_early_Metric_ranking_gives_the_path_of_complete_rankings_on_ONNX_Runtime(int? subset)
    {
        // Accuracy (FP32 100 %) with a limit only FP32 meets: every layer is reverted, so the search goes deep into its
        // rankings, and layers stopped early in a ranking must be measured completely before they can come next.
        var options = new AccuracyAwareOptions
        {
            RankingMethod = RankingMethod.Metric, MaximalDrop = 1e-9, BackwardPass = false, RankingSubsetSize = subset,
            Quantization = new DefaultQuantizationOptions { Precision = PrecisionMode.AllInt8 },
        };
        var early = Run(options, "early.onnx");
        var full = Run(options with { DecideEarly = false }, "full.onnx");

        Assert.Equal(full.Iterations.Select(i => (i.Stage, i.Layer, i.Action, i.DropAfter)), early.Iterations.Select(i => (i.Stage, i.Layer, i.Action, i.DropAfter)));
        Assert.Equal(full.RevertedLayers.Select(l => (l.Layer, l.Score)), early.RevertedLayers.Select(l => (l.Layer, l.Score)));
        Assert.Equal(File.ReadAllBytes(full.OutputPath!), File.ReadAllBytes(early.OutputPath!));
        Assert.Equal(full.Metrics.Select(m => m.Final), early.Metrics.Select(m => m.Final));
        Assert.Equal(full.Rankings, early.Rankings);
        Assert.True(early.DecidedEarlyEvaluations > 0, "some ranking evaluation should have been decided early");
        Assert.True(early.RankingInferences < full.RankingInferences, $"{early.RankingInferences} ranking inferences against {full.RankingInferences}");
        Assert.Contains(early.Log, l => l.StartsWith($"Ranking 1 (Metric, metric accuracy@top1, {subset ?? 200} items, decided early)", StringComparison.Ordinal));
    }

    private static AccuracyAwareOptions Options(bool decideEarly, string? checkpoint = null) =>
        new() { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.051, BackwardPass = false, DecideEarly = decideEarly, CheckpointPath = checkpoint };

    [Fact]
    public void Layers_stopped_early_are_measured_completely_when_the_search_reaches_them()
    {
        // DisjointWorld: L0 is measured first and completely. Every later layer stops once the 16 items where the fully
        // quantized model is short of 1 are measured: the other 24 can only stay at 1, so its drop is known and larger
        // than L0's. The search keeps reverting down the first ranking (each drop smaller): L0, L1, L2, L3 (drop 0.05).
        AccuracyAwareResult Search(bool decideEarly) => new AccuracyAwareQuantizer(Options(decideEarly)).Run(new FakeBuilder("performance", DisjointWorld.Layers), DisjointWorld.Create()).Result;
        var early = Search(true);
        var full = Search(false);

        Assert.Equal(new[] { "L0", "L1", "L2", "L3" }, full.Iterations.Where(i => i.Stage == "Search").Select(i => i.Layer));
        Assert.Equal(1, full.Rankings);
        Assert.Equal(full.Iterations, early.Iterations);
        Assert.Equal(full.RevertedLayers, early.RevertedLayers);
        Assert.Equal(full.Metrics, early.Metrics);
        // Ranking: the reference is cached; L0 complete, L1-L7 stopped after 16 items; then L1, L2 and L3 completed as
        // the search reaches them (each has the smallest drop left, so no other layer is measured), each on the 24 items
        // it skipped.
        Assert.Equal(8 * 40L, full.RankingInferences);
        Assert.Equal(40 + 7 * 16 + 3 * 24L, early.RankingInferences);
        Assert.Equal((7, 0), (early.DecidedEarlyEvaluations, full.DecidedEarlyEvaluations));
        // Saved: the 24 items each of L4-L7 never needed (the rest of L1-L3 was measured after all).
        Assert.Equal((4 * 24L, 0L), (early.InferencesSaved, full.InferencesSaved));
        Assert.Contains(early.Log, l => l.StartsWith("Ranking 1 (Metric, metric accuracy, 40 items, decided early): 8 evaluations (7 decided early), 152 inferences; top: L0 0.04", StringComparison.Ordinal));
    }

    [Fact]
    public void A_ranking_on_a_subset_is_decided_early_along_the_path_of_complete_rankings()
    {
        // The 39 hardest of DisjointWorld's 40 items: the 16 where the fully quantized model is short of 1, and 23 at 1.
        // The search is the one on every item: L0, L1, L2, L3.
        AccuracyAwareResult Search(bool decideEarly) => new AccuracyAwareQuantizer(Options(decideEarly) with { RankingSubsetSize = 39 })
            .Run(new FakeBuilder("performance", DisjointWorld.Layers), DisjointWorld.Create()).Result;
        var early = Search(true);
        var full = Search(false);

        Assert.Equal(new[] { "L0", "L1", "L2", "L3" }, full.Iterations.Where(i => i.Stage == "Search").Select(i => i.Layer));
        Assert.Equal(full.Iterations, early.Iterations);
        Assert.Equal(full.RevertedLayers, early.RevertedLayers);
        Assert.Equal(full.Metrics, early.Metrics);
        // Ranking: the current model on the subset (measured when complete, taken from its full-set evaluation when
        // decided early), then each layer; decided early, L0 complete, L1-L7 stopped after the 16 short items (the log
        // counts 39 + 7 * 16), then L1, L2 and L3 completed on the 23 items they skipped as the search reaches them.
        Assert.Equal(9 * 39L, full.RankingInferences);
        Assert.Equal(39 + 7 * 16 + 3 * 23L, early.RankingInferences);
        Assert.Equal((7, 0), (early.DecidedEarlyEvaluations, full.DecidedEarlyEvaluations));
        Assert.Contains(early.Log, l => l.StartsWith("Ranking 1 (Metric, metric accuracy, 39 items, decided early): 8 evaluations (7 decided early), 151 inferences; top: L0 ", StringComparison.Ordinal));
    }

    /// <summary>
    /// 40 items, right while their degradation is at most 0.5; the fully quantized model gets items 0-15 wrong. Reverting
    /// L0 mends items 0-2, L1 items 3-7, L2 items 8-11 but breaks items 20 and 21 (its cost there offsets L7's), L3-L6
    /// one of items 12-15 each, L7 nothing.
    /// </summary>
    private static FakeEvaluator BreakingWorld()
    {
        var metric = new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0) { RightUpTo = 0.5 };
        metric.WithCost("L0", item => item <= 2 ? 1 : 0);
        metric.WithCost("L1", item => item is >= 3 and <= 7 ? 1 : 0);
        metric.WithCost("L2", item => item is >= 8 and <= 11 ? 1 : item is 20 or 21 ? -1 : 0);
        for (int k = 3; k <= 6; k++)
        {
            int mended = 9 + k;
            metric.WithCost($"L{k}", item => item == mended ? 1 : 0);
        }
        metric.WithCost("L7", item => item is 20 or 21 ? 1 : 0);
        return new FakeEvaluator(40, metric) { Bounds = (0, 1) };
    }

    [Fact]
    public void A_stopped_layer_is_taken_up_only_until_it_is_certain_to_come_after_the_next_layer()
    {
        // The ranking: L0 complete (drop 0.325), L1 complete (0.275, the top), L2 stopped after the 16 wrong items (at
        // least 0.3; 0.35 in truth), L3-L7 stopped too. The search reverts L1 (0.275), then needs the next layer: L2
        // could still beat L0, so it is taken up on the items it skipped, in index order, until item 20 breaks (16 to 20,
        // 5 items): from there it can do no better than L0's 0.325, and L0 is reverted (0.2, the limit). L2 is never
        // completed: its last 19 items are never measured.
        AccuracyAwareResult Search(bool decideEarly) => new AccuracyAwareQuantizer(Options(decideEarly) with { MaximalDrop = 0.2 })
            .Run(new FakeBuilder("performance", DisjointWorld.Layers), BreakingWorld()).Result;
        var early = Search(true);
        var full = Search(false);

        Assert.Equal(new[] { "L1", "L0" }, full.Iterations.Where(i => i.Stage == "Search").Select(i => i.Layer));
        Assert.Equal(full.Iterations, early.Iterations);
        Assert.Equal(full.RevertedLayers, early.RevertedLayers);
        Assert.Equal(full.Metrics, early.Metrics);
        Assert.Equal(8 * 40L, full.RankingInferences);
        Assert.Equal(40 + 40 + 6 * 16 + 5L, early.RankingInferences);
        // Stopped: L2-L7 in the ranking, and L2 again when it was taken up.
        Assert.Equal(7, early.DecidedEarlyEvaluations);
        Assert.Equal(6 * 24 - 5L, early.InferencesSaved);
    }

    private sealed class Killed : Exception;

    [Theory]
    [InlineData(7, null)]
    [InlineData(10, null)]
    [InlineData(11, null)]
    [InlineData(7, 39)]
    [InlineData(11, 39)]
    public void A_decided_run_killed_after_some_evaluations_resumes_to_the_same_result(int killAfter, int? subset)
    {
        // Evaluations: FP32, fully quantized, L0-L7 in the ranking (L1-L7 stopped after 16 items), then the other items
        // of L1 (24, or 23 of the subset), L0+L1, the rest of L2, ...: a kill inside the ranking, and on both sides of
        // the first completion.
        var whole = KillAndResume(() => DisjointWorld.Create(), Options(true) with { RankingSubsetSize = subset }, killAfter);
        Assert.Contains(whole.Calls, c => c.Reverted == "L1" && c.Items == (subset == null ? 24 : 23));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(11)]
    public void A_run_killed_around_a_stopped_layer_taken_up_again_resumes_to_the_same_result(int killAfter)
    {
        // Evaluations: FP32, fully quantized, L0-L7 in the ranking (L1 reverted is L1's complete ranking evaluation), L2
        // taken up on 5 items (the 11th), L0 reverted.
        var whole = KillAndResume(BreakingWorld, Options(true) with { MaximalDrop = 0.2 }, killAfter);
        Assert.Equal(("L2", 5), (whole.Calls[10].Reverted, whole.Calls[10].Items));
    }

    /// <summary>Runs uninterrupted, then killed after <paramref name="killAfter"/> evaluations and run again from the checkpoint: the same run.</summary>
    private FakeEvaluator KillAndResume(Func<FakeEvaluator> world, AccuracyAwareOptions options, int killAfter)
    {
        var whole = world();
        var expected = new AccuracyAwareQuantizer(options).Run(new FakeBuilder("performance", DisjointWorld.Layers), whole);
        string path = _m.File($"decided-{Guid.NewGuid():N}.checkpoint");
        var first = world();
        first.OnEvaluate = () => { if (first.Calls.Count == killAfter) throw new Killed(); };
        Assert.Throws<Killed>(() => new AccuracyAwareQuantizer(options with { CheckpointPath = path }).Run(new FakeBuilder("performance", DisjointWorld.Layers), first));

        var second = world();
        var resumed = new AccuracyAwareQuantizer(options with { CheckpointPath = path }).Run(new FakeBuilder("performance", DisjointWorld.Layers), second);
        Assert.Equal(killAfter, resumed.Result.ResumedEvaluations);
        Assert.Equal(whole.Calls.Skip(killAfter), second.Calls);
        Assert.Equal(expected.Result.Log, resumed.Result.Log);
        Assert.Equal((expected.Result.Inferences, expected.Result.InferencesSaved), (resumed.Result.Inferences, resumed.Result.InferencesSaved));
        Assert.Equal(expected.Result.Iterations, resumed.Result.Iterations);
        return whole;
    }
}
