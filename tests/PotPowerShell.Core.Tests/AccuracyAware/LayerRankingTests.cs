using PotPowerShell.Core.Config;
using PotPowerShell.Core.Tests.Quantization;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.AccuracyAware;

public class LayerRankingTests
{
    private static readonly string[] Layers = { "conv1", "conv2", "conv3", "fc1", "fc2", "fc3" };

    /// <summary>Seeded random per-item costs, so the test's own arithmetic is the only source of the expected ranking.</summary>
    private static Dictionary<string, double[]> RandomCosts(int items, int seed)
    {
        var random = new Random(seed);
        return Layers.ToDictionary(l => l, _ => Enumerable.Range(0, items).Select(_ => Math.Round(random.NextDouble() * 0.1 - 0.02, 4)).ToArray());
    }

    private static FakeMetric Metric(Dictionary<string, double[]> costs, MetricDirection direction = MetricDirection.HigherBetter)
    {
        var m = new FakeMetric("top1", direction, _ => 0.8);
        foreach (var (layer, c) in costs) m.WithCost(layer, i => c[i]);
        return m;
    }

    [Fact]
    public void Signal_ranking_puts_a_layer_that_makes_items_right_before_one_that_only_brings_them_closer()
    {
        // Exact match on 20 items, every one ranked: quantized conv1 makes item 4 wrong; fc1 and fc2 make no item wrong
        // but lower every item's character-level signal by 0.3 and 0.2 (conv1 lowers item 4's by 0.2).
        const int items = 20;
        var m = new FakeMetric("exact", MetricDirection.HigherBetter, _ => 1).WithCost("conv1", i => i == 4 ? 1 : 0);
        m.Signal = (tag, reverted, i) => tag == "fp32" ? 1
            : 1 - (!reverted.Contains("conv1") && i == 4 ? 0.2 : 0) - (reverted.Contains("fc1") ? 0 : 0.3) - (reverted.Contains("fc2") ? 0 : 0.2);
        var ranking = new AccuracyAwareQuantizer(new AccuracyAwareOptions { Quantization = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster }, RankingSubsetSize = items })
            .RankLayers(new FakeBuilder("performance", Layers), new FakeEvaluator(items, m), RankingMethod.Signal);

        // conv1: metric gain 1/20 plus a thousandth of its signal gain 0.2/20; fc1 and fc2: a thousandth of 0.3 and 0.2.
        Assert.Equal(new[] { "conv1", "fc1", "fc2" }, ranking.Layers.Take(3).Select(r => r.Layer));
        Assert.Equal(0.05 + 0.01 / 1000, ranking.Layers[0].Score, 12);
        Assert.Equal(0.3 / 1000, ranking.Layers[1].Score, 12);
        Assert.Equal(0.2 / 1000, ranking.Layers[2].Score, 12);
    }

    [Theory]
    [InlineData(MetricDirection.HigherBetter)]
    [InlineData(MetricDirection.HigherWorse)]
    public void MetricRankingEqualsPerLayerDeltasComputedIndependently(MetricDirection direction)
    {
        const int items = 30, subsetSize = 10;
        var costs = RandomCosts(items, seed: 7);
        var evaluator = new FakeEvaluator(items, Metric(costs, direction));
        var ranking = new AccuracyAwareQuantizer(new AccuracyAwareOptions { Quantization = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster }, RankingSubsetSize = subsetSize })
            .RankLayers(new FakeBuilder("performance", Layers), evaluator, RankingMethod.Metric);

        // Ranking subset: the items where the fully quantized model is worst (total cost), ties by index.
        var subset = Enumerable.Range(0, items).OrderByDescending(i => Layers.Sum(l => costs[l][i])).ThenBy(i => i).Take(subsetSize).ToList();
        // Reverting a layer gives back its cost on those items.
        var expected = Layers.Select(l => (Layer: l, Gain: subset.Average(i => costs[l][i])))
            .OrderByDescending(x => x.Gain).ThenBy(x => x.Layer, StringComparer.Ordinal).ToList();

        Assert.Equal(expected.Select(x => x.Layer), ranking.Layers.Select(r => r.Layer));
        Assert.Equal(Enumerable.Range(1, Layers.Length), ranking.Layers.Select(r => r.Rank));
        foreach (var (rank, exp) in ranking.Layers.Zip(expected))
        {
            Assert.Equal(exp.Gain, rank.Score, 9);
            double sign = direction == MetricDirection.HigherBetter ? 1 : -1;
            Assert.Equal(sign * exp.Gain, rank.MetricDeltas.Of("top1"), 9);
            Assert.Equal(RankingMethod.Metric, rank.Method);
            Assert.True(double.IsNaN(rank.OutputError));
        }
        Assert.Equal("top1", ranking.Metric);
        Assert.Equal(subsetSize, ranking.SubsetSize);
        Assert.Equal(1 + Layers.Length, ranking.Evaluations);
        Assert.Equal((1 + Layers.Length) * (long)subsetSize, ranking.Inferences);
    }

    [Fact]
    public void OutputErrorRankingConfirmsOnlyTheTopLayersWithTheMetric()
    {
        const int items = 20, subsetSize = 8;
        var metric = new FakeMetric("top1", MetricDirection.HigherBetter, _ => 0.9)
            .WithCost("conv1", 0.01).WithCost("conv2", 0.05).WithCost("conv3", 0.001)
            .WithCost("fc1", 0.02).WithCost("fc2", 0.003).WithCost("fc3", 0.004);
        var builder = new FakeBuilder("performance", Layers);
        var added = new Dictionary<string, double>
        {
            ["conv1"] = 0.09, ["conv2"] = 0.08, ["conv3"] = 0.001, ["fc1"] = 0.01, ["fc2"] = 0.002, ["fc3"] = 0.03,
        };
        var probe = new FakeProbe(builder, added);
        var ranking = new AccuracyAwareQuantizer(new AccuracyAwareOptions { Quantization = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster }, RankingSubsetSize = subsetSize, ConfirmTopLayers = 2 }) { OutputProbe = probe }
            .RankLayers(builder, new FakeEvaluator(items, metric), RankingMethod.OutputError);

        // Score = error accumulated at the layer's output (the running sum along the chain) + its own error.
        double running = 0;
        var score = Layers.ToDictionary(l => l, l => { running += added[l]; return running + added[l]; });
        var byProxy = Layers.OrderByDescending(l => score[l]).ThenBy(l => l, StringComparer.Ordinal).ToList();
        // The top two by proxy (conv2, fc3) are measured with the metric and ordered by it; the rest keep proxy order.
        Assert.Equal(new[] { "conv2", "fc3" }, byProxy.Take(2));
        Assert.Equal(new[] { "conv2", "fc3" }.Concat(byProxy.Skip(2)), ranking.Layers.Select(r => r.Layer));
        Assert.Equal(new[] { RankingMethod.Metric, RankingMethod.Metric, RankingMethod.OutputError, RankingMethod.OutputError, RankingMethod.OutputError, RankingMethod.OutputError },
            ranking.Layers.Select(r => r.Method));
        Assert.Equal(0.05, ranking.Layers[0].Score, 9);
        Assert.Equal(0.004, ranking.Layers[1].Score, 9);
        foreach (var r in ranking.Layers) Assert.Equal(score[r.Layer], r.OutputError, 9);
        foreach (var r in ranking.Layers.Skip(2)) Assert.Equal(score[r.Layer], r.Score, 9);
        Assert.Empty(ranking.Layers[2].MetricDeltas);
        Assert.Equal(1, probe.Passes);
        // Reference + 2 confirmations on the subset, plus FP32 and the candidate once each per subset item.
        Assert.Equal(3, ranking.Evaluations);
        Assert.Equal(3L * subsetSize + 2L * subsetSize, ranking.Inferences);
    }

    [Fact]
    public void OutputErrorReachesTheSameModelAsMetricWithFewerInferences()
    {
        var metric = () => new FakeMetric("top1", MetricDirection.HigherBetter, _ => 0.9)
            .WithCost("conv1", 0.004).WithCost("conv2", 0.05).WithCost("conv3", 0.001)
            .WithCost("fc1", 0.02).WithCost("fc2", 0.003).WithCost("fc3", 0.002);
        var builder = new FakeBuilder("performance", Layers);
        var added = new Dictionary<string, double> { ["conv1"] = 0.01, ["conv2"] = 0.2, ["conv3"] = 0.001, ["fc1"] = 0.05, ["fc2"] = 0.004, ["fc3"] = 0.002 };
        var options = new AccuracyAwareOptions { Quantization = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster }, MaximalDrop = 0.02, RankingSubsetSize = 10, ConfirmTopLayers = 2 };

        var byMetric = new AccuracyAwareQuantizer(options).Run(builder, new FakeEvaluator(40, metric())).Result;
        var byError = new AccuracyAwareQuantizer(options with { RankingMethod = RankingMethod.OutputError }) { OutputProbe = new FakeProbe(builder, added) }
            .Run(builder, new FakeEvaluator(40, metric())).Result;

        Assert.True(byMetric.Met);
        Assert.True(byError.Met);
        Assert.Equal(byMetric.RevertedLayers.Select(l => l.Layer), byError.RevertedLayers.Select(l => l.Layer));
        Assert.Equal(byMetric.Metrics[0].Drop, byError.Metrics[0].Drop, 12);
        Assert.True(byError.RankingInferences < byMetric.RankingInferences,
            $"OutputError spent {byError.RankingInferences} ranking inferences, Metric {byMetric.RankingInferences}");
        Assert.Equal(7L * 10, byMetric.RankingInferences);
        Assert.Equal(3L * 10 + 2L * 10, byError.RankingInferences);
    }

    [Fact]
    public void OutputErrorConfirmsTheNextLayersWhenTheConfirmedOnesAreUsedUp()
    {
        var metric = new FakeMetric("top1", MetricDirection.HigherBetter, _ => 0.9)
            .WithCost("conv1", 0.004).WithCost("conv2", 0.05).WithCost("conv3", 0.001)
            .WithCost("fc1", 0.02).WithCost("fc2", 0.003).WithCost("fc3", 0.002);
        var builder = new FakeBuilder("performance", Layers);
        var probe = new FakeProbe(builder, new Dictionary<string, double> { ["conv1"] = 0.01, ["conv2"] = 0.2, ["conv3"] = 0.001, ["fc1"] = 0.05, ["fc2"] = 0.004, ["fc3"] = 0.002 });
        var r = new AccuracyAwareQuantizer(new AccuracyAwareOptions { Quantization = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster }, MaximalDrop = 0.02, RankingSubsetSize = 10, ConfirmTopLayers = 1, RankingMethod = RankingMethod.OutputError }) { OutputProbe = probe }
            .Run(builder, new FakeEvaluator(40, metric)).Result;

        // One confirmed layer at a time: conv2 (drop 0.08 -> 0.03), then the next in output-error order, fc1, is
        // confirmed on the model without conv2 (-> 0.01). No second instrumented pass.
        Assert.True(r.Met);
        Assert.Equal(new[] { "conv2", "fc1" }, r.RevertedLayers.Select(l => l.Layer));
        Assert.All(r.RevertedLayers, l => Assert.Equal(RankingMethod.Metric, l.Method));
        Assert.Equal(1, r.Rankings);
        Assert.Equal(1, probe.Passes);
        Assert.Contains(r.Log, l => l.StartsWith("Confirmed the next 1 layers with top1", StringComparison.Ordinal));
        // Ranking: probe 2x10, reference 10, conv2 10. Confirmation: fc1 10 ({conv2} on the subset is cached).
        Assert.Equal(40L + 10L, r.RankingInferences);
    }
}
