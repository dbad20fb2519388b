using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>checkpoint_path: a run interrupted after any evaluation resumes where it stopped and ends as an uninterrupted run.</summary>
public sealed class CheckpointTests : IDisposable
{
    private static readonly string[] Layers = { "L0", "L1", "L2", "L3", "L4" };
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "pot-checkpoint-" + Guid.NewGuid().ToString("N"));

    public CheckpointTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Per-item costs that differ between items, so rankings, roll-backs and the backward pass all happen.</summary>
    private static FakeEvaluator World() => new(30, new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0)
        .WithCost("L0", i => i % 3 == 0 ? 0.004 : 0.0).WithCost("L1", 0.03).WithCost("L2", i => i % 2 == 0 ? 0.02 : -0.01)
        .WithCost("L3", 0.015).WithCost("L4", i => 0.001 * (i % 5)));

    private static AccuracyAwareOptions Options(RankingMethod method, string? checkpoint) =>
        new() { RankingMethod = method, MaximalDrop = 0.005, RankingSubsetSize = 12, ConfirmOnFullSet = 2, CheckpointPath = checkpoint };

    private sealed class Killed : Exception;

    [Theory]
    [InlineData(RankingMethod.Signal, 3)]
    [InlineData(RankingMethod.Signal, 11)]
    [InlineData(RankingMethod.Metric, 9)]
    public void A_run_killed_after_some_evaluations_resumes_to_the_same_result(RankingMethod method, int killAfter)
    {
        var builder = new FakeBuilder("performance", Layers);
        var whole = World();
        var expected = new AccuracyAwareQuantizer(Options(method, null)).Run(builder, whole);

        string path = Path.Combine(_folder, $"{method}-{killAfter}.checkpoint");
        var first = World();
        first.OnEvaluate = () => { if (first.Calls.Count == killAfter) throw new Killed(); };
        Assert.Throws<Killed>(() => new AccuracyAwareQuantizer(Options(method, path)).Run(builder, first));
        Assert.True(File.Exists(path));
        Assert.Empty(Directory.GetFiles(_folder, "*.tmp", SearchOption.AllDirectories).Concat(Directory.GetFiles(_folder, ".*")));

        var second = World();
        var resumed = new AccuracyAwareQuantizer(Options(method, path)).Run(builder, second);

        Assert.Equal(killAfter, resumed.Result.ResumedEvaluations);
        // Nothing recorded is inferred again: the resumed run asks the evaluator for the rest only.
        Assert.Equal(whole.Calls.Skip(killAfter), second.Calls);
        Assert.Equal(expected.Result.Log, resumed.Result.Log);
        Assert.Equal(expected.Result.Evaluations, resumed.Result.Evaluations);
        Assert.Equal(expected.Result.Inferences, resumed.Result.Inferences);
        Assert.Equal(expected.Result.RevertedLayers.Select(l => l.Layer), resumed.Result.RevertedLayers.Select(l => l.Layer));
        Assert.Equal(expected.Model.ToByteArray(), resumed.Model.ToByteArray());
        Assert.True(whole.Calls.Count > killAfter, "the world should need more evaluations than the kill allows");
    }

    [Fact]
    public void A_recorded_evaluation_is_replayed_with_its_values_signals_and_fragility()
    {
        // Decided-early orders come from the replayed results: every per-item array must come back as it was.
        string path = Path.Combine(_folder, "round-trip.checkpoint");
        static Dictionary<string, double[]> One(params double[] values) => new() { ["accuracy"] = values };
        var recorded = new EvaluationResult(new Dictionary<string, double> { ["accuracy"] = 0.5 }, One(1, 0), new[] { 3, 1 }, TimeSpan.FromMilliseconds(7))
        {
            StoppedEarly = true, BatchSize = 2, Inferences = 1, Signals = One(0.25, -0.5), Fragility = One(0.125, double.PositiveInfinity),
        };
        SearchCheckpoint.Open(path, "run").Record("model", recorded);

        Assert.True(SearchCheckpoint.Open(path, "run").TryReplay("model", out var replayed));
        Assert.Equal((recorded.StoppedEarly, recorded.BatchSize, recorded.Inferences, recorded.Elapsed), (replayed.StoppedEarly, replayed.BatchSize, replayed.Inferences, replayed.Elapsed));
        Assert.Equal(recorded.Items, replayed.Items);
        Assert.Equal(recorded.Values, replayed.Values);
        Assert.Equal(recorded.PerItem["accuracy"], replayed.PerItem["accuracy"]);
        Assert.Equal(recorded.Signals["accuracy"], replayed.Signals["accuracy"]);
        Assert.Equal(recorded.Fragility["accuracy"], replayed.Fragility["accuracy"]);
    }

    [Fact]
    public void A_checkpoint_of_another_run_is_refused_by_name()
    {
        var builder = new FakeBuilder("performance", Layers);
        string path = Path.Combine(_folder, "other.checkpoint");
        var first = World();
        first.OnEvaluate = () => { if (first.Calls.Count == 4) throw new Killed(); };
        Assert.Throws<Killed>(() => new AccuracyAwareQuantizer(Options(RankingMethod.Signal, path)).Run(builder, first));

        var e = Assert.Throws<PotException>(() => new AccuracyAwareQuantizer(Options(RankingMethod.Signal, path) with { MaximalDrop = 0.02 }).Run(builder, World()));
        Assert.Equal("CheckpointMismatch", e.ErrorId);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void A_damaged_checkpoint_is_refused_not_replayed()
    {
        string path = Path.Combine(_folder, "damaged.checkpoint");
        File.WriteAllBytes(path, new byte[] { 1, 2, 3 });
        var e = Assert.Throws<PotException>(() => new AccuracyAwareQuantizer(Options(RankingMethod.Signal, path)).Run(new FakeBuilder("performance", Layers), World()));
        Assert.Equal("CheckpointInvalid", e.ErrorId);

        var builder = new FakeBuilder("performance", Layers);
        var first = World();
        first.OnEvaluate = () => { if (first.Calls.Count == 5) throw new Killed(); };
        string cut = Path.Combine(_folder, "cut.checkpoint");
        Assert.Throws<Killed>(() => new AccuracyAwareQuantizer(Options(RankingMethod.Signal, cut)).Run(builder, first));
        var bytes = File.ReadAllBytes(cut);
        File.WriteAllBytes(cut, bytes[..^7]);
        e = Assert.Throws<PotException>(() => new AccuracyAwareQuantizer(Options(RankingMethod.Signal, cut)).Run(builder, World()));
        Assert.Equal("CheckpointInvalid", e.ErrorId);
    }

    [Fact]
    public void A_checkpoint_path_that_is_the_output_is_refused_before_anything_runs()
    {
        string output = Path.Combine(_folder, "out.onnx");
        var e = Assert.Throws<PotException>(() => AccuracyAwarePipeline.Run(new AccuracyAwareJob
        {
            ModelPath = Path.Combine(_folder, "missing.onnx"),
            EnginePath = Path.Combine(_folder, "missing.yml"),
            Options = new AccuracyAwareOptions { CheckpointPath = output },
        }, output));
        Assert.Equal("CheckpointPathConflict", e.ErrorId);
        Assert.False(File.Exists(output));
    }
}
