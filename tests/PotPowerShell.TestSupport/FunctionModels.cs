using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.TestSupport;

/// <summary>Models whose layers sit in model-local functions, as exporters write a module once and call it per block (xunit and Pester).</summary>
public static class FunctionModels
{
    public const string Domain = "blocks";

    /// <summary>
    /// x [batch, 3, 8, 8] -> "block1" and "block2", calls of the local function ConvAct(x, w, b) = LeakyRelu(Conv(x, w, b),
    /// alpha), alpha an attribute of the function (0.01 unless the call gives it; block1 gives 0.2); then "head", a call
    /// of Head(x, w) = MatMul(Flatten(ConvAct(x, w2, b2)), w), a function that calls ConvAct itself. Output y [batch, 10].
    /// </summary>
    public static ModelProto Blocks()
    {
        var random = new Random(21);
        float[] Weights(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var g = new GraphBuilder("blocks", opset: 17);
        var x = g.Input("x", "batch", 3L, 8L, 8L);
        g.Initializer("w1", Weights(4 * 3 * 9), 4, 3, 3, 3);
        g.Initializer("b1", Weights(4), 4);
        g.Initializer("w2", Weights(4 * 4 * 9), 4, 4, 3, 3);
        g.Initializer("b2", Weights(4), 4);
        g.Initializer("w3", Weights(4 * 4 * 9), 4, 4, 3, 3);
        g.Initializer("b3", Weights(4), 4);
        g.Initializer("wh", Weights(256 * 10), 256, 10);
        var model = g.Build(irVersion: 9);
        model.Graph.Node.Add(Call("ConvAct", "block1", new[] { x, "w1", "b1" }, "h1", ("alpha", 0.2f)));
        model.Graph.Node.Add(Call("ConvAct", "block2", new[] { "h1", "w2", "b2" }, "h2"));
        model.Graph.Node.Add(Call("Head", "head", new[] { "h2", "w3", "b3", "wh" }, "y"));
        model.Graph.Output.Add(GraphBuilder.ValueInfo("y", TensorProto.Types.DataType.Float, new object[] { "batch", 10L }));
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = Domain, Version = 1 });

        var convAct = Function("ConvAct", new[] { "x", "w", "b" }, "y",
            Body("Conv", new[] { "x", "w", "b" }, "c", GraphBuilder.Attribute("pads", new[] { 1L, 1L, 1L, 1L })),
            Body("LeakyRelu", new[] { "c" }, "y", new AttributeProto { Name = "alpha", RefAttrName = "alpha", Type = AttributeProto.Types.AttributeType.Float }));
        convAct.AttributeProto.Add(GraphBuilder.Attribute("alpha", 0.01f));
        var head = Function("Head", new[] { "x", "w", "b", "wh" }, "y",
            Call("ConvAct", "", new[] { "x", "w", "b" }, "a"),
            Body("Flatten", new[] { "a" }, "f"),
            Body("MatMul", new[] { "f", "wh" }, "y"));
        head.OpsetImport.Add(new OperatorSetIdProto { Domain = Domain, Version = 1 });
        model.Functions.Add(convAct);
        model.Functions.Add(head);
        return model;
    }

    /// <summary>Writes <see cref="Blocks"/> to <paramref name="path"/>.</summary>
    public static void Write(string path) => File.WriteAllBytes(path, Blocks().ToByteArray());

    private static NodeProto Call(string function, string name, string[] inputs, string output, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = function, Domain = Domain, Name = name };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        foreach (var (n, v) in attributes) node.Attribute.Add(GraphBuilder.Attribute(n, v));
        return node;
    }

    private static NodeProto Body(string op, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        return node;
    }

    private static FunctionProto Function(string name, string[] inputs, string output, params NodeProto[] body)
    {
        var f = new FunctionProto { Name = name, Domain = Domain };
        f.Input.AddRange(inputs);
        f.Output.Add(output);
        f.Node.AddRange(body);
        f.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return f;
    }
}
