using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>Rankings in shards (Get-LayerRanking -Layer) and a search that starts from given rankings (-Ranking).</summary>
public class RankingShardTests
{
    private static readonly string[] Layers = { "L0", "L1", "L2", "L3", "L4" };

    private static FakeEvaluator World() => new(40, new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0)
        .WithCost("L0", i => i % 3 == 0 ? 0.004 : 0.0).WithCost("L1", 0.03).WithCost("L2", i => i % 2 == 0 ? 0.02 : -0.01)
        .WithCost("L3", 0.015).WithCost("L4", i => 0.001 * (i % 5)));

    [Theory]
    [InlineData(RankingMethod.Signal)]
    [InlineData(RankingMethod.Metric)]
    public void Shards_score_their_layers_as_the_whole_ranking_does(RankingMethod method)
    {
        var builder = new FakeBuilder("performance", Layers);
        var options = new AccuracyAwareOptions { RankingSubsetSize = 15 };
        var whole = new AccuracyAwareQuantizer(options).RankLayers(builder, World(), method);
        var first = new AccuracyAwareQuantizer(options).RankLayers(builder, World(), method, layers: new[] { "L0", "L3" });
        var second = new AccuracyAwareQuantizer(options).RankLayers(builder, World(), method, layers: new[] { "L1", "L2", "L4" });

        Assert.Equal(new[] { "L0", "L3" }, first.Layers.Select(r => r.Layer).Order(StringComparer.Ordinal));
        Assert.Equal(whole.Items, first.Items);
        var merged = first.Layers.Concat(second.Layers).OrderByDescending(r => r.Score).ThenBy(r => r.Layer, StringComparer.Ordinal);
        Assert.Equal(whole.Layers.Select(r => (r.Layer, r.Score)), merged.Select(r => (r.Layer, r.Score)));
        Assert.True(first.Evaluations < whole.Evaluations);
    }

    [Fact]
    public void A_search_from_the_rankings_it_would_measure_takes_the_same_path_without_measuring_the_first()
    {
        var builder = new FakeBuilder("performance", Layers);
        var options = new AccuracyAwareOptions { MaximalDrop = 0.005, RankingSubsetSize = 15 };
        var shards = new[] { new[] { "L0", "L3" }, new[] { "L1", "L2", "L4" } }
            .SelectMany(shard => new AccuracyAwareQuantizer(options).RankLayers(builder, World(), RankingMethod.Signal, layers: shard).Layers).ToList();

        var measured = new AccuracyAwareQuantizer(options).Run(builder, World());
        var given = new AccuracyAwareQuantizer(options) { Ranking = shards }.Run(builder, World());

        Assert.Equal(measured.Model.ToByteArray(), given.Model.ToByteArray());
        Assert.Equal(measured.Result.Iterations.Select(i => (i.Layer, i.Action)), given.Result.Iterations.Select(i => (i.Layer, i.Action)));
        Assert.True(given.Result.RankingEvaluations < measured.Result.RankingEvaluations,
            $"{given.Result.RankingEvaluations} ranking evaluations with given rankings, {measured.Result.RankingEvaluations} without");
        Assert.Contains(given.Result.Log, l => l.StartsWith("Ranking 1 (given, 5 of 5 layers ranked)", StringComparison.Ordinal));
    }

    [Fact]
    public void Unknown_layers_are_refused_by_name()
    {
        var builder = new FakeBuilder("performance", Layers);
        var e = Assert.Throws<PotException>(() => new AccuracyAwareQuantizer(new AccuracyAwareOptions()).RankLayers(builder, World(), RankingMethod.Signal, layers: new[] { "L1", "conv9" }));
        Assert.Equal("LayerUnknown", e.ErrorId);
        Assert.Contains("conv9", e.Message);
        var rank = new LayerRank(1, "gemm7", "Gemm", 0.5, RankingMethod.Signal, new MetricValues(), double.NaN);
        e = Assert.Throws<PotException>(() => new AccuracyAwareQuantizer(new AccuracyAwareOptions()) { Ranking = new[] { rank } }.Run(builder, World()));
        Assert.Equal("RankingLayerUnknown", e.ErrorId);
        Assert.Contains("gemm7", e.Message);
    }
}
