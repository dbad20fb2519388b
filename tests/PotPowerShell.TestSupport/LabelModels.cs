using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.TestSupport;

/// <summary>Classifiers whose only output is each item's class, as a model that ends in ArgMax gives it (xunit and Pester).</summary>
public static class LabelModels
{
    /// <summary>
    /// A classifier of one float output named <c>logits</c> ending in ArgMax over its classes (int64 [N], output
    /// <c>label</c>), after adding <paramref name="offset"/> to each item's score of class 0 (0: the model's own classes).
    /// </summary>
    public static byte[] EndingInArgMax(string modelPath, float offset = 0)
    {
        var model = OnnxModelFile.Load(modelPath);
        var output = model.Graph.Output.Single();
        long classes = output.Type.TensorType.Shape.Dim.Last().DimValue;
        var shift = new float[classes];
        shift[0] = offset;
        model.Graph.Initializer.Add(TensorProtos.FromFloats("class0_offset", shift, classes));
        var add = new NodeProto { OpType = "Add", Name = "offset" };
        add.Input.AddRange(new[] { output.Name, "class0_offset" });
        add.Output.Add("shifted");
        var argmax = new NodeProto { OpType = "ArgMax", Name = "argmax" };
        argmax.Input.Add("shifted");
        argmax.Output.Add("label");
        argmax.Attribute.Add(GraphBuilder.Attribute("axis", 1L));
        argmax.Attribute.Add(GraphBuilder.Attribute("keepdims", 0L));
        model.Graph.Node.Add(add);
        model.Graph.Node.Add(argmax);
        model.Graph.Output.Clear();
        model.Graph.Output.Add(GraphBuilder.ValueInfo("label", DataType.Int64, new object[] { "batch" }));
        return model.ToByteArray();
    }

    /// <summary>Writes <see cref="EndingInArgMax"/> of <paramref name="modelPath"/> to <paramref name="path"/>.</summary>
    public static void Write(string modelPath, string path, float offset = 0) => File.WriteAllBytes(path, EndingInArgMax(modelPath, offset));
}
