using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Tests.Quantization;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// A classifier whose output is each item's class (it ends in ArgMax) is scored by that class: the same accuracy,
/// precision, recall and F1 as the same classifier's scores give, and top-1 agreement with its FP32 labels.
/// </summary>
public class LabelOutputTests
{
    /// <summary>The digits sample ending in ArgMax, class 0's score raised by <paramref name="offset"/> first.</summary>
    private static byte[] DigitsLabels(float offset = 0) => LabelModels.EndingInArgMax(DigitsSampleTests.Sample("digits.onnx"), offset);

    private static float[][] Logits() => DigitsSampleTests.Logits(DigitsSampleTests.Sample("digits.onnx"));

    private static int ArgMax(float[] row) => DigitsSampleTests.ArgMax(row);

    private static EngineDefinition Engine(TempFolder tmp, string metrics)
    {
        File.WriteAllText(tmp.File("engine.yml"), $"dataset:\n  data_source: '{DigitsSampleTests.Sample("validation")}'\nmetrics:\n{metrics}");
        return EngineDefinition.Load(tmp.File("engine.yml"));
    }

    [Fact]
    public void Classification_metrics_of_the_class_output_equal_those_of_the_scores_before_it()
    {
        using var tmp = new TempFolder();
        const string Metrics = "  - type: accuracy\n  - type: precision\n  - type: recall\n  - {type: f1, average: micro}\n";
        using var evaluator = new Evaluator(Engine(tmp, Metrics));
        var labels = evaluator.Evaluate(DigitsLabels(), null, CancellationToken.None);
        var scores = evaluator.Evaluate(File.ReadAllBytes(DigitsSampleTests.Sample("digits.onnx")), null, CancellationToken.None);
        Assert.Equal(DigitsSampleTests.Top1(DigitsSampleTests.Sample("digits.onnx")), labels.Values["accuracy@top1"], 12);
        Assert.Equal(scores.Values, labels.Values);
        Assert.Equal(scores.PerItem["accuracy@top1"], labels.PerItem["accuracy@top1"]);
    }

    [Fact]
    public void Top_k_above_one_needs_the_scores()
    {
        using var tmp = new TempFolder();
        using var evaluator = new Evaluator(Engine(tmp, "  - type: accuracy\n    top_k: 3\n"));
        var e = Assert.Throws<PotException>(() => evaluator.Evaluate(DigitsLabels(), null, CancellationToken.None));
        Assert.Equal("MetricNeedsClassScores", e.ErrorId);
        Assert.Contains("'label'", e.Message);
    }

    [Fact]
    public void Agreement_with_the_FP32_class_counts_the_items_whose_class_is_the_same()
    {
        using var tmp = new TempFolder();
        var logits = Logits();
        // Raising class 0 by 20 changes the class of the items whose lead over class 0 is smaller.
        double expected = logits.Average(l => ArgMax(l) == ArgMax(l.Select((v, c) => c == 0 ? v + 20 : v).ToArray()) ? 1.0 : 0);
        Assert.InRange(expected, 0.5, 0.99);
        var options = new EvaluatorOptions { ReferenceModel = DigitsLabels() };
        using (var evaluator = new Evaluator(Engine(tmp, "  - type: fp32_agreement\n"), options))
            Assert.Equal(expected, evaluator.Evaluate(DigitsLabels(offset: 20), null, CancellationToken.None).Values["fp32_agreement"], 12);
        // How sure the FP32 model was needs its scores.
        using (var confident = new Evaluator(Engine(tmp, "  - type: fp32_agreement\n    threshold: 0.5\n"), options))
            Assert.Equal("MetricNeedsClassScores", Assert.Throws<PotException>(() => confident.Evaluate(DigitsLabels(offset: 20), null, CancellationToken.None)).ErrorId);
    }

    [Fact]
    public void Unlabelled_data_compares_the_classes_of_a_model_that_outputs_them_and_the_scores_of_others()
    {
        using var tmp = new TempFolder();
        // The validation inputs without their labels.
        Directory.CreateDirectory(tmp.File("unlabelled"));
        File.Copy(DigitsSampleTests.Sample("validation", "input.npy"), tmp.File("unlabelled/input.npy"));
        File.WriteAllBytes(tmp.File("label.onnx"), DigitsLabels());
        var engine = EngineDefinition.FromDataPath(tmp.File("unlabelled"), againstReference: true);
        Assert.Equal("cosine_similarity", EngineFit.ToModel(engine, DigitsSampleTests.Sample("digits.onnx")).Metrics.Single().Name);
        var fitted = EngineFit.ToModel(engine, tmp.File("label.onnx"));
        Assert.Equal(MetricType.Fp32Agreement, fitted.Metrics.Single().Type);
        // A folder of images, read as POT's simplified engine reads one and fitted to the model's 8x8 grey input.
        Directory.CreateDirectory(tmp.File("images"));
        File.WriteAllBytes(tmp.File("images/a.png"), PngFiles.Rgb(1, 1, new byte[] { 10, 20, 30 }));
        var images = EngineFit.ToModel(EngineDefinition.FromDataPath(tmp.File("images"), againstReference: true), tmp.File("label.onnx"));
        Assert.True(images.IsSimplified);
        Assert.Equal(MetricType.Fp32Agreement, images.Metrics.Single().Type);

        var logits = Logits();
        double expected = logits.Average(l => ArgMax(l) == ArgMax(l.Select((v, c) => c == 0 ? v + 20 : v).ToArray()) ? 1.0 : 0);
        using var evaluator = new Evaluator(fitted, new EvaluatorOptions { ReferenceModel = DigitsLabels() });
        Assert.Equal(expected, evaluator.Evaluate(DigitsLabels(offset: 20), null, CancellationToken.None).Values["fp32_agreement"], 12);
    }
}
