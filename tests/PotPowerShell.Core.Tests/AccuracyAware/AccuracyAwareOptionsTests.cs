using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>The seed parameters besides the loop itself: validation, baseline_value with metric_subset_ratio, mixed preset, tuning, output.</summary>
public class AccuracyAwareOptionsTests
{
    private static readonly string[] FourLayers = { "L0", "L1", "L2", "L3" };

    private static FakeMetric Accuracy(double baseline = 1.0) => new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => baseline)
        .WithCost("L0", 0.001).WithCost("L1", 0.03).WithCost("L2", 0.002).WithCost("L3", 0.015);

    [Theory]
    [InlineData("UnsupportedBaseAlgorithm")]
    [InlineData("InvalidMaximalDrop")]
    [InlineData("InvalidRankingSubsetSize")]
    [InlineData("InvalidMaxIterations")]
    [InlineData("InvalidMetricSubsetRatio")]
    [InlineData("InvalidMaxEvaluations")]
    [InlineData("InvalidTimeLimit")]
    [InlineData("InvalidAnnotationConfThreshold")]
    [InlineData("InvalidConfirmOnFullSet")]
    [InlineData("InvalidEvaluationWorkers")]
    [InlineData("InvalidEvaluationBatchSize")]
    public void BadOptionsAreRejectedWithAStableErrorId(string errorId)
    {
        var options = errorId switch
        {
            "UnsupportedBaseAlgorithm" => new AccuracyAwareOptions { BaseAlgorithm = "MinMaxQuantization" },
            "InvalidMaximalDrop" => new AccuracyAwareOptions { MaximalDrop = -0.1 },
            "InvalidRankingSubsetSize" => new AccuracyAwareOptions { RankingSubsetSize = 0 },
            "InvalidMaxIterations" => new AccuracyAwareOptions { MaxIterations = -1 },
            "InvalidMetricSubsetRatio" => new AccuracyAwareOptions { MetricSubsetRatio = 1.5 },
            "InvalidMaxEvaluations" => new AccuracyAwareOptions { MaxEvaluations = -3 },
            "InvalidTimeLimit" => new AccuracyAwareOptions { TimeLimit = TimeSpan.Zero },
            "InvalidConfirmOnFullSet" => new AccuracyAwareOptions { ConfirmOnFullSet = 0 },
            "InvalidEvaluationWorkers" => new AccuracyAwareOptions { EvaluationWorkers = 0 },
            "InvalidEvaluationBatchSize" => new AccuracyAwareOptions { EvaluationBatchSize = 0 },
            _ => new AccuracyAwareOptions { AnnotationFree = true, AnnotationConfidenceThreshold = 1.5 },
        };
        var e = Assert.Throws<PotException>(() => new AccuracyAwareQuantizer(options));
        Assert.Equal(errorId, e.ErrorId);
    }

    [Fact]
    public void TheBaseAlgorithmErrorNamesTheKeyAndTheValidChoice()
    {
        var e = Assert.Throws<PotException>(() => new AccuracyAwareQuantizer(new AccuracyAwareOptions { BaseAlgorithm = "TunableQuantization" }));
        Assert.Equal("base_algorithm", e.Target);
        Assert.Contains("DefaultQuantization", e.Message);
        Assert.Contains("TunableQuantization", e.Message);
        // Any casing of the valid name is accepted.
        _ = new AccuracyAwareQuantizer(new AccuracyAwareOptions { BaseAlgorithm = "defaultquantization" });
    }

    [Fact]
    public void AnUnknownMetricNameIsRejected()
    {
        var q = new AccuracyAwareQuantizer(new AccuracyAwareOptions { Metrics = new[] { new MetricTarget("mAP") } });
        var e = Assert.Throws<PotException>(() => q.Run(new FakeBuilder("performance", FourLayers), new FakeEvaluator(4, Accuracy())));
        Assert.Equal("MetricNotFound", e.ErrorId);
        Assert.Contains("accuracy", e.Message);
    }

    [Fact]
    public void GivenBaselinesSkipTheFullFloatEvaluationAndCompareOnASeededSubset()
    {
        var e = new FakeEvaluator(40, Accuracy());
        var options = new AccuracyAwareOptions
        {
            MaximalDrop = 0.01,
            RankingSubsetSize = 5,
            Metrics = new[] { new MetricTarget("accuracy", BaselineValue: 1.0) },
            MetricSubsetRatio = 0.25,
            Quantization = new DefaultQuantizationOptions { Seed = 11 },
        };
        var r = new AccuracyAwareQuantizer(options).Run(new FakeBuilder("performance", FourLayers), e).Result;

        Assert.True(r.Met);
        Assert.True(r.Metrics[0].BaselineGiven);
        Assert.Equal(1.0, r.Metrics[0].Baseline);
        var floatCalls = e.Calls.Where(c => c.Tag == "fp32").ToList();
        // FP32 runs once, on the 10 sampled items only (to find the items INT8 gets most wrong).
        Assert.Equal(new[] { 10 }, floatCalls.Select(c => c.Items));
        Assert.Equal(11, r.Seed);
        Assert.Contains(r.Log, l => l.Contains("per-item comparisons on 10 of 40 items"));
    }

    [Fact]
    public void GivenBaselinesAndAModelThatMeetsTheTargetNeverRunFloat()
    {
        var e = new FakeEvaluator(40, Accuracy());
        var options = new AccuracyAwareOptions { MaximalDrop = 0.1, Metrics = new[] { new MetricTarget("accuracy", 1.0) } };
        var r = new AccuracyAwareQuantizer(options).Run(new FakeBuilder("performance", FourLayers), e).Result;
        Assert.True(r.Met);
        Assert.DoesNotContain(e.Calls, c => c.Tag == "fp32");
        Assert.Equal(1, r.Evaluations);
    }

    [Fact]
    public void TheGivenBaselineIsWhatDropsAreMeasuredFrom()
    {
        // The engine's FP32 would score 1.0; the configured baseline says 0.96, so the quantized 0.952 drops only 0.008.
        var options = new AccuracyAwareOptions { MaximalDrop = 0.01, Metrics = new[] { new MetricTarget("accuracy", 0.96) } };
        var r = new AccuracyAwareQuantizer(options).Run(new FakeBuilder("performance", FourLayers), new FakeEvaluator(8, Accuracy())).Result;
        Assert.True(r.Met);
        Assert.Equal(0.008, r.Metrics[0].Drop, 9);
    }

    [Fact]
    public void PartialBaselinesAreIgnoredAsPotDoes()
    {
        var error = new FakeMetric("error", MetricDirection.HigherWorse, _ => 0.1);
        var e = new FakeEvaluator(8, Accuracy(), error);
        var options = new AccuracyAwareOptions { MaximalDrop = 0.1, Metrics = new[] { new MetricTarget("accuracy", 0.5), new MetricTarget("error") } };
        var r = new AccuracyAwareQuantizer(options).Run(new FakeBuilder("performance", FourLayers), e).Result;
        Assert.Equal(1.0, r.Metrics.Single(m => m.Name == "accuracy").Baseline);
        Assert.False(r.Metrics[0].BaselineGiven);
        Assert.Contains(e.Calls, c => c.Tag == "fp32" && c.Items == 8);
    }

    [Fact]
    public void TheMetricSubsetIsSeeded()
    {
        var a = ItemSelection.SampleSubset(100, 0.3, 5);
        Assert.Equal(a, ItemSelection.SampleSubset(100, 0.3, 5));
        Assert.NotEqual(a, ItemSelection.SampleSubset(100, 0.3, 6));
        Assert.Equal(30, a.Count);
        Assert.Equal(a.OrderBy(i => i), a);
        Assert.Equal(30, a.Distinct().Count());
    }

    private static Func<DefaultQuantizationOptions, IQuantizedModelBuilder> Factory(List<DefaultQuantizationOptions> seen) => o =>
    {
        seen.Add(o);
        return new FakeBuilder(Tag(o), FourLayers);
    };

    private static string Tag(DefaultQuantizationOptions o) =>
        $"{o.Preset}/{o.ActivationRange.Kind}/{o.ActivationRange.OutlierProbability}/{(o.UseFastBiasCorrection ? "fast" : "full")}";

    [Fact]
    public void ConvertToMixedPresetReturnsTheMixedModelWhenItMeetsTheTarget()
    {
        var m = Accuracy();
        m.Scale = tag => tag.StartsWith("Mixed", StringComparison.Ordinal) ? 0.1 : 1; // asymmetric activations fix most of it
        var seen = new List<DefaultQuantizationOptions>();
        var r = new AccuracyAwareQuantizer(new AccuracyAwareOptions { MaximalDrop = 0.01, ConvertToMixedPreset = true }) { BuilderFactory = Factory(seen) }
            .Run(new FakeBuilder("performance", FourLayers), new FakeEvaluator(10, m)).Result;
        Assert.True(r.Met);
        Assert.Equal(QuantizationPreset.Mixed, r.Preset);
        Assert.Empty(r.RevertedLayers);
        Assert.Equal(QuantizationPreset.Mixed, Assert.Single(seen).Preset);
        Assert.Contains("mixed preset", r.Reason);
    }

    [Fact]
    public void ConvertToMixedPresetContinuesTheSearchFromTheMixedModel()
    {
        var m = Accuracy();
        m.Scale = tag => tag.StartsWith("Mixed", StringComparison.Ordinal) ? 0.5 : 1; // 0.024: L1 alone then suffices
        var e = new FakeEvaluator(10, m);
        var r = new AccuracyAwareQuantizer(new AccuracyAwareOptions { MaximalDrop = 0.01, ConvertToMixedPreset = true }) { BuilderFactory = Factory(new()) }
            .Run(new FakeBuilder("performance", FourLayers), e).Result;
        Assert.True(r.Met);
        Assert.Equal(QuantizationPreset.Mixed, r.Preset);
        Assert.Equal(new[] { "L1" }, r.RevertedLayers.Select(l => l.Layer));
        Assert.DoesNotContain(e.Calls, c => c.Tag == "performance" && c.Reverted.Length > 0);
    }

    [Fact]
    public void ConvertToMixedPresetIsSkippedWhenThePresetIsNotPerformance()
    {
        var seen = new List<DefaultQuantizationOptions>();
        var options = new AccuracyAwareOptions { MaximalDrop = 0.01, ConvertToMixedPreset = true, Quantization = new DefaultQuantizationOptions { Preset = QuantizationPreset.Mixed } };
        var r = new AccuracyAwareQuantizer(options) { BuilderFactory = Factory(seen) }.Run(new FakeBuilder("performance", FourLayers), new FakeEvaluator(10, Accuracy())).Result;
        Assert.Empty(seen);
        Assert.Contains(r.Log, l => l.Contains("convert_to_mixed_preset applies to the performance preset only"));
    }

    [Fact]
    public void ReQuantizingNeedsAPipeline()
    {
        var e = Assert.Throws<PotException>(() => new AccuracyAwareQuantizer(new AccuracyAwareOptions { MaximalDrop = 0.01, TuneHyperparameters = true })
            .Run(new FakeBuilder("performance", FourLayers), new FakeEvaluator(10, Accuracy())));
        Assert.Equal("BuilderFactoryMissing", e.ErrorId);
        Assert.Equal("tune_hyperparams", e.Target);
    }

    [Fact]
    public void TuningKeepsTheBestRangeEstimatorThenTheBestBiasCorrection()
    {
        var m = Accuracy();
        // Quantile 1e-4 halves every cost; full bias correction takes another 20 % off; everything else is worse.
        m.Scale = tag => (tag.Contains("/Quantile/0.0001/") ? 0.5 : tag == "performance" ? 1 : 1.2) * (tag.EndsWith("/full", StringComparison.Ordinal) ? 0.8 : 1);
        var seen = new List<DefaultQuantizationOptions>();
        var r = new AccuracyAwareQuantizer(new AccuracyAwareOptions { MaximalDrop = 0.01, TuneHyperparameters = true, RankingSubsetSize = 5 }) { BuilderFactory = Factory(seen) }
            .Run(new FakeBuilder("performance", FourLayers), new FakeEvaluator(10, m)).Result;

        // Grid (a): 4 range estimators (none equals the default, auto), then (b): full bias correction.
        Assert.Equal(5, seen.Count);
        Assert.Equal("activation range Quantile(0.0001), full bias correction", r.TunedSettings);
        // 0.048 * 0.4 = 0.0192: reverting L1 (0.012 saved) suffices, where untuned needed L1 and L3.
        Assert.True(r.Met);
        Assert.Equal(new[] { "L1" }, r.RevertedLayers.Select(l => l.Layer));
    }

    [Fact]
    public void TunedSettingsThatDoNotHelpAreDropped()
    {
        var m = Accuracy();
        m.Scale = tag => tag == "performance" ? 1 : 1.5;
        var r = new AccuracyAwareQuantizer(new AccuracyAwareOptions { MaximalDrop = 0.01, TuneHyperparameters = true }) { BuilderFactory = Factory(new()) }
            .Run(new FakeBuilder("performance", FourLayers), new FakeEvaluator(10, m)).Result;
        Assert.Null(r.TunedSettings);
        Assert.Contains(r.Log, l => l == "Tuning found no better settings.");
        Assert.Equal(new[] { "L1", "L3" }, r.RevertedLayers.Select(l => l.Layer).OrderBy(l => l));
    }

    [Fact]
    public void SaveWritesTheModelAndATimeFreeReportAlsoWhenTheTargetIsMissed()
    {
        using var dir = new TempFolder();
        var outcome = new AccuracyAwareQuantizer(new AccuracyAwareOptions { MaximalDrop = 0.01, MaxIterations = 1 })
            .Run(new FakeBuilder("performance", FourLayers), new FakeEvaluator(10, Accuracy()));
        var result = outcome.Save(dir.File("m.int8.onnx"), "m.onnx");

        Assert.False(result.Met);
        Assert.True(File.Exists(result.OutputPath));
        Assert.Equal(dir.File("m.int8.report.json"), result.ReportPath);
        string json = File.ReadAllText(result.ReportPath!);
        Assert.Contains("\"met\": false", json);
        Assert.Contains("\"layer\": \"L1\"", json);
        Assert.DoesNotContain("time", json, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        Assert.Equal("max_iter_num", doc.RootElement.GetProperty("reason").GetString()!.Split(' ')[3]);
    }
}
