using PotPowerShell.Core.Config;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>saturation_fix first_layer: 7-bit weights where the INT8 kernels start, 8-bit weights elsewhere.</summary>
public class FirstLayerSaturationTests
{
    private static float[] W(int n, int seed) { var r = new Random(seed); return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray(); }

    private static QuantizableLayer Layer(string node) => new(node, "Conv", "", "");

    /// <summary>x -> a; y -> b; a + b -> c -> d (1x1 convolutions, 4 channels).</summary>
    private static global::Onnx.ModelProto TwoInputs()
    {
        var g = new GraphBuilder("two");
        var x = g.Input("x", 1L, 4L, 4L, 4L);
        var y = g.Input("y", 1L, 4L, 4L, 4L);
        string Conv(string input, string name) => g.Node("Conv", new[] { input, g.Initializer(name + "_w", W(16, name.Length), 4, 4, 1, 1) }, name);
        var sum = g.Node("Add", new[] { Conv(x, "a"), Conv(y, "b") }, "add");
        g.Output(Conv(Conv(sum, "c"), "d"));
        return g.Build();
    }

    [Fact]
    public void The_first_layers_are_the_int8_layers_no_other_int8_layer_feeds()
    {
        var model = TwoInputs();
        Assert.Equal(new[] { "a", "b" }, FirstLayerSaturation.Find(model, new[] { "a", "b", "c", "d" }.Select(Layer)).Order());
        // c is fed by b through the Add, even though a is float.
        Assert.Equal(new[] { "b" }, FirstLayerSaturation.Find(model, new[] { "b", "c", "d" }.Select(Layer)));
        // Float layers in front do not count: the INT8 kernels start after them.
        Assert.Equal(new[] { "c" }, FirstLayerSaturation.Find(model, new[] { "c", "d" }.Select(Layer)));
        Assert.Equal(new[] { "d" }, FirstLayerSaturation.Find(model, new[] { "d" }.Select(Layer)));
    }

    [Theory]
    [InlineData(false, "/conv2/Conv")]   // conv1 stays float (slower in INT8 here), so the INT8 kernels start at conv2
    [InlineData(true, "/conv1/Conv")]
    public void Only_the_first_int8_layer_of_the_sample_gets_7_bit_weights(bool allInt8, string first)
    {
        using var tmp = new TempFolder();
        string output = tmp.File("q.onnx");
        var timer = new FakeTimer { SlowInInt8 = new HashSet<string> { "/conv1/Conv" } };
        var result = DefaultQuantization.Run(DigitsSampleTests.Sample("digits.onnx"), DigitsSampleTests.Sample("calibration"),
            new DefaultQuantizationOptions
            {
                Measurement = TestMeasurement.With(timer, tmp.File("costs.json")), Threads = 1, StatSubsetSize = 32, Types = QuantizationTypes.U8S8,
                FixFirstLayerSaturation = true, Precision = allInt8 ? PrecisionMode.AllInt8 : PrecisionMode.Fastest,
            }, output);
        var model = OnnxModelFile.Load(output);
        foreach (var layer in result.Layers.Where(l => l.Precision == "INT8"))
        {
            var codes = model.Graph.Initializer.Single(t => t.Name == layer.Node + "_weight_quantized").RawData.Span.ToArray().Select(b => Math.Abs((int)(sbyte)b)).ToArray();
            int bits = layer.Node == first ? 7 : 8;
            Assert.Equal(bits, layer.WeightBits);
            // Symmetric per-channel weights: the largest weight of each channel takes the top code.
            Assert.Equal(bits == 7 ? 63 : 127, codes.Max());
        }
        Assert.StartsWith("quantized, 7-bit weights", result.Layers.Single(l => l.Node == first).Reason);
        Assert.Equal(allInt8 ? 5 : 4, result.FusedLayerCount);
    }
}
