using Onnx;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Calibration;

public class ActivationCollectorTests
{
    private static readonly float[] W = { 1, -1, 0.5f, 2, 0, -2, -1, 1, 1, 0.5f, 0.25f, -0.5f };

    /// <summary>x[batch,4] -> MatMul(W[4,3]) -> y -> Relu -> z</summary>
    internal static ModelProto MatMulRelu()
    {
        var b = new GraphBuilder("mm");
        var x = b.Input("x", "batch", 4);
        var w = b.Initializer("w", W, 4, 3);
        var y = b.Node("MatMul", new[] { x, w }, "mm");
        var z = b.Node("Relu", new[] { y }, "relu");
        b.Output(z);
        return b.Build();
    }

    internal static NpyDataset Data(int count, int seed = 3)
    {
        var random = new Random(seed);
        var x = Enumerable.Range(0, count * 4).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        return new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = TensorData.FromFloats(x, count, 4) }, null);
    }

    private static float[] MatMulItem(float[] x)
    {
        var y = new float[3];
        for (int n = 0; n < 3; n++)
            for (int k = 0; k < 4; k++) y[n] += x[k] * W[k * 3 + n];
        return y;
    }

    // BatchMemoryBytes = 0: exactly 'batch' items per inference, so the tests below control the batching.
    private static CalibrationStatistics Collect(ModelProto model, IDataset data, RangeEstimatorKind kind, int batch, IEnumerable<string>? tensors = null,
        IProgress<PotProgress>? progress = null, CancellationToken ct = default) =>
        ActivationCollector.Collect(model, data, Enumerable.Range(0, data.Count).ToArray(), new CalibrationRequest
        {
            RangeTensors = (tensors ?? new[] { "x", "mm_out", "relu_out" }).ToArray(),
            Estimator = kind,
            BatchSize = batch,
            BatchMemoryBytes = 0,
            ChannelMeanTensors = tensors == null ? new Dictionary<string, int> { ["x"] = -1, ["mm_out"] = -1 } : new Dictionary<string, int>(),
            Threads = 1,
        }, progress, ct);

    [Fact]
    public void Ranges_and_channel_means_match_plain_math()
    {
        var data = Data(20);
        var stats = Collect(MatMulRelu(), data, RangeEstimatorKind.MeanMinMax, batch: 1);
        var items = Enumerable.Range(0, 20).Select(i => data.Get(i).Inputs["x"].ToFloats()).ToList();
        var outputs = items.Select(MatMulItem).ToList();
        Assert.Equal(items.Average(v => v.Min()), stats.Ranges["x"].Min, 4);
        Assert.Equal(outputs.Average(v => v.Max()), stats.Ranges["mm_out"].Max, 4);
        Assert.Equal(outputs.Average(v => v.Min()), stats.Ranges["mm_out"].Min, 4);
        Assert.Equal(outputs.Average(v => Math.Max(0, v.Min())), stats.Ranges["relu_out"].Min, 4);
        for (int c = 0; c < 3; c++)
            Assert.Equal(outputs.Average(v => v[c]), stats.ChannelMeans["mm_out"].Means[c], 4);
        Assert.Equal(new long[] { 1, 4 }, stats.ChannelMeans["x"].ItemShape);
        Assert.Equal(20, stats.Inferences);
    }

    [Fact]
    public void Batches_give_the_same_per_item_statistics_as_single_items()
    {
        var data = Data(23);
        var one = Collect(MatMulRelu(), data, RangeEstimatorKind.MeanMinMax, batch: 1);
        var eight = Collect(MatMulRelu(), data, RangeEstimatorKind.MeanMinMax, batch: 8);
        Assert.Equal(8, eight.BatchSize);
        Assert.Equal(1 + 3, eight.Inferences); // the probe item, then 8 + 8 + 6
        foreach (var (name, range) in one.Ranges)
        {
            Assert.Equal(range.Min, eight.Ranges[name].Min, 4);
            Assert.Equal(range.Max, eight.Ranges[name].Max, 4);
        }
    }

    [Fact]
    public void A_tensor_that_mixes_the_batch_falls_back_to_single_items()
    {
        var b = new GraphBuilder("t");
        var x = b.Input("x", "batch", 4);
        var t = b.Node("Transpose", new[] { x }, "tr", ("perm", new long[] { 1, 0 }));
        b.Output(t);
        var model = b.Build();
        var data = Data(10);
        var one = Collect(model, data, RangeEstimatorKind.MeanMinMax, 1, new[] { "tr_out" });
        var batched = Collect(model, data, RangeEstimatorKind.MeanMinMax, 4, new[] { "tr_out" });
        Assert.Equal(1, batched.BatchSize);
        Assert.Equal(one.Ranges["tr_out"], batched.Ranges["tr_out"]);
    }

    [Fact]
    public void Accumulator_state_does_not_grow_with_the_number_of_items()
    {
        foreach (var kind in Enum.GetValues<RangeEstimatorKind>())
        {
            // Fixed-range data, so the histograms cannot grow either.
            var small = Collect(MatMulRelu(), ClampedData(8), kind, 4);
            var large = Collect(MatMulRelu(), ClampedData(400), kind, 4);
            // POT's robust aggregators need every item's minimum and maximum: two floats per item and tensor.
            if (RangeStatistics.Create(kind, new RangeEstimatorOptions()) is AggregatedMinMaxStatistic)
                Assert.InRange(large.StateBytes - small.StateBytes, 392 * 8, 2 * 392 * 8 * 4);
            else
                Assert.Equal(small.StateBytes, large.StateBytes);
        }
    }

    private static NpyDataset ClampedData(int count)
    {
        var x = new float[count * 4];
        var random = new Random(count);
        for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        for (int k = 0; k < 4; k++) { x[k] = -2; x[4 + k] = 2; } // the first two items already span the range
        return new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = TensorData.FromFloats(x, count, 4) }, null);
    }

    [Fact]
    public void Items_are_not_kept_after_their_batch()
    {
        var data = new TrackingDataset(Data(50));
        Collect(MatMulRelu(), data, RangeEstimatorKind.Entropy, 5);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.Equal(50, data.Handed.Count);
        Assert.All(data.Handed, w => Assert.False(w.IsAlive));
    }

    /// <summary>Hands out fresh copies of each item and remembers them weakly.</summary>
    private sealed class TrackingDataset(IDataset inner) : IDataset
    {
        public List<WeakReference> Handed { get; } = new();
        public string Source => inner.Source;
        public int Count => inner.Count;
        public IReadOnlyList<string> InputNames => inner.InputNames;
        public bool HasAnnotations => false;

        public DataItem Get(int index)
        {
            var x = inner.Get(index).Inputs["x"];
            var copy = new TensorData(x.Kind, (long[])x.Shape.Clone(), (float[])((float[])x.Data).Clone());
            Handed.Add(new WeakReference(copy.Data));
            return new DataItem(index, new Dictionary<string, TensorData> { ["x"] = copy }, null);
        }
    }

    [Fact]
    public void Progress_is_reported_per_batch_and_cancellation_stops_within_one_batch()
    {
        var data = Data(40);
        var reports = new List<PotProgress>();
        Collect(MatMulRelu(), data, RangeEstimatorKind.MinMax, 10, progress: new SyncProgress(reports.Add));
        Assert.Equal(new[] { 1, 11, 21, 31, 40 }, reports.Select(r => int.Parse(r.Status.Split(' ')[0])));
        Assert.Equal(100, reports[^1].PercentComplete);

        using var cts = new CancellationTokenSource();
        int seen = 0;
        Assert.ThrowsAny<OperationCanceledException>(() =>
            Collect(MatMulRelu(), data, RangeEstimatorKind.MinMax, 10, progress: new SyncProgress(_ => { if (++seen == 2) cts.Cancel(); }), ct: cts.Token));
        Assert.Equal(2, seen);
    }

    [Fact]
    public void A_missing_input_array_is_reported_with_the_names_it_has()
    {
        var b = new GraphBuilder("two");
        var x = b.Input("x", "batch", 4);
        var y = b.Input("y", "batch", 4);
        b.Output(b.Node("Add", new[] { x, y }, "add"));
        var e = Assert.Throws<PotException>(() => Collect(b.Build(), Data(3), RangeEstimatorKind.MinMax, 1, new[] { "add_out" }));
        Assert.Equal("DataInputMissing", e.ErrorId);
        Assert.Contains("'y'", e.Message);
        Assert.Contains("'x'", e.Message);
    }

    internal sealed class SyncProgress(Action<PotProgress> report) : IProgress<PotProgress>
    {
        public void Report(PotProgress value) => report(value);
    }
}
