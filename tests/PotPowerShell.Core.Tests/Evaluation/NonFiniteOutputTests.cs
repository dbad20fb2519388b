using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;
using NpyWriter = PotPowerShell.TestSupport.NpyWriter;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// NaN and Inf outputs score the worst value of every metric for their item. NaN compares false, so before this a model
/// whose outputs were all NaN ranked every label first and scored accuracy 1.0.
/// </summary>
public class NonFiniteOutputTests
{
    private static readonly float[] W = { 1, 0, 0.5f, 0, 1, -1, -1, 2, 0, 0.5f, 0, 1 };
    private static readonly long[] Labels = { 0, 1, 2, 2, 1, 0, 2 };

    /// <summary>7 items of 4 features; <paramref name="nanItem"/> (if any) holds a NaN.</summary>
    private static TempFolder Data(int? nanItem)
    {
        var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("d"));
        var x = Enumerable.Range(0, 7 * 4).Select(i => (float)((i * 7 % 11) - 5) / 5).ToArray();
        if (nanItem is int n) x[n * 4 + 1] = float.NaN;
        NpyWriter.Save(tmp.File("d/x.npy"), x, new long[] { 7, 4 }, "<f4");
        NpyWriter.Save(tmp.File("d/labels.npy"), Labels, new long[] { 7 }, "<i8");
        return tmp;
    }

    private static EngineDefinition Engine(TempFolder tmp, string metrics)
    {
        File.WriteAllText(tmp.File("engine.yml"), "metrics:\n" + metrics + "dataset:\n  data_source: d\n");
        return EngineDefinition.Load(tmp.File("engine.yml"));
    }

    private const string Classification = "  - type: accuracy\n  - type: accuracy\n    top_k: 3\n  - type: f1\n  - type: precision\n";

    [Fact]
    public void A_model_whose_outputs_are_all_nan_scores_zero()
    {
        using var tmp = Data(null);
        using var evaluator = new Evaluator(Engine(tmp, Classification));
        var nan = W.Select(_ => float.NaN).ToArray();
        var r = evaluator.Evaluate(TestModels.MatMul(nan, 4, 3, "batch"), null, CancellationToken.None);
        Assert.Equal(0, r.Values["accuracy@top1"]);
        Assert.Equal(0, r.Values["accuracy@top3"]); // top-3 of 3 classes would always hit
        Assert.Equal(0, r.Values["f1"]);
        Assert.Equal(0, r.Values["precision"]);
        Assert.Equal(7, r.NonFiniteItems);
        Assert.Equal(0, r.FirstNonFiniteItem);
    }

    [Fact]
    public void Only_the_item_with_a_non_finite_output_scores_its_worst()
    {
        using var clean = Data(null);
        using var dirty = Data(nanItem: 4);
        string metrics = Classification + "  - type: cosine_similarity\n  - type: mse\n    reference: fp32\n  - type: psnr\n    reference: fp32\n";
        var reference = TestModels.MatMul(W, 4, 3, "batch");
        using var a = new Evaluator(Engine(clean, metrics), new EvaluatorOptions { ReferenceModel = reference, CustomMetrics = Custom() });
        using var b = new Evaluator(Engine(dirty, metrics), new EvaluatorOptions { ReferenceModel = reference, CustomMetrics = Custom() });
        var expected = a.Evaluate(reference, null, CancellationToken.None);
        var actual = b.Evaluate(reference, null, CancellationToken.None);
        Assert.Equal(1, actual.NonFiniteItems);
        Assert.Equal(4, actual.FirstNonFiniteItem);
        Assert.Equal(0, expected.NonFiniteItems);
        foreach (var (name, values) in actual.PerItem)
            for (int i = 0; i < 7; i++)
                if (i != 4) Assert.Equal(expected.PerItem[name][i], values[i]);
        Assert.Equal(0, actual.PerItem["accuracy@top1"][4]);
        Assert.Equal(0, actual.PerItem["accuracy@top3"][4]);
        Assert.Equal(-1, actual.PerItem["cosine_similarity"][4]);
        Assert.Equal(double.PositiveInfinity, actual.PerItem["mse"][4]);
        Assert.Equal(double.NegativeInfinity, actual.PerItem["psnr"][4]);
        Assert.Equal(double.NegativeInfinity, actual.PerItem["logit_sum"][4]);
        Assert.Equal(double.PositiveInfinity, actual.PerItem["error"][4]);
        Assert.Equal(6.0 / 7, actual.Values["accuracy@top3"], 12);
    }

    private static IReadOnlyList<CustomMetric> Custom() => new[]
    {
        CustomMetric.FromFunction("logit_sum", MetricDirection.HigherBetter, s => s.Outputs["y"].ToFloats().Sum()),
        CustomMetric.FromFunction("error", MetricDirection.HigherWorse, s => Math.Abs(s.Outputs["y"].ToFloats()[0])),
    };

    [Fact]
    public void An_item_whose_fp32_reference_is_not_finite_scores_the_worst_for_every_model_alike()
    {
        // FP32: Sqrt(x) then MatMul, NaN on item 2 (a negative feature); the candidate takes Relu first, so it is finite
        // there. Compared with a NaN reference it gave NaN, which means "left out", and so beat FP32's own mean.
        static byte[] Model(bool relu)
        {
            var g = new PotPowerShell.Core.Onnx.GraphBuilder(relu ? "finite" : "nan");
            var x = g.Input("x", "batch", 4L);
            var root = g.Node("Sqrt", new[] { relu ? g.Node("Relu", new[] { x }, "relu") : x }, "root");
            g.Output(g.Node("MatMul", new[] { root, g.Initializer("w", W, 4, 3) }, "y"));
            return Google.Protobuf.MessageExtensions.ToByteArray(g.Build());
        }
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("d"));
        var x = Enumerable.Range(0, 7 * 4).Select(i => 0.1f + i % 5).ToArray();
        x[2 * 4 + 3] = -1;
        NpyWriter.Save(tmp.File("d/x.npy"), x, new long[] { 7, 4 }, "<f4");
        var fp32 = Model(relu: false);
        using var evaluator = new Evaluator(Engine(tmp, "  - type: cosine_similarity\n    reference: fp32\n  - type: fp32_agreement\n"), new EvaluatorOptions { ReferenceModel = fp32 });
        var own = evaluator.Evaluate(fp32, null, CancellationToken.None);
        var other = evaluator.Evaluate(Model(relu: true), null, CancellationToken.None);
        Assert.Equal(1, own.NonFiniteItems);
        Assert.Equal(0, other.NonFiniteItems);
        Assert.Equal(-1, other.PerItem["cosine_similarity"][2]);
        Assert.Equal(0, other.PerItem["fp32_agreement"][2]);
        Assert.Equal(own.PerItem["cosine_similarity"][2], other.PerItem["cosine_similarity"][2]);
        Assert.Equal(own.PerItem["fp32_agreement"][2], other.PerItem["fp32_agreement"][2]);
        Assert.Equal(1, other.PerItem["cosine_similarity"][3], 6);
    }
}
