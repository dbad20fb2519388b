using PotPowerShell.Core.Comparison;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.Comparison;

/// <summary>The paired bootstrap, top-1 agreement and layer counting of Compare-PotModel, against values from the math.</summary>
public class ComparisonMathTests
{
    [Fact]
    public void SplitMix64_gives_the_published_sequence_for_seed_0()
    {
        // The reference sequence of SplitMix64 (Steele, Lea and Flood) started from state 0.
        var random = new PairedBootstrap.SplitMix64(0);
        Assert.Equal(0xE220A8397B1DCDAFUL, random.Next());
        Assert.Equal(0x6E789E6AA1B965F4UL, random.Next());
        Assert.Equal(0x06C45D188009454FUL, random.Next());
    }

    [Fact]
    public void Equal_differences_give_a_point_interval()
    {
        var interval = PairedBootstrap.MeanInterval(Enumerable.Repeat(0.25, 17).ToArray(), 500, seed: 3);
        Assert.Equal(new Interval(0.25, 0.25), interval);
    }

    [Fact]
    public void Two_items_span_both_extremes()
    {
        // Differences {0, 1}: a resample's mean is 0, 0.5 or 1 with probabilities 1/4, 1/2, 1/4, so the 2.5 % and
        // 97.5 % points of the bootstrap distribution are 0 and 1. NaN items are left out.
        var interval = PairedBootstrap.MeanInterval(new[] { 0.0, double.NaN, 1.0 }, 2000, seed: 1);
        Assert.Equal(new Interval(0, 1), interval);
    }

    [Fact]
    public void Bernoulli_differences_give_the_binomial_quantiles()
    {
        // 10 of 50 items differ by 1: a resample's sum is Binomial(50, 0.2), so the interval of the mean is that law's
        // 2.5 % and 97.5 % quantiles over 50. The exact quantiles are computed here; their CDF steps are far from the
        // cut points (checked), so 20000 resamples land on them.
        const int n = 50, k = 10, resamples = 20000;
        var differences = Enumerable.Range(0, n).Select(i => i % 5 == 0 ? 1.0 : 0.0).ToArray();
        var (lower, upper) = (BinomialQuantile(n, (double)k / n, 0.025), BinomialQuantile(n, (double)k / n, 0.975));
        Assert.Equal((5, 16), (lower, upper));
        var interval = PairedBootstrap.MeanInterval(differences, resamples, seed: 42);
        Assert.Equal(new Interval(lower / (double)n, upper / (double)n), interval);
    }

    [Fact]
    public void A_micro_f1_drop_gets_the_interval_of_the_accuracy_drop_it_equals()
    {
        // Every item has a prediction, so micro-averaged F1 over the confusion matrix is accuracy. The reference is right
        // on all 50 items, the candidate wrong on 10: on each resample the matrix is counted again and the drop is
        // Binomial(50, 0.2) / 50, as the mean of the Bernoulli test above; the same seed draws the same resamples.
        var reference = new ConfusionAggregate(MetricType.F1, AverageKind.Micro);
        var candidate = new ConfusionAggregate(MetricType.F1, AverageKind.Micro);
        for (int i = 0; i < 50; i++)
        {
            reference.Add(i % 3, i % 3);
            candidate.Add(i % 3, i % 5 == 0 ? (i + 1) % 3 : i % 3);
        }
        Assert.Equal(0.2, reference.Result() - candidate.Result(), 12);
        var interval = PairedBootstrap.Interval(50, draws => reference.Result(draws) - candidate.Result(draws), 20000, seed: 42);
        Assert.Equal(BinomialQuantile(50, 0.2, 0.025) / 50.0, interval.Lower, 12);
        Assert.Equal(BinomialQuantile(50, 0.2, 0.975) / 50.0, interval.Upper, 12);
    }

    [Fact]
    public void Pixel_accuracy_over_items_of_equal_size_gets_the_interval_of_its_per_item_mean()
    {
        // Four pixels per item: pixel accuracy over the resampled items' pixels is the mean of their own accuracies.
        var reference = new ConfusionMatrix(MetricType.SegmentationAccuracy);
        var candidate = new ConfusionMatrix(MetricType.SegmentationAccuracy);
        var differences = new double[30];
        for (int i = 0; i < 30; i++)
        {
            int wrong = i % 4 == 0 ? i % 3 : 0;
            for (int p = 0; p < 4; p++)
            {
                reference.Add(p % 2, p % 2);
                candidate.Add(p % 2, p < wrong ? 1 - p % 2 : p % 2);
            }
            reference.EndItem();
            candidate.EndItem();
            differences[i] = wrong / 4.0;
        }
        Assert.Equal(differences.Average(), reference.Result() - candidate.Result(), 12);
        var interval = PairedBootstrap.Interval(30, draws => reference.Result(draws) - candidate.Result(draws), 2000, seed: 9);
        var mean = PairedBootstrap.MeanInterval(differences, 2000, seed: 9);
        Assert.True(interval.Upper > interval.Lower);
        Assert.Equal(mean.Lower, interval.Lower, 12);
        Assert.Equal(mean.Upper, interval.Upper, 12);
    }

    [Fact]
    public void A_long_bootstrap_stops_when_cancelled()
    {
        // Ctrl+C in Compare-PotModel: the resamples stop at the next chunk, not after all of them.
        using var cancel = new CancellationTokenSource();
        int measured = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => PairedBootstrap.Interval(10, _ =>
        {
            if (Interlocked.Increment(ref measured) == 1) cancel.Cancel();
            return 0;
        }, 100_000, seed: 1, cancellationToken: cancel.Token));
        Assert.True(measured < 1000, $"{measured} resamples measured after the cancellation");
    }

    [Fact]
    public void The_same_seed_gives_the_same_interval_and_another_seed_other_resamples()
    {
        var random = new Random(7);
        var differences = Enumerable.Range(0, 200).Select(_ => random.NextDouble() - 0.4).ToArray();
        Assert.Equal(PairedBootstrap.MeanInterval(differences, 1000, 5), PairedBootstrap.MeanInterval(differences, 1000, 5));
        Assert.NotEqual(PairedBootstrap.MeanInterval(differences, 1000, 5), PairedBootstrap.MeanInterval(differences, 1000, 6));
        Assert.Equal(new Interval(double.NaN, double.NaN), PairedBootstrap.MeanInterval(new[] { double.NaN }, 100, 0));
    }

    [Fact]
    public void Agreement_counts_equal_classes_and_needs_class_predictions()
    {
        Assert.Equal(0.75, ModelComparer.Agreement(new object?[] { 1L, 2L, 3L, 4L }, new object?[] { 1L, 2L, 0L, 4L }));
        Assert.Null(ModelComparer.Agreement(new object?[] { "ab" }, new object?[] { "ab" }));
        Assert.Null(ModelComparer.Agreement(null, new object?[] { 1L }));
    }

    [Fact]
    public void Layers_with_a_dequantized_weight_count_as_int8()
    {
        var g = new GraphBuilder("layers");
        g.Input("x", "batch", 4L);
        string w = g.Initializer("w", new float[16], 4, 4);
        string scale = g.Initializer("s", new[] { 0.1f });
        string codes = g.Initializer("codes", new float[16], 4, 4);
        string dq = g.Node("DequantizeLinear", new[] { codes, scale }, "dq");
        string a = g.Node("MatMul", new[] { "x", dq }, "int8_matmul");
        string b = g.Node("Gemm", new[] { a, w }, "float_gemm");
        string c = g.Node("Relu", new[] { b }, "relu");
        string d = g.Node("QLinearMatMul", new[] { c }, "qop");
        g.Output(d, dims: new object[] { "batch", 4L });
        Assert.Equal(new LayerPrecisionCount(2, 1), LayerPrecisionCount.Of(g.Build()));
    }

    /// <summary>The smallest x with P(X &lt;= x) &gt;= q for X ~ Binomial(n, p), asserting that no CDF step is within 0.005 of q.</summary>
    private static int BinomialQuantile(int n, double p, double q)
    {
        double cdf = 0;
        for (int x = 0; x <= n; x++)
        {
            double before = cdf;
            cdf += Choose(n, x) * Math.Pow(p, x) * Math.Pow(1 - p, n - x);
            if (cdf >= q)
            {
                Assert.True(cdf - q > 0.005 && q - before > 0.005, $"The CDF step at {x} is too close to {q} for a sampled test.");
                return x;
            }
        }
        return n;
    }

    private static double Choose(int n, int k)
    {
        double r = 1;
        for (int i = 1; i <= k; i++) r = r * (n - k + i) / i;
        return r;
    }
}
