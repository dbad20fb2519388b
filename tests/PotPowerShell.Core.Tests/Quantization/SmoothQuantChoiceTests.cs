using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>When SmoothQuant runs, what the builder's smoothed model computes, and what the result says.</summary>
public class SmoothQuantChoiceTests
{
    private static readonly ModelTypeChoice Transformer = new(true, "model_type transformer");
    private static readonly ModelTypeChoice Plain = new(false, "model_type none");

    [Fact]
    public void Plan_follows_the_option_and_the_model_type()
    {
        var defaults = SmoothQuantChoice.Resolve(new DefaultQuantizationOptions(), Transformer);
        Assert.Equal((SmoothQuantChoice.DefaultAlpha, true), (defaults.Alpha!.Value, defaults.Verified));
        var given = SmoothQuantChoice.Resolve(new DefaultQuantizationOptions { SmoothQuantAlpha = 0.8 }, Transformer);
        Assert.Equal((0.8, false), (given.Alpha!.Value, given.Verified));
        Assert.Null(SmoothQuantChoice.Resolve(new DefaultQuantizationOptions { SmoothQuantAlpha = -1 }, Transformer).Alpha);
        Assert.StartsWith("off", SmoothQuantChoice.Resolve(new DefaultQuantizationOptions { SmoothQuantAlpha = -1 }, Transformer).Reason);
        var plain = SmoothQuantChoice.Resolve(new DefaultQuantizationOptions { SmoothQuantAlpha = 0.8 }, Plain);
        Assert.Null(plain.Alpha);
        Assert.Contains("not a transformer", plain.Reason);
    }

    private static QuantizationCheck Check(double db) => new()
    {
        Items = 8,
        ThresholdDb = QuantizationCheck.DefaultThresholdDb,
        Outputs = new[] { new OutputAgreement { Output = "y", SqnrDb = db, Cosine = 1 } },
    };

    [Fact]
    public void Smoothed_model_is_kept_only_for_a_real_gain()
    {
        Assert.True(SmoothQuantChoice.Keep(Check(20 + SmoothQuantChoice.MinGainDb), Check(20)));
        Assert.False(SmoothQuantChoice.Keep(Check(20.1), Check(20)));   // within the check's noise
        Assert.False(SmoothQuantChoice.Keep(Check(19), Check(20)));
    }

    private static (string Model, NpyDataset Data) Stack(TempFolder tmp)
    {
        string model = tmp.File("t.onnx");
        if (!File.Exists(model)) OnnxModelFile.Save(SyntheticModels.TransformerStack(layers: 1, hidden: 32, heads: 2, sequence: 8, feedForward: 64), model);
        var x = SyntheticModels.NormalData(12, new long[] { 8, 32 }, 3);
        // Activation outliers, as trained transformers have: channel 5 of the input is 30 times larger.
        var values = (float[])x.Data;
        for (int i = 5; i < values.Length; i += 32) values[i] *= 30;
        return (model, new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = x }, null));
    }

    private static DefaultQuantizationOptions Options(double? alpha, string? modelType = "transformer") =>
        new() { Measurement = TestMeasurement.Int8Faster, ModelType = modelType, SmoothQuantAlpha = alpha, Threads = 1, SkipLatencyCheck = true };

    [Fact]
    public void Smoothed_builder_computes_what_the_prepared_model_does_from_the_calibration_maxima()
    {
        using var tmp = new TempFolder();
        var (model, data) = Stack(tmp);
        var builder = QuantizedModelBuilder.Create(model, data, Options(0.5));
        // The calibration pass collected max |x| per channel of every Linear input; the input x is one of them.
        var x = builder.Setup.Statistics.ChannelAbsMax["x"].Maxima;
        float expected = 0;
        foreach (int i in builder.Setup.Statistics.Items)
        {
            var v = (float[])data.Get(i).Inputs["x"].Data;
            for (int k = 5; k < v.Length; k += 32) expected = Math.Max(expected, Math.Abs(v[k]));
        }
        Assert.Equal(expected, x[5]);

        var smoothed = builder.Smoothed(0.5);
        Assert.NotNull(smoothed);
        Assert.Equal(6, smoothed!.Setup.Smoothed.Sum(g => g.Layers.Count)); // Q, K, V, output, ffn_up, ffn_down
        var inputs = new Dictionary<string, (float[] Data, int[] Dims)> { ["x"] = ((float[])data.Get(0).Inputs["x"].Data, new[] { 1, 8, 32 }) };
        var before = OrtTestRunner.Run(builder.FloatModel, inputs).Single().Value;
        var after = OrtTestRunner.Run(smoothed.FloatModel, inputs).Single().Value;
        Assert.True(OrtTestRunner.MaxAbsDiff(before, after) <= 1e-5f * before.Max(Math.Abs));
        // Calibrated again: the smoothed layers' inputs have ranges of their own.
        foreach (var g in smoothed.Setup.Smoothed.Where(g => g.Mul != null))
            Assert.Contains(smoothed.Layers.First(l => l.Node == g.Layers[0]).Input, smoothed.Setup.Statistics.Ranges.Keys);
    }

    [Fact]
    public void Result_says_whether_smoothquant_was_applied_and_why()
    {
        using var tmp = new TempFolder();
        var (model, data) = Stack(tmp);
        var forced = DefaultQuantization.Run(model, data, Options(0.5), tmp.File("forced.onnx"));
        Assert.StartsWith("applied: smooth_quant_alpha 0.5", forced.SmoothQuant);
        Assert.Equal(6, forced.SmoothedLayers.Sum(s => s.Split(" -> ")[1].Split(" (")[0].Split(", ").Length));
        Assert.Contains(OnnxModelFile.Load(tmp.File("forced.onnx")).Graph.Node, n => n.OpType == "Mul" && n.Name.EndsWith("_smooth", StringComparison.Ordinal));

        var verified = DefaultQuantization.Run(model, data, Options(null), tmp.File("verified.onnx"));
        Assert.Contains("self-check", verified.SmoothQuant);
        Assert.Equal(verified.SmoothQuant.StartsWith("applied", StringComparison.Ordinal), verified.SmoothedLayers.Count > 0);

        Assert.StartsWith("off", DefaultQuantization.Run(model, data, Options(-1), tmp.File("off.onnx")).SmoothQuant);
        var none = DefaultQuantization.Run(model, data, Options(0.5, "none"), tmp.File("none.onnx"));
        Assert.StartsWith("not applied: not a transformer", none.SmoothQuant);
        Assert.Empty(none.SmoothedLayers);
    }

    [Fact]
    public void Same_inputs_give_the_same_bytes_with_smoothquant()
    {
        using var tmp = new TempFolder();
        var (model, data) = Stack(tmp);
        DefaultQuantization.Run(model, data, Options(0.5), tmp.File("a.onnx"));
        DefaultQuantization.Run(model, data, Options(0.5), tmp.File("b.onnx"));
        Assert.Equal(File.ReadAllBytes(tmp.File("a.onnx")), File.ReadAllBytes(tmp.File("b.onnx")));
    }

    [Fact]
    public void Channel_abs_max_is_the_largest_magnitude_per_last_axis_channel()
    {
        var s = new ChannelAbsMaxStatistic();
        s.Add(new[] { 1f, -2f, 3f, -4f, 0.5f, 6f }, new long[] { 1, 2, 3 }, 1);
        s.Add(new[] { -7f, 1f, 1f }, new long[] { 1, 1, 3 }, 1);
        s.Add(new[] { 100f, 100f }, new long[] { 1, 1, 2 }, 1); // other channels: left out
        Assert.Equal(new[] { 7f, 2f, 6f }, s.Maxima);
        Assert.Equal(2, s.Items);
    }
}
