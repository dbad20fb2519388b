using Onnx;
using PotPowerShell.Core.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.TestSupport;

/// <summary>
/// Nodes appended to a loaded encoder's graph for the benchmarks' heads (QuestionAnsweringModels,
/// TokenClassificationModels): each named with the head's prefix and numbered, its output named after its number.
/// </summary>
internal sealed class HeadNodes(GraphProto graph, string prefix)
{
    private int _counter;

    public string Node(string op, string[] inputs, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = $"{prefix}{op.ToLowerInvariant()}_{_counter}" };
        node.Input.AddRange(inputs);
        node.Output.Add($"{prefix}{_counter++}");
        foreach (var (name, value) in attributes) node.Attribute.Add(GraphBuilder.Attribute(name, value));
        graph.Node.Add(node);
        return node.Output[0];
    }

    /// <summary>Each row of <paramref name="x"/> divided by its length over the last axis (<paramref name="lastAxis"/>, an initializer [-1]).</summary>
    public string Unit(string x, string lastAxis) =>
        Node("Div", new[] { x, Node("Sqrt", new[] { Node("ReduceSum", new[] { Node("Mul", new[] { x, x }), lastAxis }, ("keepdims", 1L)) }) });

    /// <summary><paramref name="tensor"/> as the graph output <paramref name="name"/> of <paramref name="dims"/> (through an Identity).</summary>
    public void Output(string tensor, string name, params object[] dims)
    {
        var identity = new NodeProto { OpType = "Identity", Name = prefix + name };
        identity.Input.Add(tensor);
        identity.Output.Add(name);
        graph.Node.Add(identity);
        graph.Output.Add(GraphBuilder.ValueInfo(name, DataType.Float, dims));
    }
}
