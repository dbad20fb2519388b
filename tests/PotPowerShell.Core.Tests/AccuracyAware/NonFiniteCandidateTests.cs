using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>A candidate whose outputs hold NaN or Inf is refused, however small its metric drop looks.</summary>
public class NonFiniteCandidateTests
{
    /// <summary>A fake evaluator whose quantized models give a NaN output on one item while <paramref name="brokenLayer"/> is INT8.</summary>
    private sealed class NanWhileQuantized(FakeEvaluator inner, string brokenLayer) : IEvaluator
    {
        public IReadOnlyList<MetricDefinition> Metrics => inner.Metrics;
        public PotPowerShell.Core.Data.IDataset Data => inner.Data;
        public IReadOnlyDictionary<string, (double Min, double Max)> MeanItemBounds => inner.MeanItemBounds;

        public EvaluationResult Evaluate(byte[] model, IReadOnlyList<int>? items, CancellationToken cancellationToken, IProgress<PotProgress>? progress = null)
        {
            var result = inner.Evaluate(model, items, cancellationToken, progress);
            var (tag, reverted) = FakeBuilder.Decode(model);
            bool broken = tag != "fp32" && !reverted.Contains(brokenLayer) && result.Items.Contains(3);
            return broken ? result with { NonFiniteItems = 1, FirstNonFiniteItem = 3 } : result;
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_nearly_lossless_candidate_with_non_finite_outputs_is_never_accepted(bool decidedEarly)
    {
        // Every layer costs almost nothing: the fully quantized model would meet a 0.01 drop at once.
        var metric = new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0)
            .WithCost("L0", 0.001).WithCost("L1", 0.001).WithCost("L2", 0.001);
        // With per-item bounds, confirmations and backward-pass tries are decided-early evaluations.
        var evaluator = new NanWhileQuantized(new FakeEvaluator(20, metric) { Bounds = decidedEarly ? (0, 1) : null }, brokenLayer: "L1");
        var outcome = new AccuracyAwareQuantizer(new AccuracyAwareOptions { MaximalDrop = 0.01, RankingSubsetSize = 10 })
            .Run(new FakeBuilder("performance", "L0", "L1", "L2"), evaluator);
        var r = outcome.Result;
        Assert.Contains(r.Log, line => line.StartsWith("Refused the performance model with 0 layer(s) reverted", StringComparison.Ordinal) && line.Contains("first item 3"));
        Assert.Contains("L1", r.RevertedLayers.Select(l => l.Layer));
        Assert.True(r.Met);
        Assert.All(r.Metrics, m => Assert.True(double.IsFinite(m.Final)));
        // The report shows the fully quantized model at the worst value its refusal gave it.
        Assert.All(r.Metrics, m => Assert.Equal(double.NegativeInfinity, m.FullyQuantized));
    }

    /// <summary>A fake evaluator whose FP32 model gives a NaN output on item 5.</summary>
    private sealed class NanInFp32(FakeEvaluator inner) : IEvaluator
    {
        public IReadOnlyList<MetricDefinition> Metrics => inner.Metrics;
        public PotPowerShell.Core.Data.IDataset Data => inner.Data;
        public IReadOnlyDictionary<string, (double Min, double Max)> MeanItemBounds => inner.MeanItemBounds;

        public EvaluationResult Evaluate(byte[] model, IReadOnlyList<int>? items, CancellationToken cancellationToken, IProgress<PotProgress>? progress = null)
        {
            var result = inner.Evaluate(model, items, cancellationToken, progress);
            return FakeBuilder.Decode(model).Tag == "fp32" && result.Items.Contains(5) ? result with { NonFiniteItems = 1, FirstNonFiniteItem = 5 } : result;
        }
    }

    [Fact]
    public void An_fp32_model_with_non_finite_outputs_is_named_in_a_warning()
    {
        var metric = new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0).WithCost("L0", 0.001);
        var outcome = new AccuracyAwareQuantizer(new AccuracyAwareOptions { MaximalDrop = 0.01 })
            .Run(new FakeBuilder("performance", "L0"), new NanInFp32(new FakeEvaluator(20, metric)));
        Assert.Contains(outcome.Result.Warnings, w => w.StartsWith("The FP32 model gave NaN or Inf outputs on 1 of 20 validation items (first item 5): ", StringComparison.Ordinal));
    }
}
