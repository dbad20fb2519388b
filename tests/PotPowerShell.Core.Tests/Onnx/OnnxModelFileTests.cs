using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Tests.Onnx;

public class OnnxModelFileTests
{
    internal static ModelProto TinyConv(bool constantWeights = false)
    {
        var b = new GraphBuilder("tiny");
        var x = b.Input("x", "batch", 1, 4, 4);
        var w = constantWeights ? b.Constant("w", Enumerable.Repeat(0.5f, 9).ToArray(), 1, 1, 3, 3)
                                : b.Initializer("w", Enumerable.Repeat(0.5f, 9).ToArray(), 1, 1, 3, 3);
        var y = b.Node("Conv", new[] { x, w }, "conv", ("pads", new long[] { 1, 1, 1, 1 }));
        var z = b.Node("Relu", new[] { y }, "relu");
        b.Output(z);
        return b.Build();
    }

    [Fact]
    public void Save_then_load_round_trips_and_leaves_no_temporary_file()
    {
        using var tmp = new TempFolder();
        var model = TinyConv();
        OnnxModelFile.Save(model, tmp.File("m.onnx"));
        Assert.Equal(new[] { "m.onnx" }, Directory.GetFiles(tmp.Path).Select(Path.GetFileName));
        Assert.Equal(model, OnnxModelFile.Load(tmp.File("m.onnx")));
    }

    [Fact]
    public void External_data_is_read_into_memory()
    {
        using var tmp = new TempFolder();
        var model = TinyConv();
        var w = model.Graph.Initializer[0];
        File.WriteAllBytes(tmp.File("m.onnx.data"), new byte[16].Concat(w.RawData.ToByteArray()).ToArray());
        var external = model.Clone();
        var t = external.Graph.Initializer[0];
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "m.onnx.data" });
        t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "16" });
        t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = w.RawData.Length.ToString() });
        t.DataLocation = TensorProto.Types.DataLocation.External;
        t.RawData = Google.Protobuf.ByteString.Empty;
        File.WriteAllBytes(tmp.File("m.onnx"), external.ToByteArray());

        var loaded = OnnxModelFile.Load(tmp.File("m.onnx"));
        Assert.Equal(TensorProtos.ToFloats(w), TensorProtos.ToFloats(loaded.Graph.Initializer[0]));
    }

    [Fact]
    public void Missing_external_data_names_the_file()
    {
        using var tmp = new TempFolder();
        var model = TinyConv();
        var t = model.Graph.Initializer[0];
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "gone.bin" });
        t.DataLocation = TensorProto.Types.DataLocation.External;
        File.WriteAllBytes(tmp.File("m.onnx"), model.ToByteArray());
        var e = Assert.Throws<PotException>(() => OnnxModelFile.Load(tmp.File("m.onnx")));
        Assert.Equal("ExternalDataNotFound", e.ErrorId);
        Assert.Contains("gone.bin", e.Message);
    }

    [Fact]
    public void Corrupt_and_missing_files_get_their_own_error_ids()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("bad.onnx"), "this is not protobuf");
        Assert.Equal("ModelCorrupt", Assert.Throws<PotException>(() => OnnxModelFile.Load(tmp.File("bad.onnx"))).ErrorId);
        Assert.Equal("ModelNotFound", Assert.Throws<PotException>(() => OnnxModelFile.Load(tmp.File("none.onnx"))).ErrorId);
    }

    [Fact]
    public void Inspector_reports_constant_weights_and_symbolic_dims()
    {
        using var tmp = new TempFolder();
        OnnxModelFile.Save(TinyConv(constantWeights: true), tmp.File("c.onnx"));
        var info = PotModelInspector.Inspect(tmp.File("c.onnx"));
        Assert.Equal(13, info.Opset);
        Assert.Equal(WeightStorage.ConstantNodes, info.WeightStorage);
        Assert.Equal(1, info.QuantizableLayerCount);
        Assert.Equal(new[] { "batch", "1", "4", "4" }, info.Inputs[0].Shape);
        Assert.Equal("float", info.Inputs[0].ElementType);
        Assert.Contains(new OpTypeCount("Conv", 1), info.OpTypes);
    }

    [Fact]
    public void Inspector_calls_a_dynamically_quantized_model_quantized()
    {
        // As onnxruntime's quantize_dynamic writes a MatMul: DynamicQuantizeLinear of the input, MatMulInteger with the
        // uint8 weight, the int32 product scaled back to float. It was reported as not quantized, though
        // DefaultQuantization refuses it as quantized (ModelAlreadyQuantized).
        var b = new GraphBuilder("dynamic");
        var x = b.Input("x", "batch", 4);
        var q = b.NodeMulti("DynamicQuantizeLinear", new[] { x }, 3, "quantize_x");
        var w = b.Initializer(new TensorProto { Name = "w_q", DataType = (int)DataType.Uint8, Dims = { 4, 2 }, RawData = ByteString.CopyFrom(1, 2, 3, 4, 5, 6, 7, 8) });
        var product = b.Node("MatMulInteger", new[] { q[0], w, q[2] }, "matmul");
        var scaled = b.Node("Mul", new[] { b.Node("Cast", new[] { product }, "cast", ("to", (long)DataType.Float)), q[1] }, "scale");
        b.Output(scaled, DataType.Float, "batch", 2);
        using var tmp = new TempFolder();
        OnnxModelFile.Save(b.Build(), tmp.File("dynamic.onnx"));
        OnnxModelFile.Save(TinyConv(), tmp.File("float.onnx"));
        Assert.True(PotModelInspector.Inspect(tmp.File("dynamic.onnx")).IsQuantized);
        Assert.False(PotModelInspector.Inspect(tmp.File("float.onnx")).IsQuantized);
    }
}
