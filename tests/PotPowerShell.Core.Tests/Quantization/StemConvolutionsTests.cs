using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

public class StemConvolutionsTests
{
    /// <summary>x[batch, channels, 8, 8] -> Conv(weight [8, channels/group, k, k]) -> Relu -> Conv 1x1 (8 -> 8).</summary>
    private static global::Onnx.ModelProto Model(int channels, int kernel, int group = 1)
    {
        var random = new Random(channels * 31 + kernel);
        float[] W(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var g = new GraphBuilder("stem");
        var x = g.Input("x", "batch", (long)channels, 8L, 8L);
        long pad = kernel / 2;
        var stem = g.Node("Conv", new[] { x, g.Initializer("w", W(8 * channels / group * kernel * kernel), 8, channels / group, kernel, kernel) }, "stem",
            ("pads", new[] { pad, pad, pad, pad }), ("group", (long)group));
        var relu = g.Node("Relu", new[] { stem }, "relu");
        g.Output(g.Node("Conv", new[] { relu, g.Initializer("w2", W(64), 8, 8, 1, 1) }, "next"));
        return ModelPreparation.Prepare(g.Build());
    }

    [Theory]
    [InlineData(1, 3, 1, true)]   // grayscale 3x3 (the digits sample's conv1)
    [InlineData(1, 5, 1, true)]
    [InlineData(2, 3, 1, true)]
    [InlineData(3, 3, 1, true)]   // RGB 3x3
    [InlineData(3, 7, 1, false)]  // ResNet's 7x7 stem: INT8 is faster
    [InlineData(4, 3, 1, false)]
    [InlineData(8, 3, 1, false)]
    [InlineData(3, 1, 1, false)]  // 1x1: INT8 is faster
    [InlineData(8, 3, 8, false)]  // depthwise: not a stem
    public void Stems_are_small_convolutions_of_one_to_three_channels(int channels, int kernel, int group, bool stem) =>
        Assert.Equal(stem ? new[] { "stem" } : Array.Empty<string>(), StemConvolutions.Find(Model(channels, kernel, group)));

    [Theory]
    [InlineData(TargetDevice.Any, "Float")]
    [InlineData(TargetDevice.Cpu, "Float")]
    [InlineData(TargetDevice.Gpu, "INT8")]
    [InlineData(TargetDevice.Npu, "INT8")]
    public void A_stem_stays_float_only_for_cpu_targets(TargetDevice device, string precision)
    {
        using var tmp = new TempFolder();
        OnnxModelFile.Save(Model(3, 3), tmp.File("m.onnx"));
        var data = new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = SyntheticModels.ImageLikeData(8, 3, 8, 8, 1) }, null);
        var result = DefaultQuantization.Run(tmp.File("m.onnx"), data, new DefaultQuantizationOptions { TargetDevice = device, Threads = 1 }, tmp.File("q.onnx"));
        Assert.Equal(precision, result.Layers.Single(l => l.Node == "stem").Precision);
        Assert.Equal("INT8", result.Layers.Single(l => l.Node == "next").Precision);
        Assert.Empty(result.IgnoredNodes);

        var forced = DefaultQuantization.Run(tmp.File("m.onnx"), data,
            new DefaultQuantizationOptions { TargetDevice = device, Threads = 1, QuantizeStemConvolutions = true }, tmp.File("q2.onnx"));
        Assert.Equal("INT8", forced.Layers.Single(l => l.Node == "stem").Precision);
    }

    [Fact]
    public void A_model_whose_layers_all_stay_float_still_calibrates_and_saves()
    {
        using var tmp = new TempFolder();
        OnnxModelFile.Save(Model(1, 3), tmp.File("m.onnx"));
        var data = new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = SyntheticModels.ImageLikeData(4, 1, 8, 8, 1) }, null);
        var result = DefaultQuantization.Run(tmp.File("m.onnx"), data, new DefaultQuantizationOptions { IgnoredNodes = new[] { "next" }, Threads = 1 }, tmp.File("q.onnx"));
        Assert.Equal(0, result.QuantizedLayerCount);
        Assert.True(File.Exists(tmp.File("q.onnx")));
    }
}
