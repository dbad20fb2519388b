using Onnx;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Tests.Quantization;

namespace PotPowerShell.Core.Tests.Onnx;

/// <summary>Cross-layer equalization keeps the FP32 model's outputs and equalizes the weight ranges it promises to.</summary>
public class CrossLayerEqualizationTests
{
    /// <summary>
    /// x [1, 4, 6, 6] -> Conv A (depthwise 3x3 when <paramref name="depthwise"/>, else 4 -> 4 3x3) -> <paramref name="between"/>
    /// -> Conv B (1x1, 4 -> 3, bias) -> y. A's output channels get very different magnitudes (1e-3 to 10), as trained
    /// depthwise layers have.
    /// </summary>
    private static ModelProto Pair(bool depthwise, string? between, bool firstBias = true)
    {
        var rng = new Random(5);
        var b = new GraphBuilder("cle");
        string x = b.Input("x", 1, 4, 6, 6);
        int perGroup = depthwise ? 1 : 4;
        var magnitudes = new[] { 1e-3f, 0.5f, 3f, 10f };
        var wa = new float[4 * perGroup * 9];
        for (int i = 0; i < wa.Length; i++) wa[i] = (float)(rng.NextDouble() * 2 - 1) * magnitudes[i / (perGroup * 9)];
        var inputs = new List<string> { x, b.Initializer("wa", wa, 4, perGroup, 3, 3) };
        if (firstBias) inputs.Add(b.Initializer("ba", new[] { 0.1f, -0.2f, 0.3f, 0.05f }, 4));
        string a = b.Node("Conv", inputs.ToArray(), "A", ("pads", new long[] { 1, 1, 1, 1 }), ("group", (long)(depthwise ? 4 : 1)));
        string mid = between switch
        {
            null => a,
            "Clip" => b.Node("Clip", new[] { a, b.Initializer("zero", new[] { 0f }) }, "act"),
            "LeakyRelu" => b.Node("LeakyRelu", new[] { a }, "act", ("alpha", 0.1f)),
            _ => b.Node(between, new[] { a }, "act"),
        };
        var wb = OrtTestRunner.RandomData(rng, 3 * 4, 0.7f);
        string y = b.Node("Conv", new[] { mid, b.Initializer("wb", wb, 3, 4, 1, 1), b.Initializer("bb", new[] { 0.2f, 0f, -0.1f }, 3) }, "B");
        b.Output(y);
        return b.Build();
    }

    [Theory]
    [InlineData(true, "Relu")]
    [InlineData(true, "Clip")]
    [InlineData(true, null)]
    [InlineData(false, "Relu")]
    [InlineData(false, "LeakyRelu")]
    [InlineData(false, null)]
    public void Equalized_pairs_keep_the_fp32_outputs_within_1e5_relative(bool depthwise, string? between)
    {
        var model = Pair(depthwise, between);
        var (equalized, pairs) = CrossLayerEqualization.Equalize(model);
        var pair = Assert.Single(pairs);
        Assert.Equal(("A", "B", between), (pair.First, pair.Second, pair.Between));
        Assert.Contains(pair.Scales, s => Math.Abs(s - 1) > 0.1); // something really moved

        var inputs = new Dictionary<string, (float[] Data, int[] Dims)> { ["x"] = (OrtTestRunner.RandomData(new Random(9), 4 * 36, 2f), new[] { 1, 4, 6, 6 }) };
        var before = OrtTestRunner.Run(model, inputs).Single().Value;
        var after = OrtTestRunner.Run(equalized, inputs).Single().Value;
        float scale = before.Max(Math.Abs);
        Assert.True(OrtTestRunner.MaxAbsDiff(before, after) <= 1e-5f * scale, $"differs by {OrtTestRunner.MaxAbsDiff(before, after)} on outputs up to {scale}");
        // The input model is untouched.
        Assert.Equal(TensorProtos.ToFloats(model.Graph.Initializer.Single(t => t.Name == "wa")), TensorProtos.ToFloats(Pair(depthwise, between).Graph.Initializer.Single(t => t.Name == "wa")));
    }

    [Fact]
    public void Each_channel_between_the_pair_ends_with_equal_weight_ranges_on_both_sides()
    {
        // One pair, no chain: one sweep already reaches sqrt(r1 r2) on both sides, and later sweeps keep it.
        var (equalized, _) = CrossLayerEqualization.Equalize(Pair(depthwise: true, "Relu"));
        var wa = TensorProtos.ToFloats(equalized.Graph.Initializer.Single(t => t.Name == "wa"));
        var wb = TensorProtos.ToFloats(equalized.Graph.Initializer.Single(t => t.Name == "wb"));
        for (int c = 0; c < 4; c++)
        {
            float r1 = wa.Skip(c * 9).Take(9).Max(Math.Abs);
            float r2 = Enumerable.Range(0, 3).Max(o => Math.Abs(wb[o * 4 + c]));
            Assert.Equal(r1, r2, r1 * 1e-5f);
        }
    }

    [Fact]
    public void Depthwise_only_equalizes_pairs_whose_first_conv_is_depthwise()
    {
        Assert.Single(CrossLayerEqualization.Equalize(Pair(depthwise: true, "Relu"), depthwiseOnly: true).Pairs);
        Assert.Empty(CrossLayerEqualization.Equalize(Pair(depthwise: false, "Relu"), depthwiseOnly: true).Pairs);
    }

    [Theory]
    [InlineData("Sigmoid")]   // not homogeneous
    [InlineData("ClipMax")]   // Relu6: clip(x / s, 0, 6) != clip(x, 0, 6) / s
    [InlineData("Shared")]    // A's output has a second reader
    public void Pairs_equalization_would_change_are_left_alone(string kind)
    {
        var b = new GraphBuilder("cle");
        string x = b.Input("x", 1, 2, 4, 4);
        string a = b.Node("Conv", new[] { x, b.Initializer("wa", new[] { 1f, 100f }, 2, 1, 1, 1) }, "A", ("group", 2L));
        string mid = kind switch
        {
            "Sigmoid" => b.Node("Sigmoid", new[] { a }, "act"),
            "ClipMax" => b.Node("Clip", new[] { a, b.Initializer("lo", new[] { 0f }), b.Initializer("hi", new[] { 6f }) }, "act"),
            _ => a,
        };
        string y = b.Node("Conv", new[] { mid, b.Initializer("wb", new[] { 1f, 1f }, 1, 2, 1, 1) }, "B");
        b.Output(y);
        if (kind == "Shared") b.Output(a);
        var model = b.Build();
        var (result, pairs) = CrossLayerEqualization.Equalize(model);
        Assert.Empty(pairs);
        Assert.Same(model, result);
    }
}
