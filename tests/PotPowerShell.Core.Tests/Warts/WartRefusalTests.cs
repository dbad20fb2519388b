using PotPowerShell.Core.Tests.Quantization;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Warts;

/// <summary>
/// Warts that cannot be quantized are refused before anything is written, with an error id and a message that names the
/// input, node or op concerned; warts that only look broken (a batch axis a Reshape hard-codes, weights computed from
/// constants, opset 7) are handled.
/// </summary>
public class WartRefusalTests
{
    // Stems quantized too, so that every weighted layer of these image models is checked as an INT8 kernel.
    private static readonly DefaultQuantizationOptions Options = new() { Measurement = TestMeasurement.Int8Faster, Threads = 1, StatBatchSize = 8 };

    private static PotException Refused(ModelProto model, IDataset data)
    {
        using var tmp = new TempFolder();
        OnnxModelFile.Save(model, tmp.File("m.onnx"));
        var e = Assert.Throws<PotException>(() => DefaultQuantization.Run(tmp.File("m.onnx"), data, Options, tmp.File("q.onnx")));
        Assert.False(File.Exists(tmp.File("q.onnx")));
        return e;
    }

    private static IDataset Images(long channels = 3, long height = 8, long width = 8) =>
        WartModels.Data(("x", WartModels.Floats(1, 16, new[] { channels, height, width })));

    [Fact]
    public void A_fixed_batch_above_1_is_refused_with_the_input_and_the_fix()
    {
        var e = Refused(WartModels.DynamicImage(4, 8, 8), Images());
        Assert.Equal("CalibrationInputShape", e.ErrorId);
        Assert.Equal("x", e.Target);
        Assert.Contains("Model input 'x'", e.Message);
        Assert.Contains("declared [4,3,8,8]", e.Message);
        Assert.Contains("shape [1,3,8,8]", e.Message);
        Assert.Contains("fixed batch of 4", e.Message);
    }

    [Fact]
    public void Data_of_another_shape_or_rank_is_refused_with_the_dimension()
    {
        var channels = Refused(WartModels.DynamicImage("batch", "height", "width"), Images(channels: 4));
        Assert.Equal("CalibrationInputShape", channels.ErrorId);
        Assert.Contains("declared [batch,3,height,width]", channels.Message);
        Assert.Contains("dimension 1 is fixed at 3 but the data has 4", channels.Message);

        var rank = Refused(WartModels.DynamicImage("batch", 8, 8), WartModels.Data(("x", WartModels.Floats(1, 16, new long[] { 3, 64 }))));
        Assert.Equal("CalibrationInputShape", rank.ErrorId);
        Assert.Contains("4 dimensions are needed, not 3", rank.Message);
    }

    [Fact]
    public void Float_data_for_an_int64_input_is_refused_with_the_input()
    {
        var data = WartModels.Data(("image", WartModels.Floats(1, 16, new long[] { 3, 8, 8 })), ("index", WartModels.Floats(2, 16, Array.Empty<long>())),
            ("mask", WartModels.Floats(3, 16, new long[] { 8 })));
        var e = Refused(WartModels.MultiInput(), data);
        Assert.Equal("DataInputType", e.ErrorId);
        Assert.Contains("'index'", e.Message);
        Assert.Contains("Int64", e.Message);
    }

    [Fact]
    public void An_op_onnx_runtime_does_not_know_is_refused_naming_the_node()
    {
        var g = new GraphBuilder("unknown");
        var x = g.Input("x", "batch", 3, 8, 8);
        var c = g.Node("Conv", new[] { x, g.Initializer("w", WartModels.Random(new Random(1), 4 * 27), 4, 3, 3, 3) }, "conv");
        g.Output(g.Node("FancyActivation", new[] { c }, "my_fancy_node"));
        var e = Refused(g.Build(), Images());
        Assert.Equal("ModelNotLoadable", e.ErrorId);
        Assert.Contains("my_fancy_node", e.Message);
        Assert.Contains("FancyActivation", e.Message);

        // The same op in an opset-11 model stops the upgrade first, with the node named by us.
        var old = new GraphBuilder("unknown11", 11);
        var y = old.Input("x", "batch", 3, 8, 8);
        old.Output(old.Node("FancyActivation", new[] { y }, "my_fancy_node"));
        var e11 = Refused(old.Build(), Images());
        Assert.Equal("OpsetUnsupported", e11.ErrorId);
        Assert.Equal("my_fancy_node", e11.Target);
        Assert.Contains("op FancyActivation (node 'my_fancy_node')", e11.Message);
    }

    [Fact]
    public void A_type_error_in_the_model_is_refused_naming_the_node()
    {
        var g = new GraphBuilder("type_error");
        var x = g.Input("x", "batch", 16);
        g.Output(g.Node("MatMul", new[] { x, g.Initializer("w", new long[16 * 4], 16, 4) }, "bad_matmul"));
        var e = Refused(g.Build(), WartModels.Data(("x", WartModels.Floats(1, 4, new long[] { 16 }))));
        Assert.Equal("ModelNotLoadable", e.ErrorId);
        Assert.Contains("bad_matmul", e.Message);
    }

    private static ModelProto ConvAddRelu(long opset)
    {
        var rng = new Random(3);
        var g = new GraphBuilder("old", opset);
        var x = g.Input("x", "batch", 3, 8, 8);
        var c = g.Node("Conv", new[] { x, g.Initializer("w", WartModels.Random(rng, 4 * 27), 4, 3, 3, 3) }, "conv", ("pads", new long[] { 1, 1, 1, 1 }));
        var a = opset < 7
            ? g.Node("Add", new[] { c, g.Initializer("b", WartModels.Random(rng, 4), 4) }, "bias_add", ("broadcast", 1L), ("axis", 1L))
            : g.Node("Add", new[] { c, g.Initializer("b", WartModels.Random(rng, 4), 4, 1, 1) }, "bias_add");
        g.Output(g.Node("Relu", new[] { a }, "relu"));
        return g.Build(irVersion: 3);
    }

    [Fact]
    public void Opsets_below_7_are_refused_naming_the_op_that_changed_meaning()
    {
        var e = Refused(ConvAddRelu(6), Images());
        Assert.Equal("OpsetUnsupported", e.ErrorId);
        Assert.Equal("bias_add", e.Target);
        Assert.Contains("opset 6", e.Message);
        Assert.Contains("op Add (node 'bias_add')", e.Message);
        Assert.Contains("broadcast", e.Message);
    }

    [Fact]
    public void Opset_7_is_upgraded_checked_with_onnx_runtime_and_quantized()
    {
        using var tmp = new TempFolder();
        OnnxModelFile.Save(ConvAddRelu(7), tmp.File("m.onnx"));
        var result = DefaultQuantization.Run(tmp.File("m.onnx"), Images(), Options, tmp.File("q.onnx"));
        Assert.Equal(7, result.SourceOpset);
        Assert.Equal(13, result.Opset);
        Assert.Equal(1, result.FusedLayerCount);
    }

    [Fact]
    public void A_batch_axis_that_a_reshape_hard_codes_falls_back_to_one_item_per_run()
    {
        var rng = new Random(1);
        var g = new GraphBuilder("reshape_batch_1");
        var x = g.Input("x", "batch", 3, 8, 8);
        var c = g.Node("Conv", new[] { x, g.Initializer("w", WartModels.Random(rng, 4 * 27), 4, 3, 3, 3), g.Initializer("b", WartModels.Random(rng, 4, 0.1f), 4) },
            "conv", ("pads", new long[] { 1, 1, 1, 1 }));
        var r = g.Node("Reshape", new[] { c, g.Initializer("shape", new long[] { 1, -1 }, 2) }, "reshape");
        g.Output(g.Node("Gemm", new[] { r, g.Initializer("fw", WartModels.Random(rng, 256 * 5), 256, 5), g.Initializer("fb", WartModels.Random(rng, 5), 5) }, "fc"));
        foreach (bool fast in new[] { true, false })
        {
            using var tmp = new TempFolder();
            OnnxModelFile.Save(g.Build(), tmp.File("m.onnx"));
            var result = DefaultQuantization.Run(tmp.File("m.onnx"), Images(), Options with { UseFastBiasCorrection = fast }, tmp.File("q.onnx"));
            Assert.Equal(1, result.StatBatchSize);
            Assert.Equal(16, result.StatSubsetSize);
            Assert.Equal(2, result.FusedLayerCount);
        }
    }

    [Fact]
    public void A_conv_weight_stored_channels_last_behind_a_transpose_is_folded_exactly()
    {
        // As TensorFlow converters write it: the kernel as [kh, kw, c_in, c_out] and a Transpose to [c_out, c_in, kh, kw].
        var rng = new Random(9);
        var g = new GraphBuilder("tf_style", 12);
        var x = g.Input("x", "batch", 3, 8, 8);
        var kernel = g.Node("Transpose", new[] { g.Constant("kernel", WartModels.Random(rng, 3 * 3 * 3 * 4), 3, 3, 3, 4) }, "kernel_to_oihw",
            ("perm", new long[] { 3, 2, 0, 1 }));
        g.Output(g.Node("Conv", new[] { x, kernel, g.Constant("bias", WartModels.Random(rng, 4, 0.1f), 4) }, "conv", ("pads", new long[] { 1, 1, 1, 1 })));
        using var tmp = new TempFolder();
        OnnxModelFile.Save(g.Build(), tmp.File("m.onnx"));
        var prepared = ModelPreparation.Prepare(OnnxModelFile.Load(tmp.File("m.onnx")));
        Assert.Equal(new[] { "Conv" }, prepared.Graph.Node.Select(n => n.OpType));
        OnnxModelFile.Save(prepared, tmp.File("prepared.onnx"));
        var input = new Dictionary<string, TensorData> { ["x"] = WartModels.Floats(4, 2, new long[] { 3, 8, 8 }) };
        Assert.Equal(WartRunner.Run(tmp.File("m.onnx"), input)["conv_out"], WartRunner.Run(tmp.File("prepared.onnx"), input)["conv_out"]);

        var data = WartModels.Data(("x", WartModels.Floats(5, 16, new long[] { 3, 8, 8 })));
        var result = DefaultQuantization.Run(tmp.File("m.onnx"), data, Options, tmp.File("q.onnx"));
        Assert.Equal(4, result.Layers.Single().WeightScaleCount);
        Assert.Equal(1, result.FusedLayerCount);
    }

    [Fact]
    public void Weights_computed_from_constants_by_data_movement_are_folded_and_quantized_per_channel()
    {
        var rng = new Random(3);
        var g = new GraphBuilder("computed", 11);
        var x = g.Input("x", "batch", 16);
        var transposed = g.Node("Transpose", new[] { g.Constant("w", WartModels.Random(rng, 8 * 16), 8, 16) }, "w_t", ("perm", new long[] { 1, 0 }));
        var m = g.Node("MatMul", new[] { x, transposed }, "mm");
        var reshaped = g.Node("Reshape", new[] { g.Constant("w2", WartModels.Random(rng, 8 * 4), 32), g.Initializer("w2_shape", new long[] { 8, 4 }, 2) }, "w2_reshape");
        var m2 = g.Node("MatMul", new[] { m, reshaped }, "mm2");
        var half = new TensorProto { Name = "w3", DataType = (int)TensorProto.Types.DataType.Float16 };
        half.Dims.AddRange(new long[] { 4, 3 });
        half.RawData = Google.Protobuf.ByteString.CopyFrom(WartModels.Random(rng, 12).SelectMany(v => BitConverter.GetBytes((Half)v)).ToArray());
        var cast = g.Node("Cast", new[] { g.Initializer(half) }, "w3_cast", ("to", 1L));
        g.Output(g.Node("MatMul", new[] { m2, cast }, "mm3"));
        using var tmp = new TempFolder();
        OnnxModelFile.Save(g.Build(), tmp.File("m.onnx"));
        var data = WartModels.Data(("x", WartModels.Floats(1, 16, new long[] { 16 })));
        var result = DefaultQuantization.Run(tmp.File("m.onnx"), data, Options, tmp.File("q.onnx"));
        Assert.Equal(new[] { 8, 4, 3 }, result.Layers.Select(l => l.WeightScaleCount));
        Assert.Equal(3, result.FusedLayerCount);
        // The folded model computes what the original does (folding is exact).
        var prepared = ModelPreparation.Prepare(OnnxModelFile.Load(tmp.File("m.onnx")));
        Assert.DoesNotContain(prepared.Graph.Node, n => n.OpType is "Transpose" or "Reshape" or "Cast" or "Constant");
        OnnxModelFile.Save(prepared, tmp.File("prepared.onnx"));
        var input = new Dictionary<string, TensorData> { ["x"] = data.Get(3).Inputs["x"] };
        Assert.Equal(WartRunner.Run(tmp.File("m.onnx"), input)["mm3_out"], WartRunner.Run(tmp.File("prepared.onnx"), input)["mm3_out"]);
    }
}
