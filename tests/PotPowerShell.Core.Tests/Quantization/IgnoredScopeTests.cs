using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

public class IgnoredScopeTests
{
    /// <summary>x -> conv_a (3x3) -> relu -> conv_b (1x1) -> conv_c3 (3x3) -> y</summary>
    private static GraphProto Graph()
    {
        var g = new GraphBuilder("s");
        var x = g.Input("x", "batch", 2, 4, 4);
        var a = g.Node("Conv", new[] { x, g.Initializer("wa", new float[36], 2, 2, 3, 3) }, "conv_a", ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 1, 1, 1, 1 }));
        var r = g.Node("Relu", new[] { a }, "relu");
        var b = g.Node("Conv", new[] { r, g.Initializer("wb", new float[4], 2, 2, 1, 1) }, "conv_b", ("kernel_shape", new long[] { 1, 1 }));
        var c = g.Node("Conv", new[] { b, g.Initializer("wc", new float[36], 2, 2, 3, 3) }, "conv_c3", ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 1, 1, 1, 1 }));
        g.Output(c);
        return g.Graph;
    }

    private static IReadOnlySet<string> Resolve(string[] names, params IgnoredOperation[] ops) =>
        IgnoredScope.Resolve(Graph(), names, ops).Nodes;

    [Fact]
    public void Exact_names_and_regular_expressions_select_nodes()
    {
        Assert.Equal(new[] { "conv_b" }, Resolve(new[] { "conv_b" }));
        Assert.Equal(new[] { "conv_a", "conv_b", "conv_c3" }, Resolve(new[] { "conv_.*" }));
        Assert.Equal(new[] { "conv_a", "conv_b" }, Resolve(new[] { "/conv_[ab]/" }));
        // A pattern matches whole names only.
        Assert.Equal(new[] { "relu" }, Resolve(new[] { "rel.+" }));
    }

    [Fact]
    public void Op_types_select_nodes_optionally_by_attribute()
    {
        Assert.Equal(new[] { "conv_a", "conv_b", "conv_c3" }, Resolve(Array.Empty<string>(), new IgnoredOperation("Conv")));
        var threeByThree = new Dictionary<string, string> { ["kernel_shape"] = "[3, 3]" };
        Assert.Equal(new[] { "conv_a", "conv_c3" }, Resolve(Array.Empty<string>(), new IgnoredOperation("Conv", threeByThree)));
        Assert.Equal(new[] { "conv_b" }, Resolve(Array.Empty<string>(), new IgnoredOperation("conv", new Dictionary<string, string> { ["kernel_shape"] = "1,1" })));
        var none = IgnoredScope.Resolve(Graph(), Array.Empty<string>(), new[] { new IgnoredOperation("Softmax") });
        Assert.Empty(none.Nodes);
        Assert.Contains("Softmax", Assert.Single(none.Warnings));
    }

    [Fact]
    public void An_unknown_name_is_an_error_listing_the_closest_names()
    {
        var e = Assert.Throws<PotException>(() => Resolve(new[] { "conv_c33" }));
        Assert.Equal("IgnoredScopeNotFound", e.ErrorId);
        Assert.Equal("conv_c33", e.Target);
        // conv_c3 is one edit away, conv_a and conv_b three: listed nearest first.
        int c3 = e.Message.IndexOf("'conv_c3'", StringComparison.Ordinal);
        int a = e.Message.IndexOf("'conv_a'", StringComparison.Ordinal);
        Assert.True(c3 >= 0 && a > c3, e.Message);
        Assert.Equal("IgnoredScopeNotFound", Assert.Throws<PotException>(() => Resolve(new[] { "dense.*" })).ErrorId);
        Assert.Equal("IgnoredScopeInvalidPattern", Assert.Throws<PotException>(() => Resolve(new[] { "conv_(" })).ErrorId);
    }

    [Fact]
    public void Names_folded_away_by_preparation_are_accepted()
    {
        var r = IgnoredScope.Resolve(Graph(), new[] { "bn_1" }, Array.Empty<IgnoredOperation>(), knownNames: new[] { "bn_1" });
        Assert.Empty(r.Nodes);
    }

    [Fact]
    public void Edit_distance_counts_insertions_deletions_and_substitutions()
    {
        Assert.Equal(0, IgnoredScope.EditDistance("conv", "conv"));
        Assert.Equal(1, IgnoredScope.EditDistance("conv", "conv1"));
        Assert.Equal(3, IgnoredScope.EditDistance("kitten", "sitting"));
        Assert.Equal(4, IgnoredScope.EditDistance("", "abcd"));
    }

    [Fact]
    public void Ignored_layers_stay_float_in_the_quantized_model()
    {
        using var tmp = new TempFolder();
        var g = new GraphBuilder("s");
        var x = g.Input("x", "batch", 2, 4, 4);
        var random = new Random(2);
        float[] W(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var a = g.Node("Conv", new[] { x, g.Initializer("wa", W(36), 2, 2, 3, 3) }, "conv_a", ("pads", new long[] { 1, 1, 1, 1 }));
        var r = g.Node("Relu", new[] { a }, "relu");
        var b = g.Node("Conv", new[] { r, g.Initializer("wb", W(4), 2, 2, 1, 1) }, "conv_b");
        g.Output(b);
        OnnxModelFile.Save(g.Build(), tmp.File("m.onnx"));
        var data = new PotPowerShell.Core.Data.NpyDataset("memory", new Dictionary<string, PotPowerShell.Core.Data.TensorData>
        {
            ["x"] = PotPowerShell.Core.Data.TensorData.FromFloats(W(8 * 32), 8, 2, 4, 4),
        }, null);
        var result = DefaultQuantization.Run(tmp.File("m.onnx"), data, new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, IgnoredNodes = new[] { "conv_b" }, Threads = 1 }, tmp.File("q.onnx"));
        Assert.Equal(new[] { "conv_b" }, result.IgnoredNodes);
        var row = result.Layers.Single(l => l.Node == "conv_b");
        Assert.Equal("Float", row.Precision);
        Assert.Equal("ignored scope", row.Reason);
        Assert.Equal("INT8", result.Layers.Single(l => l.Node == "conv_a").Precision);
        var model = OnnxModelFile.Load(tmp.File("q.onnx"));
        var convB = model.Graph.Node.Single(n => n.Name == "conv_b");
        Assert.Contains(model.Graph.Initializer, t => t.Name == convB.Input[1] && t.DataType == (int)TensorProto.Types.DataType.Float);
    }
}
