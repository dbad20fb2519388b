using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Tests.Quantization;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>
/// A builder keeps its layers' quantized weights across candidates (QdqWeightCache): every candidate it builds after
/// others is, byte for byte, the model a builder that never built anything gives for the same reverted layers, and
/// shares their bytes with the candidates built before.
/// </summary>
public class CandidateBuildTests
{
    /// <summary>Reverted sets in the order a search might build them: growing, shrinking, back to none.</summary>
    private static IEnumerable<HashSet<string>> Sequence(IReadOnlyList<string> layers)
    {
        yield return new HashSet<string>();
        foreach (var l in layers) yield return new HashSet<string> { l };
        yield return layers.Take(2).ToHashSet();
        yield return layers.Skip(1).Take(3).ToHashSet();
        yield return layers.ToHashSet();
        yield return new HashSet<string> { layers[^1] };
        yield return new HashSet<string>();
    }

    private static void AssertSameAsFresh(QuantizedModelBuilder builder)
    {
        var layers = builder.Layers.Select(l => l.Node).ToList();
        Assert.True(layers.Count >= 3, "the model should have several quantized layers");
        foreach (var reverted in Sequence(layers))
        {
            var warm = builder.Build(reverted).ToByteArray();
            // The same plan in a builder that has built nothing: its cache is empty.
            var fresh = builder.WithBiasCorrectionVerdict(kept: true, "fresh").Build(reverted).ToByteArray();
            Assert.True(fresh.AsSpan().SequenceEqual(warm), $"reverting {string.Join(", ", reverted)} gave other bytes after earlier builds");
        }
        var (quantized, reused) = builder.WeightCacheUse;
        // Each weighted layer's weights are quantized once (bias correction is dropped for a reverted layer, which does
        // not change the weights of the others), and reused for every later candidate.
        int weighted = builder.WithBiasCorrectionVerdict(kept: true, "fresh").Build(new HashSet<string>()).Graph.Node.Count(n => n.Name.EndsWith("_weight_DequantizeLinear", StringComparison.Ordinal));
        Assert.Equal(weighted, quantized);
        Assert.True(reused >= weighted * 5, $"reused {reused} times");
        // Reused weights share their bytes (ByteString is immutable) instead of copying them into every candidate.
        var whole = builder.Build(new HashSet<string>()).Graph.Initializer.ToDictionary(t => t.Name);
        var shared = builder.Build(new HashSet<string> { layers[0] }).Graph.Initializer.Where(t => t.Name.EndsWith("_weight_quantized", StringComparison.Ordinal)).ToList();
        Assert.Equal(weighted - 1, shared.Count);
        Assert.All(shared, t => Assert.Same(whole[t.Name].RawData, t.RawData));
    }

    [Fact]
    public void Digits_candidates_with_bias_correction_are_the_bytes_of_a_fresh_build()
    {
        using var data = NpyDataset.Open(DigitsSampleTests.Sample("calibration"));
        var builder = QuantizedModelBuilder.Create(DigitsSampleTests.Sample("digits.onnx"), data,
            new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, StatSubsetSize = 64, BiasCorrectionThreshold = 1e6 });
        Assert.NotEmpty(builder.Plan.CorrectedBiases);
        AssertSameAsFresh(builder);
    }

    [Fact]
    public void Transformer_candidates_with_symmetric_products_are_the_bytes_of_a_fresh_build()
    {
        using var tmp = new TempFolder();
        string model = tmp.File("transformer.onnx");
        OnnxModelFile.Save(SyntheticModels.TransformerStack(layers: 1, hidden: 32, heads: 2, sequence: 8, feedForward: 64), model);
        var data = new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = SyntheticModels.NormalData(16, new long[] { 8, 32 }, 3) }, null);
        var builder = QuantizedModelBuilder.Create(model, data, new DefaultQuantizationOptions
        {
            Measurement = TestMeasurement.Int8Faster,
            Precision = PrecisionMode.AllInt8,
            ModelType = "transformer",
            Preset = QuantizationPreset.Mixed,
            Types = QuantizationTypes.U8S8,
            Threads = 1,
        });
        Assert.True(builder.Plan.SymmetricActivationProducts);
        AssertSameAsFresh(builder);
    }
}
