using System.Collections.Immutable;
using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>
/// Decided-early evaluations measure the items where the current model is furthest from the best value first; a
/// complete one is given back as an evaluation in index order gives it.
/// </summary>
public class HardFirstOrderTests : IClassFixture<OutlierModelFixture>
{
    private readonly OutlierModel _m;

    public HardFirstOrderTests(OutlierModelFixture fixture) => _m = fixture.Model;

    private static SearchContext Context(AccuracyAwareOptions options, IEvaluator evaluator) =>
        new(options, evaluator, new FakeBuilder("performance", "L0"), null, null, null, () => TimeSpan.Zero, CancellationToken.None);

    private static MetricCriterion Accuracy(MetricDirection direction = MetricDirection.HigherBetter) => new("accuracy", direction, 1, false, 0.01);

    private static EvaluationResult Current(params double[] values) =>
        new(new Dictionary<string, double> { ["accuracy"] = values.Where(v => !double.IsNaN(v)).Average() },
            new Dictionary<string, double[]> { ["accuracy"] = values }, Enumerable.Range(0, values.Length).ToArray(), TimeSpan.Zero);

    private static IEvaluator Bounded(int items, MetricDirection direction = MetricDirection.HigherBetter) =>
        new FakeEvaluator(items, new FakeMetric("accuracy", direction, _ => 1)) { Bounds = (0, 1) };

    [Fact]
    public void Items_furthest_from_the_best_value_come_first_ties_by_index_and_items_without_a_value_last()
    {
        var ctx = Context(new AccuracyAwareOptions(), Bounded(6));
        var order = DecidedEarly.Order(ctx, Accuracy(), Current(1, 0, double.NaN, 0.5, 0, 1));
        Assert.Equal(new[] { 1, 4, 3, 0, 5, 2 }, order);

        // Higher is worse: the distance is to the lower bound.
        var lower = Context(new AccuracyAwareOptions(), Bounded(3, MetricDirection.HigherWorse));
        Assert.Equal(new[] { 2, 1, 0 }, DecidedEarly.Order(lower, Accuracy(MetricDirection.HigherWorse), Current(0, 0.25, 1)));
    }

    [Fact]
    public void Among_items_at_the_best_value_those_another_model_fell_short_on_come_first()
    {
        var ctx = Context(new AccuracyAwareOptions(), Bounded(6));
        // The other model measured items 5, 1 and 2 only (stopped early), and fell short on 5 most, then 2.
        var likely = new EvaluationResult(new Dictionary<string, double> { ["accuracy"] = 0.5 },
            new Dictionary<string, double[]> { ["accuracy"] = new[] { 0.0, 1, 0.5 } }, new[] { 5, 1, 2 }, TimeSpan.Zero) { StoppedEarly = true };
        Assert.Equal(new[] { 3, 5, 2, 0, 1, 4 }, DecidedEarly.Order(ctx, Accuracy(), Current(1, 1, 1, 0, 1, 1), likely));
    }

    [Fact]
    public void Among_items_at_the_same_value_those_with_the_thinnest_margin_come_first()
    {
        var ctx = Context(new AccuracyAwareOptions(), Bounded(6));
        // Items 1 and 4 are wrong; among the right ones the margins order them 5, 0, 3, and item 2 has no signal.
        var current = Current(1, 0, 1, 1, 0, 1) with
        {
            Signals = new Dictionary<string, double[]> { ["accuracy"] = new[] { 0.4, -0.2, double.NaN, 0.9, -0.1, 0.05 } },
        };
        Assert.Equal(new[] { 1, 4, 5, 0, 3, 2 }, DecidedEarly.Order(ctx, Accuracy(), current));

        // On a ranking subset (items 10 to 15 of a larger set), the same order of the subset's items.
        var subset = current with { Items = Enumerable.Range(10, 6).ToArray() };
        Assert.Equal(new[] { 11, 14, 15, 10, 13, 12 }, DecidedEarly.SubsetOrder(ctx, Accuracy(), subset));

        // The evaluator's fragility, where it gives one, comes before the signal (exact match: every right line's
        // signal is 1, its fragility the CTC margin).
        var fragile = current with { Fragility = new Dictionary<string, double[]> { ["accuracy"] = new[] { 0.1, 0.0, 0.3, 0.2, 0.0, 0.9 } } };
        Assert.Equal(new[] { 1, 4, 0, 3, 2, 5 }, DecidedEarly.Order(ctx, Accuracy(), fragile));
    }

    [Fact]
    public void A_backward_try_measures_first_the_items_the_fully_quantized_model_fell_short_on()
    {
        // Each of 8 layers breaks two of the last 16 of 40 items; 0.051 allows two broken items, so the search leaves
        // one layer quantized, and quantizing any other again breaks two more: certain to miss once a third is measured.
        var metric = new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0);
        foreach (var (layer, k) in DisjointWorld.Layers.Select((l, k) => (l, k))) metric.WithCost(layer, item => (39 - item) / 2 == k ? 1.0 : 0);
        var result = new AccuracyAwareQuantizer(new AccuracyAwareOptions { RankingMethod = RankingMethod.Metric, MaximalDrop = 0.051 })
            .Run(new FakeBuilder("performance", DisjointWorld.Layers), new FakeEvaluator(40, metric) { Bounds = (0, 1) }).Result;
        var tries = result.Iterations.Where(i => i.Stage == "Backward" && i.DecidedEarly).ToList();
        Assert.Equal(7, result.RevertedLayers.Count);
        Assert.NotEmpty(tries);
        // The current model's 2 short items, then the fully quantized model's 16: in index order the tried layer's two
        // items come after the first 24 at best everywhere.
        Assert.All(tries, t => Assert.InRange(t.Items, 3, 18));
    }

    [Fact]
    public void Index_order_is_kept_when_decided_early_evaluation_is_off_or_a_metric_has_no_bounds()
    {
        var current = Current(1, 0, 0.5);
        Assert.NotNull(DecidedEarly.Order(Context(new AccuracyAwareOptions(), Bounded(3)), Accuracy(), current));
        Assert.Null(DecidedEarly.Order(Context(new AccuracyAwareOptions { DecideEarly = false }, Bounded(3)), Accuracy(), current));
        // only_activations' search reverts to float (its dynamic pass evaluates completely): decided early as any other.
        Assert.NotNull(DecidedEarly.Order(Context(new AccuracyAwareOptions { RestoreMode = RestoreMode.OnlyActivations }, Bounded(3)), Accuracy(), current));
        Assert.Null(DecidedEarly.Order(Context(new AccuracyAwareOptions(), new FakeEvaluator(3, new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1))), Accuracy(), current));
        // A stopped evaluation of the current model says nothing about the items it did not reach.
        Assert.Null(DecidedEarly.Order(Context(new AccuracyAwareOptions(), Bounded(3)), Accuracy(), current with { StoppedEarly = true }));
    }

    [Fact]
    public void A_complete_evaluation_in_hard_first_order_is_bit_for_bit_the_evaluation_in_index_order()
    {
        using var calibration = NpyDataset.Open(_m.CalibrationPath);
        var builder = QuantizedModelBuilder.Create(_m.ModelPath, calibration, new DefaultQuantizationOptions { Precision = PrecisionMode.AllInt8 });
        File.WriteAllText(_m.File("order.yml"), "metrics:\n  - type: cosine_similarity\n    reference: fp32\n  - type: accuracy\ndataset:\n  data_source: validation\n");
        var source = new QuantizationSource("performance", new DefaultQuantizationOptions(), builder);
        var candidate = new ModelCandidate(source, ImmutableSortedSet.Create(StringComparer.Ordinal, builder.Layers[0].Node));
        EvaluationSession Session(Evaluator e) => new(e, new AccuracyAwareOptions(), () => TimeSpan.Zero, null, CancellationToken.None);

        using var natural = new Evaluator(EngineDefinition.Load(_m.File("order.yml")), new EvaluatorOptions { ReferenceModel = builder.FloatModel.ToByteArray() });
        var expected = Session(natural).Evaluate(candidate, null);
        using var shuffled = new Evaluator(EngineDefinition.Load(_m.File("order.yml")), new EvaluatorOptions { ReferenceModel = builder.FloatModel.ToByteArray() });
        int n = shuffled.Data.Count;
        // Every batch (32 items by default) holds other items than in index order.
        var order = Enumerable.Range(0, n).Select(i => (i * 37 + 11) % n).ToArray();
        Assert.Equal(n, order.Distinct().Count());
        var session = Session(shuffled);
        int measured = 0;
        var result = session.EvaluateUntilDecided(candidate, (count, _) => { measured = count; return false; }, order: order);

        Assert.False(result.StoppedEarly);
        Assert.True(measured > 0, "the stop rule is asked after each item but the last");
        Assert.Equal(expected.Items, result.Items);
        Assert.Equal(expected.Values, result.Values);
        foreach (var name in expected.PerItem.Keys)
        {
            Assert.Equal(expected.PerItem[name], result.PerItem[name]);
            Assert.Equal(expected.Signals[name], result.Signals[name]);
        }
        // Cached as the full-set evaluation of that model.
        Assert.Same(result, session.Evaluate(candidate, null));
    }
}
