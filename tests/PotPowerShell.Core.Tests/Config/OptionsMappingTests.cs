using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Config;

public class OptionsMappingTests
{
    [Fact]
    public void DefaultQuantization_entry_maps_every_knob()
    {
        using var folder = new ConfigTestFolder();
        var c = PotConfigLoader.Load(folder.Write("rich.json", RoundTripTests.Rich));
        var o = c.ToDefaultQuantizationOptions();
        Assert.Equal(QuantizationPreset.Mixed, o.Preset);
        Assert.Equal(TargetDevice.Cpu, o.TargetDevice);
        Assert.Equal(128, o.StatSubsetSize);
        Assert.Equal(4, o.StatBatchSize);
        Assert.True(o.ShuffleData);
        Assert.Equal(7, o.Seed);
        Assert.Equal("transformer", o.ModelType);
        Assert.False(o.UseFastBiasCorrection);
        Assert.False(o.BiasCorrection);
        Assert.Equal(1.5, o.BiasCorrectionThreshold);
        Assert.Equal(new RangeEstimatorOptions { Kind = RangeEstimatorKind.Quantile, OutlierProbability = 0.001 }, o.ActivationRange);
        Assert.False(o.PerChannelWeights);
        Assert.Equal(0.001, o.WeightOutlierProbability);
        Assert.False(o.SymmetricWeights);           // weights.mode asymmetric
        Assert.Null(o.SymmetricActivations);        // not written: from preset mixed
        Assert.Equal(QuantizationTypes.U8S8, o.Types);
        Assert.Equal(new[] { "conv1", "/^head/" }, o.IgnoredNodes);
        Assert.Equal(2, o.IgnoredOperations.Count);
        Assert.Equal("Conv", o.IgnoredOperations[0].Type);
        Assert.Equal(new Dictionary<string, string> { ["group"] = "2", ["kernel"] = "3x3" }, o.IgnoredOperations[0].Attributes);
        Assert.Null(o.IgnoredOperations[1].Attributes);
        Assert.Equal(2, o.Threads);
        Assert.Equal(PrecisionMode.AllInt8, o.Precision);
        Assert.Equal(4, o.BatchSize);
        Assert.Equal(0.8, o.SmoothQuantAlpha);
    }

    [Fact]
    public void AccuracyAwareQuantization_entry_maps_every_knob()
    {
        using var folder = new ConfigTestFolder();
        var o = PotConfigLoader.Load(folder.Write("rich.json", RoundTripTests.Rich)).ToAccuracyAwareOptions();
        Assert.Equal("DefaultQuantization", o.BaseAlgorithm);
        Assert.Equal(0.005, o.MaximalDrop);
        Assert.Equal(DropType.Relative, o.DropType);
        Assert.Equal(150, o.RankingSubsetSize);
        Assert.Equal(20, o.MaxIterations);
        Assert.False(o.UsePreviousIfDropIncrease);
        Assert.True(o.ConvertToMixedPreset);
        Assert.Equal(new[] { new MetricTarget("accuracy@top1", 0.99), new MetricTarget("mse") }, o.Metrics);
        Assert.Equal(0.25, o.MetricSubsetRatio);
        Assert.True(o.TuneHyperparameters);
        Assert.Equal(RankingMethod.OutputError, o.RankingMethod);
        Assert.Equal(3, o.ConfirmTopLayers);
        Assert.False(o.BackwardPass);
        Assert.Equal(40, o.MaxEvaluations);
        Assert.Equal(TimeSpan.FromHours(1), o.TimeLimit);
        Assert.False(o.AnnotationFree);
        Assert.Equal(0.75, o.AnnotationConfidenceThreshold);
        // Its own DefaultQuantization parameters, not the other entry's.
        var q = o.Quantization;
        Assert.Equal(QuantizationPreset.Performance, q.Preset);
        Assert.Null(q.SymmetricWeights);
        Assert.Null(q.SymmetricActivations);
        Assert.True(q.PerChannelWeights);
        Assert.Null(q.WeightOutlierProbability);
        Assert.Equal(QuantizationTypes.U8S7, q.Types);
        Assert.Equal(new RangeEstimatorOptions { Kind = RangeEstimatorKind.Percentile, Percentile = 99.99, HistogramBins = 4096 }, q.ActivationRange);
        Assert.Equal(TargetDevice.Cpu, q.TargetDevice);
        Assert.Null(q.StatSubsetSize);
        Assert.Empty(q.IgnoredNodes);
        Assert.Equal(PrecisionMode.Fastest, q.Precision);
    }

    [Fact]
    public void Defaults_map_onto_the_option_records_defaults()
    {
        using var folder = new ConfigTestFolder();
        var c = PotConfigLoader.Load(folder.Write("c.json", ConfigTestFolder.Json("[ { \"name\": \"AccuracyAwareQuantization\" } ]")));
        var aaq = c.ToAccuracyAwareOptions();
        var reference = new AccuracyAwareOptions();
        Assert.Equal(
            (reference.MaximalDrop, reference.DropType, reference.RankingSubsetSize, reference.MaxIterations, reference.UsePreviousIfDropIncrease,
             reference.ConvertToMixedPreset, reference.MetricSubsetRatio, reference.TuneHyperparameters, reference.RankingMethod,
             reference.ConfirmTopLayers, reference.BackwardPass, reference.MaxEvaluations, reference.TimeLimit, reference.AnnotationFree,
             reference.AnnotationConfidenceThreshold, reference.BaseAlgorithm),
            (aaq.MaximalDrop, aaq.DropType, aaq.RankingSubsetSize, aaq.MaxIterations, aaq.UsePreviousIfDropIncrease,
             aaq.ConvertToMixedPreset, aaq.MetricSubsetRatio, aaq.TuneHyperparameters, aaq.RankingMethod,
             aaq.ConfirmTopLayers, aaq.BackwardPass, aaq.MaxEvaluations, aaq.TimeLimit, aaq.AnnotationFree,
             aaq.AnnotationConfidenceThreshold, aaq.BaseAlgorithm));
        Assert.Empty(aaq.Metrics);
        // The DefaultQuantization options come from the AccuracyAwareQuantization entry when there is no DefaultQuantization entry.
        var dq = c.ToDefaultQuantizationOptions();
        var d = new DefaultQuantizationOptions();
        Assert.Equal((d.Preset, d.TargetDevice, d.StatSubsetSize, d.StatBatchSize, d.ShuffleData, d.Seed, d.ModelType, d.UseFastBiasCorrection,
                      d.BiasCorrection, d.BiasCorrectionThreshold, d.PerChannelWeights, d.Types, d.Threads, d.Precision, d.BatchSize),
                     (dq.Preset, dq.TargetDevice, dq.StatSubsetSize, dq.StatBatchSize, dq.ShuffleData, dq.Seed, dq.ModelType, dq.UseFastBiasCorrection,
                      dq.BiasCorrection, dq.BiasCorrectionThreshold, dq.PerChannelWeights, dq.Types, dq.Threads, dq.Precision, dq.BatchSize));
        Assert.Equal((d.SymmetricWeights, d.SymmetricActivations), (dq.SymmetricWeights, dq.SymmetricActivations));
        Assert.Equal(RangeEstimatorKind.Auto, dq.ActivationRange.Kind);
    }

    [Fact]
    public void Accuracy_aware_options_need_an_accuracy_aware_entry()
    {
        using var folder = new ConfigTestFolder();
        var c = PotConfigLoader.Load(folder.Write("c.json", ConfigTestFolder.Json("[ { \"name\": \"DefaultQuantization\" } ]")));
        var e = Assert.Throws<PotException>(() => c.ToAccuracyAwareOptions());
        Assert.Equal("ConfigAlgorithmMissing", e.ErrorId);
        Assert.Contains("AccuracyAwareQuantization", e.Message);
    }
}
