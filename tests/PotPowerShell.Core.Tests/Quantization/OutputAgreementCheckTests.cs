using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;
using Onnx;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>Every DefaultQuantization result compares its INT8 model with FP32 on calibration items.</summary>
public class OutputAgreementCheckTests
{
    [Fact]
    public void The_sample_passes_with_its_agreement_in_the_result()
    {
        using var tmp = new TempFolder();
        var result = DefaultQuantization.Run(DigitsSampleTests.Sample("digits.onnx"), DigitsSampleTests.Sample("calibration"),
            new DefaultQuantizationOptions { Threads = 1 }, tmp.File("q.onnx"));
        var check = result.Check!;
        Assert.Equal(OutputAgreementCheck.MaxItems, check.Items);
        var logits = Assert.Single(check.Outputs);
        Assert.Equal("logits", logits.Output);
        Assert.True(check.Passed, $"SQNR {logits.SqnrDb} dB");
        Assert.InRange(logits.Cosine, 0.97, 1.0);
        // 10 class scores per item: top-1 agreement is measured.
        Assert.NotNull(logits.Top1Agreement);
        Assert.Empty(check.WorstLayers);
        Assert.DoesNotContain(result.Warnings, w => w.Contains("disagrees with FP32"));
    }

    // Two 1x1 convolutions (weight 1, bias 0) that pass small values through; one calibration item (the last, outside
    // the checked ones) holds a spike of 1000, so min/max input ranges make the quantization step about 8 and every
    // small value becomes 0: the INT8 output is all zeros.
    private static (ModelProto Model, NpyDataset Data) SpikedPassThrough()
    {
        var b = new GraphBuilder("passthrough");
        var x = b.Input("x", "N", 1, 8, 8);
        var c1 = b.Node("Conv", new[] { x, b.Initializer("w1", new[] { 1f }, 1, 1, 1, 1), b.Initializer("b1", new[] { 0f }, 1) }, "conv1");
        var c2 = b.Node("Conv", new[] { c1, b.Initializer("w2", new[] { 1f }, 1, 1, 1, 1), b.Initializer("b2", new[] { 0f }, 1) }, "conv2");
        b.Output(c2);
        var rng = new Random(4);
        var values = Enumerable.Range(0, 10 * 64).Select(_ => (float)(rng.NextDouble() * 0.02 - 0.01)).ToArray();
        values[9 * 64 + 5] = 1000f;
        var data = new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = TensorData.FromFloats(values, new long[] { 10, 1, 8, 8 }) }, null);
        return (b.Build(), data);
    }

    [Fact]
    public void A_destroyed_model_fails_the_check_and_the_warning_names_its_worst_layers()
    {
        using var tmp = new TempFolder();
        var (model, data) = SpikedPassThrough();
        OnnxModelFile.Save(model, tmp.File("m.onnx"));
        var options = new DefaultQuantizationOptions
        {
            Threads = 1, Precision = PrecisionMode.AllInt8, BiasCorrection = false,
            ActivationRange = new RangeEstimatorOptions { Kind = RangeEstimatorKind.MinMax },
        };
        var result = DefaultQuantization.Run(tmp.File("m.onnx"), data, options, tmp.File("q.onnx"));
        var check = result.Check!;
        Assert.False(check.Passed);
        Assert.True(check.SqnrDb < 1, $"SQNR {check.SqnrDb}");
        Assert.Equal(new[] { "conv1", "conv2" }, check.WorstLayers.Select(l => l.Node).OrderBy(n => n));
        var warning = Assert.Single(result.Warnings, w => w.Contains("disagrees with FP32"));
        Assert.Contains("'conv1'", warning);
        Assert.Contains("below 12 dB", warning);
    }

    [Fact]
    public void The_per_layer_pass_in_groups_that_fit_its_memory_names_the_same_layers_with_the_same_figures()
    {
        using var tmp = new TempFolder();
        var (model, data) = SpikedPassThrough();
        OnnxModelFile.Save(model, tmp.File("m.onnx"));
        QuantizationCheck Check(long budget) => DefaultQuantization.Run(tmp.File("m.onnx"), data, new DefaultQuantizationOptions
        {
            Threads = 1, Precision = PrecisionMode.AllInt8, BiasCorrection = false, LayerOutputBudgetBytes = budget,
            ActivationRange = new RangeEstimatorOptions { Kind = RangeEstimatorKind.MinMax },
        }, tmp.File($"q{budget}.onnx")).Check!;
        // A budget of one byte compares each layer's output alone (each 256 bytes per model).
        var whole = Check(0);
        var split = Check(1);
        Assert.Equal(2, whole.WorstLayers.Count);
        Assert.Equal(whole.WorstLayers.Select(l => (l.Node, l.SqnrDb)), split.WorstLayers.Select(l => (l.Node, l.SqnrDb)));
    }

    [Theory]
    [InlineData("3 3 3", 6, "0,1|2")]
    [InlineData("10 1", 5, "0|1")]
    [InlineData("1 1 1", 100, "0,1,2")]
    public void Outputs_are_grouped_in_order_within_the_budget_and_one_too_large_stands_alone(string bytes, long budget, string expected) =>
        Assert.Equal(expected, string.Join("|", OutputAgreementCheck.Groups(bytes.Split(' ').Select(long.Parse).ToList(), budget).Select(g => string.Join(",", g))));

    [Fact]
    public void A_model_whose_only_output_is_its_argmax_label_is_checked_on_the_scores_the_label_comes_from()
    {
        // x [N, 8] -> Gemm "fc1" -> Relu -> Gemm "fc2" -> Softmax "probabilities" -> ArgMax: an int64 label per item,
        // the model's only output. The check compared nothing and passed at 200 dB.
        var rng = new Random(3);
        float[] Weights(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var b = new GraphBuilder("argmax");
        var x = b.Input("x", "N", 8);
        var h = b.Node("Relu", new[] { b.Node("Gemm", new[] { x, b.Initializer("w1", Weights(128), 8, 16), b.Initializer("b1", Weights(16), 16) }, "fc1") }, "relu");
        var scores = b.Node("Gemm", new[] { h, b.Initializer("w2", Weights(48), 16, 3), b.Initializer("b2", Weights(3), 3) }, "fc2");
        var probabilities = b.Node("Softmax", new[] { scores }, "probabilities", ("axis", 1L));
        var label = b.Node("ArgMax", new[] { probabilities }, "label", ("axis", 1L), ("keepdims", 0L));
        b.Output(label, TensorProto.Types.DataType.Int64, "N");
        using var tmp = new TempFolder();
        OnnxModelFile.Save(b.Build(), tmp.File("m.onnx"));
        var data = new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = TensorData.FromFloats(Weights(64 * 8), new long[] { 64, 8 }) }, null);
        var result = DefaultQuantization.Run(tmp.File("m.onnx"), data,
            new DefaultQuantizationOptions { Threads = 1, Precision = PrecisionMode.AllInt8 }, tmp.File("q.onnx"));

        var checkedTensor = Assert.Single(result.Check!.Outputs);
        Assert.Equal(probabilities, checkedTensor.Output);
        Assert.Equal($"'{label}'", checkedTensor.Feeds);
        // Two INT8 layers change the probabilities a little: measured, not identical.
        Assert.InRange(checkedTensor.SqnrDb, QuantizationCheck.DefaultThresholdDb, QuantizationCheck.IdenticalDb - 1);
        Assert.NotNull(checkedTensor.Top1Agreement);
        Assert.Equal(2, result.QuantizedLayerCount);
        // The written model keeps its one output.
        Assert.Equal(new[] { label }, OnnxModelFile.Load(tmp.File("q.onnx")).Graph.Output.Select(o => o.Name));
    }

    [Fact]
    public void Auto_is_never_kept_where_it_fails_the_check_and_pots_ranges_pass()
    {
        // Per item a 768x768 map of small noise and one spike of 100; the output is its global maximum. With 589824
        // values per spike the expected error is least when the spike is clipped near 57 (ClipSearchTests: b* =
        // (x0 + a·k) / (1 + k), k = 589824 / (12·255²) ≈ 0.76), so the output loses 43 %: about 7 dB. Min/max keep the
        // spike (step 0.4): about 50 dB.
        using var tmp = new TempFolder();
        var b = new GraphBuilder("spikes");
        var x = b.Input("x", "N", 1, 768, 768);
        var conv = b.Node("Conv", new[] { x, b.Initializer("w", new[] { 1f }, 1, 1, 1, 1), b.Initializer("b", new[] { 0f }, 1) }, "conv");
        b.Output(b.Node("GlobalMaxPool", new[] { conv }, "max"));
        OnnxModelFile.Save(b.Build(), tmp.File("m.onnx"));
        var rng = new Random(6);
        const int items = 9, size = 768 * 768;
        var values = new float[items * size];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() - 0.5);
        for (int i = 0; i < items; i++) values[i * size + rng.Next(size)] = 100f;
        var data = new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = TensorData.FromFloats(values, new long[] { items, 1, 768, 768 }) }, null);

        var result = DefaultQuantization.Run(tmp.File("m.onnx"), data,
            new DefaultQuantizationOptions
            {
                Threads = 1, Precision = PrecisionMode.AllInt8, BiasCorrection = false, ActivationRange = new RangeEstimatorOptions { Kind = RangeEstimatorKind.Auto },
            }, tmp.File("q.onnx"));
        // Every item holds a spike of 100, so POT's mean of per-item maxima keeps it as min/max does: those ranges pass
        // and win the comparison the self-check makes.
        Assert.True(result.Check!.Passed, $"SQNR {result.Check.SqnrDb}");
        Assert.Equal("MeanMinMax", result.ActivationEstimator);
        Assert.Matches(@"^POT's mean min/max: self-check [\d.]+ dB with auto ranges, [\d.]+ dB with mean min/max$", result.ActivationEstimatorReason);
        Assert.DoesNotContain(result.Warnings, w => w.Contains("below the check", StringComparison.Ordinal));
        // The kept candidate is a variant made from the first calibration pass: the result still gives the run's
        // preparation and calibration (it gave 0 s for both), and counts each stage once, so they add up to no more
        // than the whole run.
        Assert.True(result.PrepareTime > TimeSpan.Zero, $"{result.PrepareTime}");
        Assert.True(result.CalibrationTime > TimeSpan.Zero, $"{result.CalibrationTime}");
        Assert.True(result.CheckTime > TimeSpan.Zero, $"{result.CheckTime}");
        var stages = new[]
        {
            result.PrepareTime, result.PrecisionTime, result.CalibrationTime, result.BiasCorrectionTime, result.EmitTime, result.CheckTime,
            result.LatencyCheckTime, result.SaveTime,
        };
        Assert.True(stages.Aggregate(TimeSpan.Zero, (a, t) => a + t) <= result.TotalTime, string.Join(", ", stages) + $" against {result.TotalTime}");
    }
}
