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

    /// <summary>The path of the checkpoint <paramref name="name"/> of a run killed after <paramref name="killAfter"/> evaluations.</summary>
    private string Interrupted(string name, int killAfter, RankingMethod method = RankingMethod.Signal)
    {
        string path = Path.Combine(_folder, name);
        var first = World();
        first.OnEvaluate = () => { if (first.Calls.Count == killAfter) throw new Killed(); };
        Assert.Throws<Killed>(() => new AccuracyAwareQuantizer(Options(method, path)).Run(new FakeBuilder("performance", Layers), first));
        return path;
    }

    [Theory]
    [InlineData(RankingMethod.Signal, 3)]
    [InlineData(RankingMethod.Signal, 11)]
    [InlineData(RankingMethod.Metric, 9)]
    public void A_run_killed_after_some_evaluations_resumes_to_the_same_result(RankingMethod method, int killAfter)
    {
        var builder = new FakeBuilder("performance", Layers);
        var whole = World();
        var expected = new AccuracyAwareQuantizer(Options(method, null)).Run(builder, whole);

        string path = Interrupted($"{method}-{killAfter}.checkpoint", killAfter, method);
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
        string path = Interrupted("other.checkpoint", 4);

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

        // A byte changed inside the first of five records: its checksum fails with records after it, which no
        // interrupted append leaves.
        string flipped = Interrupted("flipped.checkpoint", 5);
        var bytes = File.ReadAllBytes(flipped);
        bytes[bytes.Length / 4] ^= 0x40;
        File.WriteAllBytes(flipped, bytes);
        e = Assert.Throws<PotException>(() => new AccuracyAwareQuantizer(Options(RankingMethod.Signal, flipped)).Run(new FakeBuilder("performance", Layers), World()));
        Assert.Equal("CheckpointInvalid", e.ErrorId);
        Assert.Contains("checksum", e.Message);
    }

    public static TheoryData<string> TornEnds => new() { "cut", "zeros", "stale" };

    [Theory]
    [MemberData(nameof(TornEnds))]
    public void A_checkpoint_whose_last_record_was_torn_resumes_without_it(string tear)
    {
        // A kill while the fifth record is appended leaves part of it; a crash may leave zeros or stale bytes of the
        // same length where it should be. The four before it are replayed, the fifth evaluation runs again.
        var builder = new FakeBuilder("performance", Layers);
        var whole = World();
        var expected = new AccuracyAwareQuantizer(Options(RankingMethod.Signal, null)).Run(builder, whole);
        string four = Interrupted($"{tear}-4.checkpoint", 4), path = Interrupted($"{tear}-5.checkpoint", 5);
        var bytes = File.ReadAllBytes(path);
        int last = File.ReadAllBytes(four).Length;
        Assert.True(bytes.Length - last > 12, "the fifth record should follow the first four");
        bytes = tear switch
        {
            "cut" => bytes[..^7],
            "zeros" => bytes[..last].Concat(new byte[bytes.Length - last]).ToArray(),
            _ => bytes[..^1].Append((byte)(bytes[^1] ^ 1)).ToArray(),
        };
        File.WriteAllBytes(path, bytes);

        var second = World();
        var log = new List<string>();
        var resumed = new AccuracyAwareQuantizer(Options(RankingMethod.Signal, path)) { Log = new LogLines(log) }.Run(builder, second);

        Assert.Equal(4, resumed.Result.ResumedEvaluations);
        Assert.Contains(log, l => l.Contains("4 evaluations recorded are replayed") && l.Contains("cut short"));
        Assert.Equal(whole.Calls.Skip(4), second.Calls);
        Assert.Equal(expected.Result.RevertedLayers.Select(l => l.Layer), resumed.Result.RevertedLayers.Select(l => l.Layer));
        Assert.Equal(expected.Model.ToByteArray(), resumed.Model.ToByteArray());
    }

    [Fact]
    public void An_append_waits_for_a_lock_held_elsewhere_for_a_moment()
    {
        // A virus scanner or a backup holding the file briefly must not fail a long run.
        string path = Path.Combine(_folder, "locked.checkpoint");
        var checkpoint = SearchCheckpoint.Open(path, "run");
        var result = new EvaluationResult(new Dictionary<string, double> { ["accuracy"] = 0.5 }, new Dictionary<string, double[]> { ["accuracy"] = new[] { 1.0 } }, new[] { 0 }, TimeSpan.Zero);
        checkpoint.Record("first", result);
        var held = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        // Released by a thread of its own: a thread-pool continuation can wait longer than the append's two seconds
        // while the other tests keep the pool busy (it failed so in one full run of the suite).
        var release = new Thread(() =>
        {
            Thread.Sleep(500);
            held.Dispose();
        });
        release.Start();
        try
        {
            // Without the wait the append fails at once (CheckpointWriteFailed) while the lock is held.
            checkpoint.Record("second", result);
        }
        finally
        {
            release.Join();
        }
        var reopened = SearchCheckpoint.Open(path, "run");
        Assert.Equal(2, reopened.Resumed);
        Assert.True(reopened.TryReplay("first", out _) && reopened.TryReplay("second", out _));

        // Ctrl+C ends the wait: a lock held for good, cancelled after 0.3 s, stops the append long before its two seconds.
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        using (new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
            Assert.ThrowsAny<OperationCanceledException>(() => reopened.Record("third", result, stop.Token));
    }

    [Fact]
    public void Each_evaluation_appends_one_record_and_leaves_the_others_as_they_were()
    {
        // Appending, not rewriting: every earlier checkpoint is a prefix of the later ones.
        var files = new[] { 2, 3, 6 }.Select(k => File.ReadAllBytes(Interrupted($"prefix-{k}.checkpoint", k))).ToArray();
        for (int k = 1; k < files.Length; k++)
        {
            Assert.True(files[k].Length > files[k - 1].Length);
            Assert.Equal(files[k - 1], files[k][..files[k - 1].Length]);
        }
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
