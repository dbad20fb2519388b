using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>annotation_free: the FP32 model's confident predictions are the labels (the fp32_agreement metric).</summary>
public class AnnotationFreeTests : IClassFixture<OutlierModelFixture>
{
    private readonly OutlierModel _m;

    public AnnotationFreeTests(OutlierModelFixture fixture) => _m = fixture.Model;

    /// <summary>The FP32 top-1 probability of every validation item, from the model's weights by plain loops.</summary>
    private double[] Confidences()
    {
        using var data = NpyDataset.Open(_m.File("validation"));
        return Enumerable.Range(0, data.Count).Select(i =>
        {
            var logits = _m.Logits(data.Get(i).Inputs["x"].ToFloats().ToArray());
            double max = logits.Max();
            return 1 / logits.Sum(l => Math.Exp(l - max));
        }).ToArray();
    }

    [Fact]
    public void Agreement_is_accuracy_against_FP32_labels_on_the_items_FP32_is_confident_about()
    {
        // The validation labels are the FP32 top-1 classes (see OutlierModel), so accuracy is the agreement itself.
        var confidences = Confidences();
        double threshold = confidences.Order().ElementAt(confidences.Length / 2);
        File.WriteAllText(_m.File("agreement.yml"), "metrics:\n  - type: accuracy\n  - type: fp32_agreement\n  - name: confident\n    type: fp32_agreement\n"
            + $"    threshold: {threshold.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}\ndataset:\n  data_source: validation\n");
        using var calibration = NpyDataset.Open(_m.CalibrationPath);
        var builder = QuantizedModelBuilder.Create(_m.ModelPath, calibration, new DefaultQuantizationOptions { Precision = PrecisionMode.AllInt8 });
        using var evaluator = new Evaluator(EngineDefinition.Load(_m.File("agreement.yml")), new EvaluatorOptions { ReferenceModel = builder.FloatModel.ToByteArray() });
        var result = evaluator.Evaluate(builder.Build(new HashSet<string>()).ToByteArray(), null, CancellationToken.None);

        var accuracy = result.PerItem["accuracy@top1"];
        Assert.Equal(accuracy, result.PerItem["fp32_agreement"]);
        Assert.Contains(accuracy, v => v == 0);
        var confident = result.PerItem["confident"];
        for (int i = 0; i < confident.Length; i++)
            Assert.Equal(confidences[i] < threshold ? double.NaN : accuracy[i], confident[i]);
        Assert.Equal(Enumerable.Range(0, accuracy.Length).Where(i => confidences[i] >= threshold).Average(i => accuracy[i]), result.Values["confident"], 12);
    }

    [Fact]
    public void An_annotation_free_run_watches_agreement_with_FP32_instead_of_the_labels()
    {
        var warnings = new List<string>();
        var r = AccuracyAwarePipeline.Run(new AccuracyAwareJob
        {
            ModelPath = _m.ModelPath,
            CalibrationDataPath = _m.CalibrationPath,
            EnginePath = _m.EnginePath,
            Options = new AccuracyAwareOptions { AnnotationFree = true, AnnotationConfidenceThreshold = 0.6, MaximalDrop = 0.01, Quantization = new DefaultQuantizationOptions { Precision = PrecisionMode.AllInt8 } },
            Warnings = new LogLines(warnings),
        }, _m.File("free.onnx"));

        var metric = Assert.Single(r.Metrics);
        Assert.Equal("fp32_agreement", metric.Name);
        Assert.Equal(1.0, metric.Baseline);
        Assert.True(r.Met, r.Reason);
        Assert.Contains(warnings, w => w.Contains("annotation_free") && w.Contains("accuracy@top1"));
    }
}
