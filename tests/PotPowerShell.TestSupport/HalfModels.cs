using Google.Protobuf;
using System.Runtime.InteropServices;
using Onnx;
using PotPowerShell.Core.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.TestSupport;

/// <summary>
/// The FP16 export of an FP32 model, as converters write one: float weights, constants and types become float16, and
/// Casts to float become Casts to float16. With <c>keepFloatInterface</c> the inputs and outputs stay float behind Casts
/// (a "keep I/O types" export). Values outside float16's range are clamped to its largest finite value; Resize's roi
/// and scales stay float.
/// </summary>
public static class HalfModels
{
    public static ModelProto ToFloat16(ModelProto model, bool keepFloatInterface = false)
    {
        var half = model.Clone();
        var graph = half.Graph;
        Convert(graph, convertInterface: !keepFloatInterface);
        if (!keepFloatInterface) return half;
        var head = new List<NodeProto>();
        var tail = new List<NodeProto>();
        foreach (var input in graph.Input.Where(i => i.Type.TensorType.ElemType == (int)DataType.Float))
        {
            string inner = input.Name + "_half";
            foreach (var node in graph.Node)
                for (int k = 0; k < node.Input.Count; k++)
                    if (node.Input[k] == input.Name) node.Input[k] = inner;
            head.Add(Cast(input.Name, inner, DataType.Float16));
        }
        foreach (var output in graph.Output.Where(o => o.Type.TensorType.ElemType == (int)DataType.Float))
        {
            string inner = output.Name + "_half";
            foreach (var node in graph.Node)
            {
                for (int k = 0; k < node.Output.Count; k++)
                    if (node.Output[k] == output.Name) node.Output[k] = inner;
                for (int k = 0; k < node.Input.Count; k++)
                    if (node.Input[k] == output.Name) node.Input[k] = inner;
            }
            tail.Add(Cast(inner, output.Name, DataType.Float));
        }
        var nodes = head.Concat(graph.Node).Concat(tail).ToList();
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        return half;
    }

    /// <summary><see cref="ToFloat16"/> of the model at <paramref name="source"/>, saved to <paramref name="path"/>.</summary>
    public static void Save(string source, string path, bool keepFloatInterface = false) =>
        OnnxModelFile.Save(ToFloat16(OnnxModelFile.Load(source), keepFloatInterface), path);

    /// <summary>
    /// The model computing its layers in float16 with its weights left float, as a mixed-precision export does: each
    /// Conv, Gemm and MatMul reads its inputs cast to float16, and its output is cast back to float.
    /// </summary>
    public static ModelProto Mixed(ModelProto model)
    {
        var mixed = model.Clone();
        var nodes = new List<NodeProto>();
        foreach (var node in mixed.Graph.Node)
        {
            if (node.OpType is not ("Conv" or "Gemm" or "MatMul"))
            {
                nodes.Add(node);
                continue;
            }
            for (int k = 0; k < node.Input.Count; k++)
            {
                if (node.Input[k].Length == 0) continue;
                nodes.Add(Cast(node.Input[k], $"{node.Name}_input{k}_half", DataType.Float16));
                node.Input[k] = $"{node.Name}_input{k}_half";
            }
            string output = node.Output[0];
            node.Output[0] = output + "_half";
            nodes.Add(node);
            nodes.Add(Cast(node.Output[0], output, DataType.Float));
        }
        mixed.Graph.Node.Clear();
        mixed.Graph.Node.AddRange(nodes);
        mixed.Graph.ValueInfo.Clear();
        return mixed;
    }

    /// <summary>A Cast node of <paramref name="input"/> to <paramref name="to"/>, named after its output.</summary>
    public static NodeProto Cast(string input, string output, DataType to)
    {
        var node = new NodeProto { OpType = "Cast", Name = output + "_cast", Input = { input }, Output = { output } };
        node.Attribute.Add(GraphBuilder.Attribute("to", (long)to));
        return node;
    }

    private static void Convert(GraphProto graph, bool convertInterface)
    {
        // Resize's roi and scales (Upsample's scales) are float in every opset: converters leave them so.
        var floatOnly = graph.Node.Where(n => n.OpType is "Resize" or "Upsample").SelectMany(n => n.Input.Skip(1)).ToHashSet(StringComparer.Ordinal);
        for (int i = 0; i < graph.Initializer.Count; i++)
            if (!floatOnly.Contains(graph.Initializer[i].Name)) graph.Initializer[i] = Half(graph.Initializer[i]);
        foreach (var node in graph.Node)
            foreach (var a in node.Attribute)
            {
                if (a.T != null && !(node.OpType == "Constant" && node.Output.Any(floatOnly.Contains))) a.T = Half(a.T);
                if (a.Name == "to" && node.OpType == "Cast" && a.I == (long)DataType.Float) a.I = (long)DataType.Float16;
                if (a.G != null) Convert(a.G, convertInterface: true);
                foreach (var g in a.Graphs) Convert(g, convertInterface: true);
            }
        var values = convertInterface ? graph.ValueInfo.Concat(graph.Input).Concat(graph.Output) : graph.ValueInfo;
        foreach (var v in values)
            if (v.Type?.TensorType is { ElemType: (int)DataType.Float } tensor) tensor.ElemType = (int)DataType.Float16;
    }

    /// <summary>A float tensor as float16 (clamped to float16's range); other tensors as they are.</summary>
    public static TensorProto Half(TensorProto t)
    {
        if (t.DataType != (int)DataType.Float) return t;
        var halves = Array.ConvertAll(TensorProtos.ToFloats(t), v => (Half)Math.Clamp(v, -65504f, 65504f));
        var half = new TensorProto { Name = t.Name, DataType = (int)DataType.Float16, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(halves.AsSpan())) };
        half.Dims.AddRange(t.Dims);
        return half;
    }
}
