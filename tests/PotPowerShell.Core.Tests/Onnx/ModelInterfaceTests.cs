using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Tests.Onnx;

/// <summary>A model file's data inputs read without its tensors are those of the whole model read.</summary>
public class ModelInterfaceTests
{
    /// <summary>Two data inputs, a weight also listed as a graph input (as IR version 3 required), a bias that is not.</summary>
    private static ModelProto TwoInputs()
    {
        var model = OnnxModelFileTests.TinyConv();
        var g = model.Graph;
        var weight = g.Initializer[0];
        g.Input.Add(new ValueInfoProto { Name = weight.Name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = weight.DataType } } });
        g.Input.Add(new ValueInfoProto { Name = "mask", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Int64 } } });
        g.Initializer.Add(TensorProtos.FromFloats("bias", new float[] { 1, 2 }, 2));
        return model;
    }

    [Fact]
    public void The_data_inputs_are_the_whole_models_in_order_with_their_types()
    {
        using var tmp = new TempFolder();
        var model = TwoInputs();
        string path = tmp.File("m.onnx");
        File.WriteAllBytes(path, model.ToByteArray());

        var expected = ModelInspector.DataInputs(OnnxModelFile.Load(path).Graph);
        var read = ModelInterface.DataInputs(path);
        Assert.NotNull(read);
        Assert.Equal(expected.Select(i => i.ToByteString()), read!.Select(i => i.ToByteString()));
        Assert.Equal(2, read.Count);
        Assert.DoesNotContain(read, i => i.Name == model.Graph.Initializer[0].Name);
    }

    [Fact]
    public void A_model_with_external_data_needs_no_data_file_and_an_unreadable_file_gives_null()
    {
        using var tmp = new TempFolder();
        var model = TwoInputs();
        var weight = model.Graph.Initializer[0];
        weight.RawData = ByteString.Empty;
        weight.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "missing.bin" });
        weight.DataLocation = TensorProto.Types.DataLocation.External;
        string path = tmp.File("external.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        Assert.Equal(2, ModelInterface.DataInputs(path)!.Count);

        var bytes = TwoInputs().ToByteArray();
        File.WriteAllBytes(tmp.File("cut.onnx"), bytes[..(bytes.Length / 2)]);
        Assert.Null(ModelInterface.DataInputs(tmp.File("cut.onnx")));
        File.WriteAllText(tmp.File("text.onnx"), "<?xml version=\"1.0\"?><net name=\"openvino\"/>");
        Assert.Null(ModelInterface.DataInputs(tmp.File("text.onnx")));
        Assert.Null(ModelInterface.DataInputs(tmp.File("absent.onnx")));
    }
}
