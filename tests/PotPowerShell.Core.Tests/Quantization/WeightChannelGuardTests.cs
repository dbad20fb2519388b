using PotPowerShell.Core.Config;
using Onnx;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>Dead weight channels (BatchNorm with gamma near 0 folded in) get a sane scale and exact-zero weights.</summary>
public class WeightChannelGuardTests
{
    // Depthwise 3x3 over 4 channels: channel 1 is 1e-35 times the others (a scale like 1e-37), channel 2 is all zeros.
    private static ModelProto Depthwise(out float[] weights, out float[] bias)
    {
        var rng = new Random(5);
        weights = QdqTestModels.Weights(rng, 4 * 9, 0.5f);
        for (int i = 9; i < 18; i++) weights[i] *= 1e-35f;
        for (int i = 18; i < 27; i++) weights[i] = 0f;
        bias = new[] { 0.1f, 0.37f, -0.25f, 0.05f };
        var b = new GraphBuilder("depthwise");
        var x = b.Input("x", "N", 4, 8, 8);
        var w = b.Initializer("dw_W", weights, 4, 1, 3, 3);
        var bb = b.Initializer("dw_B", bias, 4);
        var y = b.Node("Conv", new[] { x, w, bb }, "dw", ("group", 4L), ("pads", new long[] { 1, 1, 1, 1 }));
        var z = b.Node("Relu", new[] { y }, "dw_relu");
        b.Output(z);
        return b.Build();
    }

    [Fact]
    public void Dead_channels_take_the_median_live_scale_and_zero_weights()
    {
        var w = new float[] { 1, -2, 1e-30f, 0, 0, 0, 0.5f, 0.25f };
        var p = new WeightParameters(0, new[] { 2f / 127, 1e-30f / 127, 1f, 0.5f / 127 }, new int[4]);
        var (guarded, values, dead) = WeightChannelGuard.Apply(p, w, new long[] { 4, 2 });
        Assert.Equal(2, dead);
        // Live scales 0.5/127 and 2/127: the lower median.
        Assert.Equal(new[] { 2f / 127, 0.5f / 127, 0.5f / 127, 0.5f / 127 }, guarded.Scales);
        Assert.Equal(new float[] { 1, -2, 0, 0, 0, 0, 0.5f, 0.25f }, values);
        // Nothing dead: the same objects back.
        var live = new WeightParameters(0, new[] { 1f, 0.5f }, new int[2]);
        var same = new float[] { 1, 0.5f };
        var unchanged = WeightChannelGuard.Apply(live, same, new long[] { 2, 1 });
        Assert.Same(live, unchanged.Params);
        Assert.Same(same, unchanged.Values);
    }

    [Fact]
    public void No_channel_gets_a_tiny_scale_and_the_dead_channels_output_keeps_its_bias()
    {
        var model = Depthwise(out var weights, out var bias);
        var h = new QdqHarness(model, rng => QdqHarness.Input("x", OrtTestRunner.RandomData(rng, 2 * 4 * 64, 2f), 2, 4, 8, 8));
        var quantized = QdqEmitter.Emit(h.Prepared, h.Plan(QuantizationTypes.U8S8));
        var inits = quantized.Graph.Initializer.ToDictionary(t => t.Name);
        var scales = TensorProtos.ToFloats(inits.Values.Single(t => t.Name.Contains("weight_scale")));
        Assert.Equal(4, scales.Length);
        float median = new[] { scales[0], scales[3] }.Min();
        Assert.Equal(median, scales[1]);
        Assert.Equal(median, scales[2]);
        var biasScales = TensorProtos.ToFloats(inits.Values.Single(t => t.Name.Contains("bias_scale")));
        Assert.All(biasScales, s => Assert.True(s > 1e-6f, $"bias scale {s}"));

        // Channel 1 and 2 outputs are their biases (Relu'd) in float; the INT8 model gives them within one output step.
        var fp = OrtTestRunner.Run(h.Prepared, h.Test).Values.Single();
        var q = OrtTestRunner.Run(quantized, h.Test).Values.Single();
        float outputStep = h.Plan(QuantizationTypes.U8S8).Ranges.Values.Max(r => r.Max) / 255f;
        for (int n = 0; n < 2; n++)
            for (int c = 1; c <= 2; c++)
                for (int k = 0; k < 64; k++)
                {
                    int i = (n * 4 + c) * 64 + k;
                    Assert.Equal(Math.Max(bias[c], 0f), fp[i], 6);
                    Assert.True(Math.Abs(q[i] - fp[i]) <= outputStep, $"channel {c}: {q[i]} vs {fp[i]}");
                }
    }
}
