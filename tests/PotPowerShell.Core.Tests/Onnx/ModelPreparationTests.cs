using Onnx;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Tests.Quantization;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Tests.Onnx;

/// <summary>Preparation keeps the model's meaning: ORT gives the same outputs before and after, op by op.</summary>
public class ModelPreparationTests
{
    private static readonly Random Rng = new(11);

    private static float[] Data(int n, float scale = 1f) => OrtTestRunner.RandomData(new Random(n * 31 + 7), n, scale);

    /// <summary>Runs the original and the prepared model in ORT and compares every output.</summary>
    private static ModelProto AssertSameOutputs(ModelProto model, IReadOnlyDictionary<string, (float[] Data, int[] Dims)> inputs, float tolerance = 1e-5f)
    {
        var prepared = ModelPreparation.Prepare(model);
        Assert.Equal(ModelPreparation.TargetOpset, ModelInspector.DefaultOpset(prepared) >= 13 ? 13 : ModelInspector.DefaultOpset(prepared));
        var before = OrtTestRunner.Run(model, inputs);
        var after = OrtTestRunner.Run(prepared, inputs);
        Assert.Equal(before.Keys.OrderBy(k => k), after.Keys.OrderBy(k => k));
        foreach (var (name, expected) in before)
        {
            Assert.Equal(expected.Length, after[name].Length);
            Assert.True(OrtTestRunner.MaxAbsDiff(expected, after[name]) <= tolerance, $"output {name} differs by {OrtTestRunner.MaxAbsDiff(expected, after[name])}");
        }
        return prepared;
    }

    private static Dictionary<string, (float[] Data, int[] Dims)> In(string name, params int[] dims) =>
        new() { [name] = (Data(dims.Aggregate(1, (a, b) => a * b), 2f), dims) };

    private static void AssertNoOldForms(ModelProto prepared, params string[] forbiddenAttributes)
    {
        foreach (var n in prepared.Graph.Node)
            foreach (var a in n.Attribute)
                Assert.DoesNotContain(a.Name, forbiddenAttributes);
    }

    [Theory]
    [InlineData("Softmax", 11, 1)]
    [InlineData("Softmax", 12, 2)]
    [InlineData("LogSoftmax", 11, 1)]
    [InlineData("Hardmax", 10, 2)]
    [InlineData("Softmax", 9, -1)]
    [InlineData("Softmax", 8, 3)]
    public void Coerced_2d_normalizations_keep_their_meaning(string op, int opset, int axis)
    {
        var b = new GraphBuilder("softmax", opset);
        var x = b.Input("x", 2, 3, 4, 5);
        var y = b.Node(op, new[] { x }, "sm", ("axis", (long)axis));
        b.Output(y);
        var prepared = AssertSameOutputs(b.Build(), In("x", 2, 3, 4, 5));
        var node = prepared.Graph.Node.Single(n => n.OpType == op);
        Assert.Equal(-1, node.Attribute.Single(a => a.Name == "axis").I);
    }

    [Fact]
    public void Softmax_on_a_2d_gemm_output_is_kept_without_a_rewrite()
    {
        var b = new GraphBuilder("fc", 11);
        var x = b.Input("x", 3, 4);
        var w = b.Initializer("w", Data(20), 4, 5);
        var y = b.Node("Softmax", new[] { b.Node("Gemm", new[] { x, w }, "fc") }, "sm", ("axis", 1L));
        b.Output(y);
        var prepared = AssertSameOutputs(b.Build(), In("x", 3, 4));
        Assert.DoesNotContain(prepared.Graph.Node, n => n.OpType is "Flatten" or "Reshape");
    }

    [Fact]
    public void Axes_and_split_attributes_become_inputs()
    {
        var b = new GraphBuilder("axes", 11);
        var x = b.Input("x", 2, 1, 6);
        var sq = b.Node("Squeeze", new[] { x }, "sq", ("axes", new long[] { 1 }));
        var us = b.Node("Unsqueeze", new[] { sq }, "us", ("axes", new long[] { 0, 2 }));
        var parts = b.NodeMulti("Split", new[] { us }, 2, "split", ("axis", 3L), ("split", new long[] { 2, 4 }));
        var rs = b.Node("ReduceSum", new[] { parts[1] }, "rs", ("axes", new long[] { 3 }), ("keepdims", 0L));
        b.Output(parts[0]);
        b.Output(rs);
        var prepared = AssertSameOutputs(b.Build(), In("x", 2, 1, 6));
        AssertNoOldForms(prepared, "axes", "split");
    }

    [Fact]
    public void Opset_8_attributes_of_clip_slice_pad_topk_become_inputs()
    {
        var b = new GraphBuilder("old", 8);
        var x = b.Input("x", 2, 3, 8);
        var c = b.Node("Clip", new[] { x }, "clip", ("min", -0.5f), ("max", 0.75f));
        var c2 = b.Node("Clip", new[] { c }, "clip_max_only", ("max", 0.5f));
        var s = b.Node("Slice", new[] { c2 }, "slice", ("starts", new long[] { 1, 2 }), ("ends", new long[] { 3, 7 }), ("axes", new long[] { 1, 2 }));
        var p = b.Node("Pad", new[] { s }, "pad", ("pads", new long[] { 0, 0, 1, 0, 0, 2 }), ("value", 0.25f));
        var t = b.NodeMulti("TopK", new[] { p }, 2, "topk", ("k", 3L), ("axis", 2L));
        b.Output(t[0]);
        var model = b.Build();
        // TopK's indices are int64; only the values are compared.
        var prepared = AssertSameOutputs(model, In("x", 2, 3, 8));
        AssertNoOldForms(prepared, "min", "max", "starts", "ends", "axes", "pads", "value", "k");
    }

    [Theory]
    [InlineData(8, "nearest")]
    [InlineData(9, "nearest")]
    [InlineData(9, "linear")]
    public void Upsample_becomes_resize(int opset, string mode)
    {
        var b = new GraphBuilder("up", opset);
        var x = b.Input("x", 1, 2, 3, 4);
        var scales = new[] { 1f, 1f, 2f, 3f };
        string y = opset < 9
            ? b.Node("Upsample", new[] { x }, "up", ("mode", mode), ("scales", scales))
            : b.Node("Upsample", new[] { x, b.Initializer("scales", scales, 4) }, "up", ("mode", mode));
        b.Output(y);
        var prepared = AssertSameOutputs(b.Build(), In("x", 1, 2, 3, 4));
        Assert.Equal("Resize", prepared.Graph.Node.Single().OpType);
    }

    [Theory]
    [InlineData("nearest")]
    [InlineData("linear")]
    public void Resize_10_becomes_resize_13(string mode)
    {
        var b = new GraphBuilder("resize", 10);
        var x = b.Input("x", 1, 2, 3, 4);
        var y = b.Node("Resize", new[] { x, b.Initializer("scales", new[] { 1f, 1f, 2f, 2f }, 4) }, "rs", ("mode", mode));
        b.Output(y);
        AssertSameOutputs(b.Build(), In("x", 1, 2, 3, 4));
    }

    [Fact]
    public void Opset_8_batchnorm_dropout_and_scatter_are_upgraded()
    {
        var b = new GraphBuilder("bn", 8);
        var x = b.Input("x", 2, 3, 4, 4);
        var bn = b.Node("BatchNormalization", new[] { x, b.Initializer("g", Data(3), 3), b.Initializer("be", Data(3), 3),
            b.Initializer("m", Data(3), 3), b.Initializer("v", Data(3).Select(v => Math.Abs(v) + 0.5f).ToArray(), 3) },
            "bn", ("spatial", 1L), ("epsilon", 1e-3f), ("momentum", 0.9f));
        var d = b.Node("Dropout", new[] { bn }, "drop", ("ratio", 0.3f));
        var flat = b.Node("Flatten", new[] { d }, "flat");
        b.Output(flat);
        var prepared = AssertSameOutputs(b.Build(), In("x", 2, 3, 4, 4));
        AssertNoOldForms(prepared, "spatial", "ratio");
        Assert.DoesNotContain(prepared.Graph.Node, n => n.OpType is "Dropout" or "Identity");

        var s = new GraphBuilder("scatter", 10);
        var data = s.Input("x", 3, 3);
        var idx = s.Initializer("idx", new long[] { 1, 0, 2, 0, 2, 1 }, 2, 3);
        var upd = s.Initializer("upd", Data(6), 2, 3);
        s.Output(s.Node("Scatter", new[] { data, idx, upd }, "scatter", ("axis", 0L)));
        var scattered = AssertSameOutputs(s.Build(), In("x", 3, 3));
        Assert.Equal("ScatterElements", scattered.Graph.Node.Single().OpType);
    }

    [Fact]
    public void Blocking_ops_and_too_old_opsets_are_refused_with_the_op_and_node()
    {
        var b = new GraphBuilder("loop", 9);
        var x = b.Input("x", 2);
        var body = new GraphProto { Name = "body" };
        b.Output(b.Node("Loop", new[] { "", "", x }, "my_loop", ("body", (object)new AttributeProto()) is var _ ? Array.Empty<(string, object)>() : Array.Empty<(string, object)>()));
        var model = b.Build();
        model.Graph.Node[0].Attribute.Add(new AttributeProto { Name = "body", Type = AttributeProto.Types.AttributeType.Graph, G = body });
        var e = Assert.Throws<PotException>(() => ModelPreparation.Prepare(model));
        Assert.Equal("OpsetUnsupported", e.ErrorId);
        Assert.Contains("Loop", e.Message);
        Assert.Contains("my_loop", e.Message);
        Assert.Equal("my_loop", e.Target);

        var unknown = new GraphBuilder("img", 8);
        var u = unknown.Input("x", 1, 3, 2, 2);
        unknown.Output(unknown.Node("ImageScaler", new[] { u }, "scaler", ("scale", 2f)));
        var e2 = Assert.Throws<PotException>(() => ModelPreparation.Prepare(unknown.Build()));
        Assert.Equal("OpsetUnsupported", e2.ErrorId);
        Assert.Contains("ImageScaler", e2.Message);
        Assert.Contains("scaler", e2.Message);

        // Below opset 7 (the oldest ONNX Runtime implements): the first op whose meaning changed is named.
        var old = new GraphBuilder("old", 6);
        var o = old.Input("x", 2);
        var r = old.Node("Relu", new[] { o }, "r");
        old.Output(old.Node("Add", new[] { r, old.Initializer("one", new[] { 1f }, 1) }, "plus_one", ("broadcast", 1L)));
        var e3 = Assert.Throws<PotException>(() => ModelPreparation.Prepare(old.Build()));
        Assert.Equal("OpsetUnsupported", e3.ErrorId);
        Assert.Contains("opset 6", e3.Message);
        Assert.Contains("op Add (node 'plus_one')", e3.Message);
        Assert.Equal("plus_one", e3.Target);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void BatchNorm_folds_into_conv_and_conv_transpose(int group)
    {
        var b = new GraphBuilder("fold", 13);
        var x = b.Input("x", 2, 4, 6, 6);
        var w = b.Initializer("w", Data(4 * 4 / group * 9), 4, 4 / group, 3, 3);
        var conv = b.Node("Conv", new[] { x, w }, "conv", ("pads", new long[] { 1, 1, 1, 1 }), ("group", (long)group));
        string Bn(string input, string name, int c) => b.Node("BatchNormalization", new[] { input, b.Initializer(name + "_g", Data(c + 1).Take(c).ToArray(), c),
            b.Initializer(name + "_b", Data(c + 2).Take(c).ToArray(), c), b.Initializer(name + "_m", Data(c + 3).Take(c).ToArray(), c),
            b.Initializer(name + "_v", Data(c + 4).Take(c).Select(v => Math.Abs(v) + 0.1f).ToArray(), c) }, name, ("epsilon", 1e-4f));
        var bn1 = Bn(conv, "bn1", 4);
        var wt = b.Initializer("wt", Data(4 * 6 / group * 4), 4, 6 / group, 2, 2);
        var ct = b.Node("ConvTranspose", new[] { bn1, wt, b.Initializer("bt", Data(6), 6) }, "deconv", ("strides", new long[] { 2, 2 }), ("group", (long)group));
        b.Output(Bn(ct, "bn2", 6));
        var prepared = AssertSameOutputs(b.Build(), In("x", 2, 4, 6, 6), 2e-5f);
        Assert.DoesNotContain(prepared.Graph.Node, n => n.OpType == "BatchNormalization");
        Assert.Equal(new[] { "conv", "deconv" }, prepared.Graph.Node.Select(n => n.Name));
    }

    [Fact]
    public void Constant_weights_become_initializers_and_nodes_get_unique_names()
    {
        var b = new GraphBuilder("consts", 11);
        var x = b.Input("x", 1, 1, 4, 4);
        var w = b.Constant("w", Data(9), 1, 1, 3, 3);
        var c = b.Node("Conv", new[] { x, w }, "", ("pads", new long[] { 1, 1, 1, 1 }));
        var r = b.Node("Relu", new[] { c }, "dup");
        var r2 = b.Node("Relu", new[] { r }, "dup_2");
        b.Output(r2);
        var model = b.Build();
        var prepared = AssertSameOutputs(model, In("x", 1, 1, 4, 4));
        // ORT refuses duplicate names, so they are only checked on the graph.
        var duplicated = model.Clone();
        duplicated.Graph.Node[3].Name = "dup";
        Assert.Equal(new[] { "Conv_1", "dup", "dup_1" }, ModelPreparation.Prepare(duplicated).Graph.Node.Select(n => n.Name));
        Assert.DoesNotContain(prepared.Graph.Node, n => n.OpType == "Constant");
        Assert.Contains(prepared.Graph.Initializer, t => t.Name == "w");
        var names = prepared.Graph.Node.Select(n => n.Name).ToList();
        Assert.All(names, n => Assert.False(string.IsNullOrEmpty(n)));
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.Equal(new[] { "Conv_1", "dup", "dup_2" }, names);
        // Pure and deterministic: the input is untouched and a second run gives the same bytes.
        Assert.Contains(model.Graph.Node, n => n.OpType == "Constant");
        Assert.Equal(prepared, ModelPreparation.Prepare(model));
    }
}

/// <summary>Where the ResNet18 benchmark model lives when restored (NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1).</summary>
internal static class ResNet18
{
    public static string? Path
    {
        get
        {
            string packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                ?? System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            string p = System.IO.Path.Combine(packages, "microsoft.ml.dnnimagefeaturizer.resnet18", "0.23.1", "tools", "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");
            return File.Exists(p) ? p : null;
        }
    }
}
