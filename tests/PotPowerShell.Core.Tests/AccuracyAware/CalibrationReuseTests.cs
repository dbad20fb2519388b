using Google.Protobuf;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Tests.Quantization;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>
/// Issue 5: calibration statistics are collected once and reused for every candidate model. One pass measures what the
/// mixed preset and the tuning grid need; the builders of those settings are made from it without reading the data.
/// </summary>
public class CalibrationReuseTests
{
    /// <summary>Counts how often each item is read, to see how many passes went over the data.</summary>
    private sealed class CountingDataset(IDataset inner) : IDataset
    {
        private readonly int[] _reads = new int[inner.Count];
        public string Source => inner.Source;
        public int Count => inner.Count;
        public IReadOnlyList<string> InputNames => inner.InputNames;
        public bool HasAnnotations => inner.HasAnnotations;
        public IReadOnlyList<int> Reads => _reads;

        public DataItem Get(int index)
        {
            _reads[index]++;
            return inner.Get(index);
        }
    }

    private static IEnumerable<(string Name, Func<DefaultQuantizationOptions, DefaultQuantizationOptions> Change)> Changes() => new (string, Func<DefaultQuantizationOptions, DefaultQuantizationOptions>)[]
    {
        ("MinMax", o => o with { ActivationRange = new RangeEstimatorOptions { Kind = RangeEstimatorKind.MinMax } }),
        ("Quantile 1e-3", o => o with { ActivationRange = new RangeEstimatorOptions { Kind = RangeEstimatorKind.Quantile, OutlierProbability = 1e-3 } }),
        ("mixed preset", o => o with { Preset = QuantizationPreset.Mixed }),
        ("full bias correction", o => o with { UseFastBiasCorrection = false }),
        ("mixed, Quantile 1e-4, full bias correction", o => o with
        {
            Preset = QuantizationPreset.Mixed,
            ActivationRange = new RangeEstimatorOptions { Kind = RangeEstimatorKind.Quantile, OutlierProbability = 1e-4 },
            UseFastBiasCorrection = false,
        }),
    };

    [Fact]
    public void A_variant_built_from_the_shared_pass_is_the_model_a_fresh_calibration_gives()
    {
        using var data = NpyDataset.Open(DigitsSampleTests.Sample("calibration"));
        var model = DigitsSampleTests.Sample("digits.onnx");
        var main = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, StatSubsetSize = 64 };
        var changes = Changes().ToList();
        var counting = new CountingDataset(data);
        var shared = QuantizedModelBuilder.Create(model, counting, main, changes.Select(c => c.Change(main)).ToList());
        var afterCalibration = counting.Reads.ToArray();
        Assert.Equal(64, afterCalibration.Count(r => r > 0));

        var none = new HashSet<string>();
        Assert.Equal(QuantizedModelBuilder.Create(model, data, main).Build(none).ToByteArray(), shared.Build(none).ToByteArray());
        foreach (var (name, change) in changes)
        {
            var options = change(main);
            var before = counting.Reads.Sum();
            var variant = shared.Variant(options);
            Assert.True(variant.Setup.CalibrationReused, name);
            // Only full bias correction reads the data again, to run the new quantized model; fast reads nothing.
            Assert.Equal(options.UseFastBiasCorrection ? 0 : 64, counting.Reads.Sum() - before);
            var fresh = QuantizedModelBuilder.Create(model, data, options);
            Assert.False(fresh.Setup.CalibrationReused);
            Assert.Equal(fresh.Plan.Ranges, variant.Plan.Ranges);
            Assert.Equal(fresh.Plan.CorrectedBiases.Keys, variant.Plan.CorrectedBiases.Keys);
            Assert.True(fresh.Build(none).ToByteArray().AsSpan().SequenceEqual(variant.Build(none).ToByteArray()), $"{name}: the variant's model differs from a fresh calibration's");
        }
        // Different ranges really were measured: the estimators disagree on this model.
        Assert.NotEqual(shared.Plan.Ranges, shared.Variant(changes[0].Change(main)).Plan.Ranges);
    }

    [Fact]
    public void A_variant_that_needs_another_calibration_is_refused()
    {
        using var data = NpyDataset.Open(DigitsSampleTests.Sample("calibration"));
        var model = DigitsSampleTests.Sample("digits.onnx");
        var main = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, StatSubsetSize = 16 };
        var builder = QuantizedModelBuilder.Create(model, data, main);
        // Not measured by the pass: it was not listed as a variant.
        Assert.Throws<InvalidOperationException>(() => builder.Variant(main with { ActivationRange = new RangeEstimatorOptions { Kind = RangeEstimatorKind.MinMax } }));
        // Another subset of items is another calibration.
        Assert.Throws<ArgumentException>(() => builder.Variant(main with { StatSubsetSize = 32 }));
        Assert.Throws<ArgumentException>(() => QuantizedModelBuilder.Create(model, data, main, new[] { main with { Seed = 7 } }));
        Assert.Same(builder, builder.Variant(main));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Tuning_and_the_mixed_preset_run_on_one_calibration_pass(bool biasCorrection)
    {
        using var m = new OutlierModel();
        CountingDataset? counting = null;
        var options = new AccuracyAwareOptions
        {
            MaximalDrop = 0.01,
            ConvertToMixedPreset = true,
            TuneHyperparameters = true,
            RankingSubsetSize = 40,
            Quantization = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, BiasCorrection = biasCorrection },
        };
        var job = new AccuracyAwareJob
        {
            ModelPath = m.ModelPath,
            CalibrationDataPath = m.CalibrationPath,
            EnginePath = m.EnginePath,
            Options = options,
            CalibrationWrapper = d => counting = new CountingDataset(d),
        };
        var r = AccuracyAwarePipeline.Run(job, m.File("aaq.onnx"));

        // The run did quantize again: the mixed preset and the four range estimators of the grid (none is the default,
        // auto) and, with bias correction, the other bias correction, each a calibration of its own before.
        Assert.Contains(r.Log, l => l.StartsWith("Mixed preset:", StringComparison.Ordinal));
        int tried = r.Log.Count(l => l.StartsWith("  activation range ", StringComparison.Ordinal));
        Assert.Equal(biasCorrection ? 5 : 4, tried);

        Assert.Equal(1, r.CalibrationPasses);
        // Item 0 is read a few more times: before calibration to check its shapes against the model's inputs, to read
        // the layers' shapes and to time the whole-model candidates of the precision choice (unless cached), and at
        // the end for the latency check.
        var reads = counting!.Reads;
        Assert.InRange(reads[0], 1 + r.BiasCorrectionPasses, 5 + r.BiasCorrectionPasses);
        Assert.All(reads.Skip(1), n => Assert.Equal(1 + r.BiasCorrectionPasses, n));
        // Full bias correction runs each quantized model over the data: only the tuning candidate that uses it does.
        Assert.Equal(biasCorrection ? 1 : 0, r.BiasCorrectionPasses);
        // Calibration batches items (the batch axis is dynamic), so a pass of 100 items takes 2 to 100 inferences.
        Assert.InRange(r.CalibrationInferences, 2 * (1 + r.BiasCorrectionPasses), 100 * (1 + r.BiasCorrectionPasses));
        Assert.True(r.Met, r.Reason);
        Assert.Contains("\"calibration_passes\": 1", File.ReadAllText(r.ReportPath!));
    }
}
