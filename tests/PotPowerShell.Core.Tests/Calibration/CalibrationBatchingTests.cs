using Onnx;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Tests.Quantization;

namespace PotPowerShell.Core.Tests.Calibration;

/// <summary>
/// Calibration is batched for speed (automatic batches, graph optimizations, Relu outputs computed from their inputs);
/// none of that may change what it measures. Compared bit for bit with one item per inference on an unoptimized graph
/// that fetches every tensor, on the digits sample (convolutions), a small transformer stack and a MatMul test model.
/// </summary>
public class CalibrationBatchingTests
{
    private static readonly Lazy<(ModelProto Model, IDataset Data, CalibrationRequest Request)> Digits = new(() =>
    {
        var model = ModelPreparation.Prepare(OnnxModelFile.Load(DigitsSampleTests.Sample("digits.onnx")));
        // 97 items: batches of the automatic size plus a shorter last one.
        var all = NpyDataset.Open(DigitsSampleTests.Sample("calibration"));
        return (model, Subset(all, 97), RequestFor(model));
    });

    private static readonly Lazy<(ModelProto Model, IDataset Data, CalibrationRequest Request)> Transformer = new(() =>
    {
        var model = ModelPreparation.Prepare(SyntheticModels.TransformerStack(layers: 2, hidden: 32, heads: 2, sequence: 8, feedForward: 64));
        var data = new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = SyntheticModels.NormalData(21, new long[] { 8, 32 }, 5) }, null);
        return (model, data, RequestFor(model));
    });

    /// <summary>What DefaultQuantization asks for: every tensor the emitter quantizes plus FastBiasCorrection's channel means.</summary>
    private static CalibrationRequest RequestFor(ModelProto prepared)
    {
        var none = new HashSet<string>();
        return new CalibrationRequest
        {
            RangeTensors = QdqEmitter.TensorsToCalibrate(prepared, none),
            ChannelMeanTensors = BiasCorrection.StatisticsNeeded(prepared, QdqEmitter.Layers(prepared, none), fast: true),
            Threads = 1,
        };
    }

    private static NpyDataset Subset(NpyDataset data, int count)
    {
        var input = data.InputNames.Single();
        var first = data.Get(0).Inputs[input];
        var stacked = TensorData.ConcatFirstAxis(Enumerable.Range(0, count).Select(i => data.Get(i).Inputs[input]).ToList());
        Assert.Equal(first.Length * count, stacked.Length);
        return new NpyDataset("subset", new Dictionary<string, TensorData> { [input] = stacked }, null);
    }

    private static CalibrationStatistics Collect(ModelProto model, IDataset data, CalibrationRequest request) =>
        ActivationCollector.Collect(model, data, Enumerable.Range(0, data.Count).ToArray(), request, null, CancellationToken.None);

    /// <summary>The reference: one item per inference, no graph optimization, every tensor fetched from ONNX Runtime.</summary>
    private static CalibrationRequest ItemByItem(CalibrationRequest request) =>
        request with { BatchSize = 1, BatchMemoryBytes = 0, Graph = CalibrationGraph.Unoptimized, DeriveTensors = false };

    private static void AssertIdentical(CalibrationStatistics expected, CalibrationStatistics actual)
    {
        Assert.Equal(expected.Ranges.Keys, actual.Ranges.Keys);
        foreach (var (name, range) in expected.Ranges)
        {
            // Bit patterns, so that even -0 against +0 would count as a difference.
            Assert.True(BitConverter.SingleToInt32Bits(range.Min) == BitConverter.SingleToInt32Bits(actual.Ranges[name].Min), $"{name}: min {range.Min:R} vs {actual.Ranges[name].Min:R}");
            Assert.True(BitConverter.SingleToInt32Bits(range.Max) == BitConverter.SingleToInt32Bits(actual.Ranges[name].Max), $"{name}: max {range.Max:R} vs {actual.Ranges[name].Max:R}");
        }
        Assert.Equal(expected.ChannelMeans.Keys.OrderBy(k => k, StringComparer.Ordinal), actual.ChannelMeans.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (name, mean) in expected.ChannelMeans)
        {
            Assert.Equal(mean.ItemShape, actual.ChannelMeans[name].ItemShape);
            Assert.True(mean.Means.SequenceEqual(actual.ChannelMeans[name].Means), $"{name}: channel means differ");
        }
    }

    public static TheoryData<RangeEstimatorKind> Estimators => new(Enum.GetValues<RangeEstimatorKind>());

    [Theory]
    [MemberData(nameof(Estimators))]
    public void Automatic_batches_give_the_item_by_item_statistics_bit_for_bit_on_the_digits_sample(RangeEstimatorKind kind)
    {
        var (model, data, request) = Digits.Value;
        request = request with { Estimator = kind, Graph = CalibrationGraph.Extended };
        var batched = Collect(model, data, request);
        Assert.True(batched.BatchSize > 1, "the digits sample has a dynamic batch axis, so items should share inferences");
        Assert.True(batched.Inferences < data.Count);
        AssertIdentical(Collect(model, data, ItemByItem(request)), batched);
    }

    [Theory]
    [InlineData(RangeEstimatorKind.MeanMinMax)]
    [InlineData(RangeEstimatorKind.Quantile)]
    public void With_ORT_ENABLE_ALL_automatic_batches_give_its_item_by_item_statistics_bit_for_bit(RangeEstimatorKind kind)
    {
        // What DefaultQuantization runs: the NCHWc graph, batched, with derived tensors; against the same graph item by item.
        var (model, data, request) = Digits.Value;
        request = request with { Estimator = kind, Graph = CalibrationGraph.All };
        var batched = Collect(model, data, request);
        Assert.True(batched.BatchSize > 1);
        AssertIdentical(Collect(model, data, request with { BatchSize = 1, BatchMemoryBytes = 0, DeriveTensors = false }), batched);
    }

    [Theory]
    [InlineData(RangeEstimatorKind.MeanMinMax)]
    [InlineData(RangeEstimatorKind.Entropy)]
    public void Automatic_batches_give_the_item_by_item_statistics_bit_for_bit_on_a_transformer_stack(RangeEstimatorKind kind)
    {
        var (model, data, request) = Transformer.Value;
        request = request with { Estimator = kind, Graph = CalibrationGraph.Extended };
        var batched = Collect(model, data, request);
        Assert.True(batched.BatchSize > 1);
        AssertIdentical(Collect(model, data, ItemByItem(request)), batched);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(7)]
    public void An_explicit_batch_size_gives_the_item_by_item_statistics_bit_for_bit(int batch)
    {
        var (model, data, request) = Transformer.Value;
        request = request with { BatchSize = batch, BatchMemoryBytes = 0, Estimator = RangeEstimatorKind.MeanMinMax };
        var batched = Collect(model, data, request);
        Assert.Equal(batch, batched.BatchSize);
        Assert.Equal(1 + (data.Count - 1 + batch - 1) / batch, batched.Inferences);
        AssertIdentical(Collect(model, data, ItemByItem(request)), batched);
    }

    [Theory]
    [MemberData(nameof(Estimators))]
    public void Statistics_taken_on_two_threads_equal_one_threads_bit_for_bit(RangeEstimatorKind kind)
    {
        // ActivationCollector gives a batch's tensors to their statistics side by side: each statistic must still see
        // its items in order, and no buffer may be shared (Quantile and the channel means read Relu'd copies).
        var (model, data, request) = Digits.Value;
        var alternatives = new[] { new RangeEstimatorOptions { Kind = RangeEstimatorKind.Quantile }, new RangeEstimatorOptions { Kind = RangeEstimatorKind.Auto } };
        request = request with { Estimator = kind, Graph = CalibrationGraph.All, AlternativeEstimators = alternatives };
        var one = Collect(model, data, request);
        var two = Collect(model, data, request with { Threads = 2 });
        // Batches of about 26 digits: their tensors hold far more than ActivationCollector.ParallelElements values.
        Assert.True(one.BatchSize > 16);
        AssertIdentical(one, two);
        foreach (var (key, ranges) in one.RangesByEstimator)
            Assert.Equal(ranges, two.RangesByEstimator[key]);
        Assert.Equal(one.RangeChoicesByEstimator.Keys, two.RangeChoicesByEstimator.Keys);
        foreach (var (key, choices) in one.RangeChoicesByEstimator)
            Assert.Equal(choices, two.RangeChoicesByEstimator[key]);
    }

    [Fact]
    public void A_statistic_that_refuses_its_values_on_two_threads_is_the_same_error_as_on_one()
    {
        // hl_estimator pairs every item: past its limit each tensor's statistic refuses, and the error is the refusal
        // itself (not an AggregateException of the threads'), as on one thread.
        var model = ModelPreparation.Prepare(SyntheticModels.TransformerStack(layers: 1, hidden: 64, heads: 2, sequence: 8, feedForward: 128));
        int items = AggregatedMinMaxStatistic.MaxHodgesLehmannItems + 64; // the batch that crosses the limit is shared out
        var data = new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = SyntheticModels.NormalData(items, new long[] { 8, 64 }, 5) }, null);
        foreach (int threads in new[] { 1, 2 })
        {
            var request = RequestFor(model) with { Estimator = RangeEstimatorKind.HodgesLehmannMinMax, Threads = threads };
            var e = Assert.Throws<PotException>(() => Collect(model, data, request));
            Assert.Equal("RangeEstimatorTooManyItems", e.ErrorId);
        }
    }

    [Fact]
    public void Extended_graph_optimization_and_derived_relus_change_nothing()
    {
        foreach (var (model, data, request) in new[] { Digits.Value, Transformer.Value })
        {
            var reference = Collect(model, data, ItemByItem(request) with { BatchSize = 8 });
            AssertIdentical(reference, Collect(model, data, request with { BatchSize = 8, BatchMemoryBytes = 0, Graph = CalibrationGraph.Extended }));
            AssertIdentical(reference, Collect(model, data, request with { BatchSize = 8, BatchMemoryBytes = 0, DeriveTensors = true }));
        }
    }

    [Fact]
    public void The_nchwc_layout_of_ORT_ENABLE_ALL_changes_values_only_in_the_last_bits()
    {
        var (model, data, request) = Digits.Value;
        var reference = Collect(model, data, ItemByItem(request));
        var all = Collect(model, data, request with { Graph = CalibrationGraph.All });
        foreach (var (name, range) in reference.Ranges)
        {
            Assert.Equal(range.Min, all.Ranges[name].Min, 1e-5 * Math.Max(1, Math.Abs(range.Min)));
            Assert.Equal(range.Max, all.Ranges[name].Max, 1e-5 * Math.Max(1, Math.Abs(range.Max)));
        }
        foreach (var (name, mean) in reference.ChannelMeans)
            for (int c = 0; c < mean.Means.Length; c++)
                Assert.Equal(mean.Means[c], all.ChannelMeans[name].Means[c], 1e-5 * Math.Max(1, Math.Abs(mean.Means[c])));
    }

    [Fact]
    public void Relu_and_flatten_outputs_whose_input_is_fetched_are_not_fetched_again()
    {
        var (model, _, request) = Digits.Value;
        var sinks = new TensorSinks(model, request);
        var derived = model.Graph.Node.Where(n => n.OpType is "Relu" or "Flatten" && sinks.Wanted.Contains(n.Input[0]) && sinks.Wanted.Contains(n.Output[0])).ToList();
        Assert.Contains(derived, n => n.OpType == "Relu");
        Assert.Contains(derived, n => n.OpType == "Flatten");
        Assert.All(derived, r => Assert.DoesNotContain(r.Output[0], sinks.Fetched));
        Assert.All(derived, r => Assert.Contains(r.Input[0], sinks.Fetched));
        var fetchAll = new TensorSinks(model, request with { DeriveTensors = false });
        Assert.Equal(fetchAll.Wanted, fetchAll.Fetched);
    }

    [Fact]
    public void Alternative_estimators_of_derived_relu_outputs_equal_their_own_passes()
    {
        // MeanMinMax takes Relu outputs on the fly; Quantile needs the Relu'd values: one pass must serve both.
        var (model, data, request) = Digits.Value;
        var quantile = new RangeEstimatorOptions { Kind = RangeEstimatorKind.Quantile };
        var minMax = new RangeEstimatorOptions { Kind = RangeEstimatorKind.MinMax };
        var shared = Collect(model, data, request with { Graph = CalibrationGraph.All, AlternativeEstimators = new[] { quantile, minMax } });
        foreach (var alternative in new[] { quantile, minMax })
        {
            var alone = Collect(model, data, request with { Graph = CalibrationGraph.All, Estimator = alternative.Kind!.Value, EstimatorOptions = alternative });
            Assert.Equal(alone.Ranges, shared.RangesByEstimator[RangeStatistics.Key(alternative)]);
        }
        Assert.Equal(Collect(model, data, request with { Graph = CalibrationGraph.All }).Ranges, shared.Ranges);
    }

    [Theory]
    [InlineData(100, 1L << 20, 64)]      // small items: capped
    [InlineData(40_000, 1L << 20, 26)]
    [InlineData(4L << 20, 1L << 20, 1)]  // an item above the budget still runs
    [InlineData(0, 1L << 20, 64)]
    public void The_automatic_batch_fills_the_memory_budget(long itemBytes, long budget, int expected) =>
        Assert.Equal(expected, PotPowerShell.Core.Runtime.BatchPlan.Automatic(itemBytes, budget));

    [Fact]
    public void A_larger_stat_batch_size_than_the_automatic_one_is_honoured()
    {
        var (model, data, request) = Transformer.Value;
        var stats = Collect(model, data, request with { BatchSize = 16, BatchMemoryBytes = 1 });
        Assert.Equal(16, stats.BatchSize);
        Assert.Equal(1 + 2, stats.Inferences); // the probe item, then 16 + 4
    }
}
