using PotPowerShell.Core.Tests.Quantization;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Calibration;

/// <summary>
/// NaN and Inf in calibration are never silent: the first one is an error that names the model input or the layer and
/// the item, or, when skipped, the ranges come from the finite values only and a warning counts what was left out.
/// </summary>
public class NonFiniteCalibrationTests
{
    /// <summary>20 items of x[4] in [-2, 2], with <paramref name="edit"/> applied to the flat values.</summary>
    private static (NpyDataset Data, float[] Values) Data(Action<float[]> edit)
    {
        var all = Enumerable.Range(0, 20).SelectMany(i => ActivationCollectorTests.Data(20).Get(i).Inputs["x"].ToFloats()).ToArray();
        edit(all);
        return (new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = TensorData.FromFloats(all, 20, 4) }, null), all);
    }

    private static CalibrationStatistics Collect(IDataset data, bool skip, int batch = 1, RangeEstimatorKind kind = RangeEstimatorKind.MinMax,
        params string[] tensors) =>
        ActivationCollector.Collect(ActivationCollectorTests.MatMulRelu(), data, Enumerable.Range(0, data.Count).ToArray(), new CalibrationRequest
        {
            RangeTensors = tensors.Length > 0 ? tensors : new[] { "x", "mm_out", "relu_out" },
            Estimator = kind,
            BatchSize = batch,
            BatchMemoryBytes = 0,
            ChannelMeanTensors = new Dictionary<string, int> { ["mm_out"] = -1 },
            Threads = 1,
            SkipNonFiniteValues = skip,
        }, null, CancellationToken.None);

    [Theory]
    [InlineData(float.PositiveInfinity, 1)]
    [InlineData(float.NaN, 1)]
    [InlineData(float.NegativeInfinity, 4)]
    public void A_non_finite_input_value_is_an_error_naming_the_input_and_the_item(float bad, int batch)
    {
        var (data, _) = Data(v => v[5 * 4 + 2] = bad);
        var e = Assert.Throws<PotException>(() => Collect(data, skip: false, batch));
        Assert.Equal("NonFiniteCalibrationData", e.ErrorId);
        Assert.Equal("x", e.Target);
        Assert.Contains("item 5 ", e.Message);
        Assert.Contains("model input 'x'", e.Message);
        Assert.Contains("-SkipNonFiniteValues", e.Message);
        // Also when the input itself is not calibrated (e.g. its first layer stays float).
        e = Assert.Throws<PotException>(() => Collect(data, skip: false, batch, RangeEstimatorKind.MinMax, "mm_out"));
        Assert.Equal("x", e.Target);
    }

    [Fact]
    public void A_layer_that_overflows_on_huge_finite_data_is_named()
    {
        // 3e38 is a finite float, but the MatMul's output overflows to +Inf on that item.
        var (data, _) = Data(v => { v[7 * 4] = 3e38f; v[7 * 4 + 1] = 3e38f; });
        var e = Assert.Throws<PotException>(() => Collect(data, skip: false));
        Assert.Equal("NonFiniteCalibrationData", e.ErrorId);
        Assert.Equal("mm_out", e.Target);
        Assert.Contains("item 7 ", e.Message);
        Assert.Contains("node 'mm', MatMul", e.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Skipped_values_leave_finite_ranges_from_the_other_values_and_a_warning_that_counts_them(int batch)
    {
        var (data, values) = Data(v => { v[5 * 4 + 2] = float.PositiveInfinity; v[9 * 4] = float.NaN; v[9 * 4 + 3] = float.NaN; });
        var stats = Collect(data, skip: true, batch);
        var finite = values.Where(float.IsFinite).ToArray();
        Assert.Equal(new ActivationRange(finite.Min(), finite.Max()), stats.Ranges["x"]);
        Assert.All(stats.Ranges.Values, r => Assert.True(float.IsFinite(r.Min) && float.IsFinite(r.Max)));
        Assert.All(stats.ChannelMeans["mm_out"].Means, m => Assert.True(float.IsFinite(m)));
        var warning = Assert.Single(stats.Warnings);
        Assert.Contains("model input 'x': 3 values in 2 item(s), first item 5", warning);
        // The batch size changes nothing.
        Assert.Equal(Collect(data, skip: true, batch: 1).Ranges, stats.Ranges);
        Assert.Equal(Collect(data, skip: true, batch: 1, RangeEstimatorKind.MeanMinMax).Ranges, Collect(data, skip: true, batch, RangeEstimatorKind.MeanMinMax).Ranges);
    }

    [Fact]
    public void All_nan_data_is_an_error_even_when_skipping()
    {
        var (data, _) = Data(v => Array.Fill(v, float.NaN));
        Assert.Equal("NonFiniteCalibrationData", Assert.Throws<PotException>(() => Collect(data, skip: false)).ErrorId);
        var e = Assert.Throws<PotException>(() => Collect(data, skip: true));
        Assert.Equal("NonFiniteCalibrationData", e.ErrorId);
        Assert.Contains("Every calibration value", e.Message);
    }

    [Fact]
    public void Finite_data_gives_no_warning()
    {
        var (data, _) = Data(_ => { });
        Assert.Empty(Collect(data, skip: true, batch: 4).Warnings);
        Assert.Equal(Collect(data, skip: false, batch: 4).Ranges, Collect(data, skip: true, batch: 4).Ranges);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Quantization_with_skipped_values_gives_finite_parameters_with_either_bias_correction(bool fast)
    {
        using var tmp = new TempFolder();
        var g = new PotPowerShell.Core.Onnx.GraphBuilder("s");
        var x = g.Input("x", "batch", 2, 4, 4);
        var random = new Random(2);
        float[] W(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var a = g.Node("Conv", new[] { x, g.Initializer("wa", W(36), 2, 2, 3, 3), g.Initializer("ba", W(2), 2) }, "conv_a", ("pads", new long[] { 1, 1, 1, 1 }));
        var r = g.Node("Relu", new[] { a }, "relu");
        var b = g.Node("Conv", new[] { r, g.Initializer("wb", W(4), 2, 2, 1, 1), g.Initializer("bb", W(2), 2) }, "conv_b");
        g.Output(b);
        PotPowerShell.Core.Onnx.OnnxModelFile.Save(g.Build(), tmp.File("m.onnx"));
        var values = W(8 * 32);
        values[3 * 32 + 7] = float.PositiveInfinity;
        var data = new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = TensorData.FromFloats(values, 8, 2, 4, 4) }, null);
        var options = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, Threads = 1, UseFastBiasCorrection = fast };
        var e = Assert.Throws<PotException>(() => DefaultQuantization.Run(tmp.File("m.onnx"), data, options, tmp.File("q.onnx")));
        Assert.Equal("NonFiniteCalibrationData", e.ErrorId);
        Assert.False(File.Exists(tmp.File("q.onnx")));

        var result = DefaultQuantization.Run(tmp.File("m.onnx"), data, options with { SkipNonFiniteValues = true }, tmp.File("q.onnx"));
        Assert.Contains(result.Warnings, w => w.Contains("model input 'x': 1 values in 1 item(s), first item 3", StringComparison.Ordinal));
        var model = PotPowerShell.Core.Onnx.OnnxModelFile.Load(tmp.File("q.onnx"));
        foreach (var t in model.Graph.Initializer.Where(t => t.DataType == (int)global::Onnx.TensorProto.Types.DataType.Float))
            Assert.All(PotPowerShell.Core.Onnx.TensorProtos.ToFloats(t), v => Assert.True(float.IsFinite(v), t.Name));
        Assert.True(result.BiasCorrectedLayerCount > 0);
    }

    [Fact]
    public void The_first_non_finite_index_is_found_in_and_after_the_vector_part()
    {
        for (int length = 0; length < 40; length++)
            for (int at = -1; at < length; at++)
            {
                var v = Enumerable.Range(0, length).Select(i => (float)i).ToArray();
                if (at >= 0) v[at] = float.NegativeInfinity;
                Assert.Equal(at, SpanMath.FirstNonFinite(v));
            }
    }
}
