using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

public class BiasCorrectionTests
{
    private static readonly float[] W = { 0.5f, -0.25f, 0.75f, 0.3f };   // [2,2,1,1]
    private static readonly float[] B = { 0.2f, -0.1f };

    /// <summary>x[batch,2,3,3] -> Conv 1x1 (W, B) -> y. A 1x1 convolution without padding commutes with the mean, so
    /// the constant-mean input of FastBiasCorrection gives exactly the quantized layer's mean output.</summary>
    private static ModelProto Conv1x1(float[]? bias = null)
    {
        var g = new GraphBuilder("c");
        var x = g.Input("x", "batch", 2, 3, 3);
        var w = g.Initializer("w", W, 2, 2, 1, 1);
        var inputs = new List<string> { x, w };
        if (bias != null) inputs.Add(g.Initializer("b", bias, 2));
        g.Output(g.Node("Conv", inputs.ToArray(), "conv"));
        return g.Build();
    }

    private static NpyDataset Data(int count)
    {
        var random = new Random(11);
        var x = Enumerable.Range(0, count * 18).Select(_ => (float)(random.NextDouble() * 2.5 - 1)).ToArray();
        return new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = TensorData.FromFloats(x, count, 2, 3, 3) }, null);
    }

    private static QuantizedModelBuilder Calibrate(TempFolder tmp, ModelProto model, IDataset data, bool fast, double threshold)
    {
        OnnxModelFile.Save(model, tmp.File("m.onnx"));
        return QuantizedModelBuilder.Create(tmp.File("m.onnx"), data, new DefaultQuantizationOptions
        {
            Measurement = TestMeasurement.Int8Faster,
            Preset = QuantizationPreset.Mixed,
            UseFastBiasCorrection = fast,
            BiasCorrectionThreshold = threshold,
            Threads = 1,
        });
    }

    /// <summary>The emitted model's quantizers, read back so that the test can do the QDQ arithmetic itself.</summary>
    private sealed record Quantized(float InputScale, int InputZeroPoint, int QMin, int QMax, float[] Weights, float[] Bias);

    private static Quantized ReadQuantized(QuantizedModelBuilder builder)
    {
        var emitted = QdqEmitter.Emit(builder.FloatModel, builder.Plan with { CorrectedBiases = new Dictionary<string, float[]>() });
        var g = emitted.Graph;
        var init = g.Initializer.ToDictionary(t => t.Name);
        var producer = g.Node.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n);
        var conv = g.Node.Single(n => n.OpType == "Conv");
        NodeProto Dq(int slot) => producer[conv.Input[slot]];
        float[] Dequantize(NodeProto dq) => DequantizeConstant(dq, init);
        var x = Dq(0);
        var zp = init[x.Input[2]];
        bool unsigned = zp.DataType == (int)TensorProto.Types.DataType.Uint8;
        return new Quantized(TensorProtos.ToFloats(init[x.Input[1]])[0], (int)TensorProtos.ToFloats(zp)[0],
            unsigned ? 0 : -128, unsigned ? 255 : 127, Dequantize(Dq(1)), Dequantize(Dq(2)));
    }

    /// <summary>Dequantizes a constant DQ node (per tensor or per axis) the way the ONNX spec defines it.</summary>
    private static float[] DequantizeConstant(NodeProto dq, Dictionary<string, TensorProto> init)
    {
        var t = init[dq.Input[0]];
        var codes = TensorProtos.ToFloats(t);
        var scales = TensorProtos.ToFloats(init[dq.Input[1]]);
        var zps = dq.Input.Count > 2 ? TensorProtos.ToFloats(init[dq.Input[2]]) : new float[scales.Length];
        if (scales.Length == 1) return codes.Select(c => (c - zps[0]) * scales[0]).ToArray();
        int axis = (int)(dq.Attribute.FirstOrDefault(a => a.Name == "axis")?.I ?? 1);
        long inner = t.Dims.Skip(axis + 1).Aggregate(1L, (a, b) => a * b);
        return codes.Select((c, i) => { int ch = (int)(i / inner % t.Dims[axis]); return (c - zps[ch]) * scales[ch]; }).ToArray();
    }

    [Fact]
    public void Fast_bias_correction_handles_a_matmul_whose_bias_is_in_the_following_add()
    {
        // x[batch,4] -> MatMul(M[4,2]) -> Add(c[2]) -> y: the Add's constant is the layer's bias.
        float[] m = { 0.5f, -1f, 0.25f, 0.75f, -0.5f, 0.3f, 1f, 0.2f };
        float[] c = { 0.3f, -0.2f };
        var g = new GraphBuilder("mm");
        var x = g.Input("x", "batch", 4);
        var mm = g.Node("MatMul", new[] { x, g.Initializer("m", m, 4, 2) }, "mm");
        g.Output(g.Node("Add", new[] { mm, g.Initializer("c", c, 2) }, "bias"));
        var random = new Random(4);
        var data = new NpyDataset("memory", new Dictionary<string, TensorData>
        {
            ["x"] = TensorData.FromFloats(Enumerable.Range(0, 160).Select(_ => (float)(random.NextDouble() * 3 - 1)).ToArray(), 40, 4),
        }, null);
        using var tmp = new TempFolder();
        var builder = Calibrate(tmp, g.Build(), data, fast: true, threshold: 1e9);

        var emitted = QdqEmitter.Emit(builder.FloatModel, builder.Plan with { CorrectedBiases = new Dictionary<string, float[]>() });
        var init = emitted.Graph.Initializer.ToDictionary(t => t.Name);
        var producer = emitted.Graph.Node.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n);
        var matmul = emitted.Graph.Node.Single(n => n.OpType == "MatMul");
        var add = emitted.Graph.Node.Single(n => n.OpType == "Add");
        var xdq = producer[matmul.Input[0]];
        var zp = init[xdq.Input[2]];
        bool unsigned = zp.DataType == (int)TensorProto.Types.DataType.Uint8;
        var q = new Quantized(TensorProtos.ToFloats(init[xdq.Input[1]])[0], (int)TensorProtos.ToFloats(zp)[0], unsigned ? 0 : -128, unsigned ? 255 : 127,
            DequantizeConstant(producer[matmul.Input[1]], init), DequantizeConstant(producer[add.Input.Single(i => i != matmul.Output[0])], init));

        var rows = Enumerable.Range(0, 40).Select(i => data.Get(i).Inputs["x"].ToFloats()).ToList();
        float[] Layer(float[] v, float[] w, float[] b) => Enumerable.Range(0, 2).Select(n => b[n] + Enumerable.Range(0, 4).Sum(k => v[k] * w[k * 2 + n])).ToArray();
        var fpOut = Enumerable.Range(0, 2).Select(n => rows.Average(r => Layer(r, m, c)[n])).ToArray();
        var blob = Enumerable.Range(0, 4).Select(k => FakeQuantize(rows.Average(r => r[k]), q)).ToArray();
        var qOut = Layer(blob, q.Weights, q.Bias);
        var corrected = builder.Plan.CorrectedBiases["mm"];
        Assert.Equal(c[0] + (fpOut[0] - qOut[0]), corrected[0], 4);
        Assert.Equal(c[1] + (fpOut[1] - qOut[1]), corrected[1], 4);
    }

    private static float FakeQuantize(float v, Quantized q) =>
        (Math.Clamp(MathF.Round(v / q.InputScale, MidpointRounding.ToEven) + q.InputZeroPoint, q.QMin, q.QMax) - q.InputZeroPoint) * q.InputScale;

    private static double[] ChannelMeans(IDataset data, Func<float[], float[]> perPixel)
    {
        var sums = new double[2];
        int pixels = 0;
        for (int i = 0; i < data.Count; i++)
        {
            var x = data.Get(i).Inputs["x"].ToFloats();
            for (int p = 0; p < 9; p++)
            {
                var y = perPixel(new[] { x[p], x[9 + p] });
                sums[0] += y[0];
                sums[1] += y[1];
                pixels++;
            }
        }
        return sums.Select(s => s / pixels).ToArray();
    }

    private static float[] Layer(float[] x, float[] w, float[] b) =>
        new[] { w[0] * x[0] + w[1] * x[1] + b[0], w[2] * x[0] + w[3] * x[1] + b[1] };

    [Fact]
    public void Fast_bias_correction_shifts_the_bias_by_fp32_mean_minus_quantized_output_on_the_mean_input()
    {
        using var tmp = new TempFolder();
        var data = Data(40);
        var builder = Calibrate(tmp, Conv1x1(B), data, fast: true, threshold: 1e9);
        var q = ReadQuantized(builder);

        var fpOut = ChannelMeans(data, x => Layer(x, W, B));
        var inMean = ChannelMeans(data, x => x);
        var blob = inMean.Select(m => FakeQuantize((float)m, q)).ToArray();
        var qOut = Layer(blob, q.Weights, q.Bias);
        var expected = B.Select((b, c) => b + (fpOut[c] - qOut[c])).ToArray();

        var corrected = builder.Plan.CorrectedBiases["conv"];
        Assert.Equal(expected[0], corrected[0], 4);
        Assert.Equal(expected[1], corrected[1], 4);
        Assert.NotEqual(B[0], corrected[0]);
    }

    [Fact]
    public void Full_bias_correction_compares_output_means_over_the_calibration_items()
    {
        using var tmp = new TempFolder();
        var data = Data(40);
        var builder = Calibrate(tmp, Conv1x1(B), data, fast: false, threshold: 1e9);
        var q = ReadQuantized(builder);

        var fpOut = ChannelMeans(data, x => Layer(x, W, B));
        var qOut = ChannelMeans(data, x => Layer(x.Select(v => FakeQuantize(v, q)).ToArray(), q.Weights, q.Bias));
        var corrected = builder.Plan.CorrectedBiases["conv"];
        Assert.Equal(B[0] + (fpOut[0] - qOut[0]), corrected[0], 4);
        Assert.Equal(B[1] + (fpOut[1] - qOut[1]), corrected[1], 4);
    }

    [Fact]
    public void Threshold_zero_bias_and_missing_bias_leave_the_bias_alone_and_say_why()
    {
        using var tmp = new TempFolder();
        var data = Data(20);
        var strict = Calibrate(tmp, Conv1x1(B), data, fast: true, threshold: 1e-9);
        Assert.Empty(strict.Plan.CorrectedBiases);
        Assert.Contains("not below the threshold", strict.Setup.BiasCorrection!.Notes["conv"]);
        Assert.True(strict.Setup.BiasCorrection.Magnitudes["conv"] > 0);

        var zero = Calibrate(tmp, Conv1x1(new[] { 0.2f, 0f }), data, fast: true, threshold: 1e9);
        Assert.Empty(zero.Plan.CorrectedBiases);
        Assert.Contains("bias element is 0", zero.Setup.BiasCorrection!.Notes["conv"]);

        var none = Calibrate(tmp, Conv1x1(), data, fast: true, threshold: 1e9);
        Assert.Empty(none.Plan.CorrectedBiases);
        Assert.Equal("no bias", none.Setup.BiasCorrection!.Notes["conv"]);
    }

    [Fact]
    public void A_reverted_layer_gets_its_original_bias_back()
    {
        using var tmp = new TempFolder();
        var builder = Calibrate(tmp, Conv1x1(B), Data(20), fast: true, threshold: 1e9);
        Assert.True(builder.Plan.CorrectedBiases.ContainsKey("conv"));
        var reverted = builder.Build(new HashSet<string> { "conv" });
        var conv = reverted.Graph.Node.Single(n => n.OpType == "Conv");
        var bias = reverted.Graph.Initializer.Single(t => t.Name == conv.Input[2]);
        Assert.Equal(B, TensorProtos.ToFloats(bias));
        Assert.Equal(W, TensorProtos.ToFloats(reverted.Graph.Initializer.Single(t => t.Name == conv.Input[1])));
        // The prepared float model itself still holds the original bias.
        Assert.Equal(B, TensorProtos.ToFloats(builder.FloatModel.Graph.Initializer.Single(t => t.Name == "b")));
    }

    [Fact]
    public void Magnitude_is_the_largest_shift_to_bias_ratio_and_infinite_for_a_zero_bias()
    {
        Assert.Equal(1.5, BiasCorrection.Magnitude(new[] { 2f, -1f }, new[] { 1f, 1.5f }), 9);
        Assert.Equal(double.PositiveInfinity, BiasCorrection.Magnitude(new[] { 2f, 0f }, new[] { 1f, 0f }));
    }
}
