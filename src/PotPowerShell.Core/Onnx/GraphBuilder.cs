using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// A small builder for ONNX graphs in code: test models, synthetic benchmark models and graph rewrites.
/// Dimensions are given as long (fixed) or string (symbolic).
/// </summary>
public sealed class GraphBuilder
{
    private readonly GraphProto _graph;
    private readonly long _opset;
    private int _counter;

    public GraphBuilder(string name = "graph", long opset = 13)
    {
        _graph = new GraphProto { Name = name };
        _opset = opset;
    }

    public GraphProto Graph => _graph;

    public string Input(string name, DataType type, params object[] dims)
    {
        _graph.Input.Add(ValueInfo(name, type, dims));
        return name;
    }

    public string Input(string name, params object[] dims) => Input(name, DataType.Float, dims);

    public void Output(string name, DataType type = DataType.Float, params object[] dims) =>
        _graph.Output.Add(dims.Length == 0 ? ValueInfo(name, type, null) : ValueInfo(name, type, dims));

    public string Initializer(TensorProto tensor)
    {
        _graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    public string Initializer(string name, float[] data, params long[] dims) => Initializer(TensorProtos.FromFloats(name, data, dims));

    public string Initializer(string name, long[] data, params long[] dims) => Initializer(TensorProtos.FromInt64(name, data, dims));

    /// <summary>A weight held in a Constant node instead of an initializer, as some converters write them.</summary>
    public string Constant(string name, float[] data, params long[] dims)
    {
        var node = new NodeProto { OpType = "Constant", Name = name + "_constant" };
        node.Output.Add(name);
        node.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = TensorProtos.FromFloats(name, data, dims) });
        _graph.Node.Add(node);
        return name;
    }

    /// <summary>Adds a node with one output named after the node and returns that output name.</summary>
    public string Node(string opType, string[] inputs, string? name = null, params (string Name, object Value)[] attributes) =>
        NodeMulti(opType, inputs, 1, name, attributes)[0];

    public string[] NodeMulti(string opType, string[] inputs, int outputs, string? name = null, params (string Name, object Value)[] attributes)
    {
        name ??= $"{opType.ToLowerInvariant()}_{_counter++}";
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        var outs = Enumerable.Range(0, outputs).Select(i => outputs == 1 ? name + "_out" : $"{name}_out{i}").ToArray();
        node.Output.AddRange(outs);
        foreach (var (attrName, value) in attributes) node.Attribute.Add(Attribute(attrName, value));
        _graph.Node.Add(node);
        return outs;
    }

    public ModelProto Build(long irVersion = 8, string producer = "PotPowerShell.GraphBuilder")
    {
        var model = new ModelProto { IrVersion = irVersion, ProducerName = producer, Graph = _graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = _opset });
        return model;
    }

    public static AttributeProto Attribute(string name, object value)
    {
        var a = new AttributeProto { Name = name };
        switch (value)
        {
            case int i: a.Type = AttributeProto.Types.AttributeType.Int; a.I = i; break;
            case long l: a.Type = AttributeProto.Types.AttributeType.Int; a.I = l; break;
            case float f: a.Type = AttributeProto.Types.AttributeType.Float; a.F = f; break;
            case string s: a.Type = AttributeProto.Types.AttributeType.String; a.S = Google.Protobuf.ByteString.CopyFromUtf8(s); break;
            case int[] ints: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(ints.Select(x => (long)x)); break;
            case long[] longs: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(longs); break;
            case float[] floats: a.Type = AttributeProto.Types.AttributeType.Floats; a.Floats.AddRange(floats); break;
            case TensorProto t: a.Type = AttributeProto.Types.AttributeType.Tensor; a.T = t; break;
            case GraphProto g: a.Type = AttributeProto.Types.AttributeType.Graph; a.G = g; break;
            default: throw new ArgumentException($"Attribute '{name}' has an unsupported value type {value.GetType().Name}.");
        }
        return a;
    }

    public static ValueInfoProto ValueInfo(string name, DataType type, object[]? dims)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)type };
        if (dims != null)
        {
            tensor.Shape = new TensorShapeProto();
            foreach (var d in dims)
                tensor.Shape.Dim.Add(d is string s
                    ? new TensorShapeProto.Types.Dimension { DimParam = s }
                    : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d) });
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }
}
