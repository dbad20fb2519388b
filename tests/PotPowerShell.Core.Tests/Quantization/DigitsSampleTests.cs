using Microsoft.ML.OnnxRuntime;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>The shipped sample, quantized with its calibration set, checked with plain ONNX Runtime.</summary>
public class DigitsSampleTests(Xunit.Abstractions.ITestOutputHelper log)
{
    internal static string Sample(params string[] parts) =>
        Path.GetFullPath(Path.Combine(new[] { AppContext.BaseDirectory, "..", "..", "..", "..", "..", "samples", "digits" }.Concat(parts).ToArray()));

    /// <summary>A model's logits for each of the 400 validation items at ORT_ENABLE_ALL (the fused INT8 kernels).</summary>
    internal static float[][] Logits(string modelPath)
    {
        var data = NpyDataset.Open(Sample("validation"));
        var x = (float[])NpyReader.ReadFile(Sample("validation", "input.npy")).Data;
        using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, threads: 1);
        using var session = OrtSessions.Create(File.ReadAllBytes(modelPath), options, modelPath);
        using var input = OrtValue.CreateTensorValueFromMemory(x, new long[] { data.Count, 1, 8, 8 });
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, new[] { "input" }, new[] { input }, new[] { "logits" });
        var logits = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        return Enumerable.Range(0, data.Count).Select(i => logits.AsSpan(i * 10, 10).ToArray()).ToArray();
    }

    /// <summary>The first class holding the largest score.</summary>
    internal static int ArgMax(float[] row)
    {
        int best = 0;
        for (int k = 1; k < row.Length; k++) if (row[k] > row[best]) best = k;
        return best;
    }

    /// <summary>Top-1 accuracy of a model on the 400 validation items (see <see cref="Logits"/>).</summary>
    internal static double Top1(string modelPath)
    {
        var data = NpyDataset.Open(Sample("validation"));
        var logits = Logits(modelPath);
        return (double)Enumerable.Range(0, data.Count).Count(i => ArgMax(logits[i]) == (long)data.Get(i).Annotation!) / data.Count;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Quantized_sample_loses_at_most_one_point_of_top1_and_runs_int8_kernels(bool allInt8)
    {
        using var tmp = new TempFolder();
        string output = tmp.File("digits.int8.onnx");
        // Timings from a fake in which conv1 (1 input channel, 3x3) is slower in INT8, as stems are on many CPUs.
        var timer = new FakeTimer { SlowInInt8 = new HashSet<string> { "/conv1/Conv" } };
        var result = DefaultQuantization.Run(Sample("digits.onnx"), Sample("calibration"), new DefaultQuantizationOptions
        {
            Measurement = TestMeasurement.With(timer, tmp.File("costs.json")),
            Threads = 1,
            Precision = allInt8 ? PrecisionMode.AllInt8 : PrecisionMode.Fastest,
        }, output);

        double fp32 = Top1(Sample("digits.onnx"));
        double int8 = Top1(output);
        log.WriteLine($"FP32 top-1 {fp32:P2}, INT8 top-1 {int8:P2}, {result.Types} ({result.TypesReason}), kernels: {string.Join(", ", result.FusedKernels)}");
        foreach (var l in result.Layers)
            log.WriteLine($"{l.Node} {l.OpType} {l.Precision} in [{l.InputMin}, {l.InputMax}] s={l.InputScale} zp={l.InputZeroPoint} w=[{l.WeightScaleMin}, {l.WeightScaleMax}] bias={l.BiasCorrected} {l.BiasNote}");
        Assert.True(fp32 - int8 <= 0.01, $"FP32 top-1 {fp32:P2}, INT8 top-1 {int8:P2}");
        Assert.Equal(5, result.LayerCount);
        // Fastest keeps conv1 float (the fake says its INT8 kernel is slower); every other weighted layer runs as an INT8 kernel.
        var conv1 = result.Layers.Single(l => l.Node == "/conv1/Conv");
        Assert.Equal(allInt8 ? "INT8" : "Float", conv1.Precision);
        if (!allInt8) Assert.StartsWith("faster in float: INT8 ", conv1.Reason);
        int int8Layers = allInt8 ? 5 : 4;
        Assert.Equal(int8Layers, result.QuantizedLayerCount);
        Assert.Equal(int8Layers, result.FusedLayerCount);
        Assert.Equal(300, result.StatSubsetSize);
    }
}
