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
        // Ranking: the current model on the subset, then each layer; decided early, L0 complete, L1-L7 stopped after the
        // 16 short items (the log counts 39 + 39 + 7 * 16), then L1, L2 and L3 completed on the 23 items they skipped as
        // the search reaches them.
        Assert.Equal(9 * 39L, full.RankingInferences);
        Assert.Equal(39 + 39 + 7 * 16 + 3 * 23L, early.RankingInferences);
        Assert.Equal((7, 0), (early.DecidedEarlyEvaluations, full.DecidedEarlyEvaluations));
        Assert.Contains(early.Log, l => l.StartsWith("Ranking 1 (Metric, metric accuracy, 39 items, decided early): 9 evaluations (7 decided early), 190 inferences; top: L0 ", StringComparison.Ordinal));
    }

    private sealed class Killed : Exception;

    [Theory]
    [InlineData(7, null)]
    [InlineData(10, null)]
    [InlineData(11, null)]
    [InlineData(8, 39)]
    [InlineData(12, 39)]
    public void A_decided_run_killed_after_some_evaluations_resumes_to_the_same_result(int killAfter, int? subset)
    {
        // Evaluations: FP32, fully quantized, (on a subset: the current model on it), L0-L7 in the ranking (L1-L7 stopped
        // after 16 items), then the other items of L1 (24, or 23 of the subset), L0+L1, the rest of L2, ...: a kill inside
        // the ranking, and on both sides of the first completion.
        AccuracyAwareOptions Decided(string? checkpoint = null) => Options(true, checkpoint) with { RankingSubsetSize = subset };
        var whole = DisjointWorld.Create();
        var expected = new AccuracyAwareQuantizer(Decided()).Run(new FakeBuilder("performance", DisjointWorld.Layers), whole);
        Assert.Contains(whole.Calls, c => c.Reverted == "L1" && c.Items == (subset == null ? 24 : 23));
        string path = _m.File($"decided-{killAfter}-{subset}.checkpoint");
        var first = DisjointWorld.Create();
        first.OnEvaluate = () => { if (first.Calls.Count == killAfter) throw new Killed(); };
        Assert.Throws<Killed>(() => new AccuracyAwareQuantizer(Decided(path)).Run(new FakeBuilder("performance", DisjointWorld.Layers), first));

        var second = DisjointWorld.Create();
        var resumed = new AccuracyAwareQuantizer(Decided(path)).Run(new FakeBuilder("performance", DisjointWorld.Layers), second);
        Assert.Equal(killAfter, resumed.Result.ResumedEvaluations);
        Assert.Equal(whole.Calls.Skip(killAfter), second.Calls);
        Assert.Equal(expected.Result.Log, resumed.Result.Log);
        Assert.Equal((expected.Result.Inferences, expected.Result.InferencesSaved), (resumed.Result.Inferences, resumed.Result.InferencesSaved));
        Assert.Equal(expected.Result.Iterations, resumed.Result.Iterations);
    }
}
