using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Tests.Quantization;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Onnx;

/// <summary>
/// Layers in model-local functions are layers of the model: preparation inlines the calls as ONNX Runtime does, with
/// the same outputs, and DefaultQuantization quantizes them (it found none: "nothing to quantize").
/// </summary>
public class FunctionInliningTests
{
    private static Dictionary<string, (float[] Data, int[] Dims)> Input(int items) =>
        new() { ["x"] = (OrtTestRunner.RandomData(new Random(3), items * 3 * 64, 2f), new[] { items, 3, 8, 8 }) };

    [Fact]
    public void Calls_become_the_functions_bodies_with_their_attributes_and_the_outputs_ONNX_Runtime_gives()
    {
        var model = FunctionModels.Blocks();
        var prepared = ModelPreparation.Prepare(model);

        Assert.Empty(prepared.Functions);
        Assert.DoesNotContain(prepared.OpsetImport, o => o.Domain == FunctionModels.Domain);
        Assert.Equal(new[] { "block1/Conv", "block1/LeakyRelu", "block2/Conv", "block2/LeakyRelu", "head/ConvAct/Conv", "head/ConvAct/LeakyRelu", "head/Flatten", "head/MatMul" },
            prepared.Graph.Node.Select(n => n.Name));
        // The call's alpha, else the function's default.
        Assert.Equal(new[] { 0.2f, 0.01f, 0.01f }, prepared.Graph.Node.Where(n => n.OpType == "LeakyRelu").Select(n => n.Attribute.Single(a => a.Name == "alpha").F));
        Assert.Equal("y", prepared.Graph.Node.Last().Output.Single());
        Assert.Equal("h1", prepared.Graph.Node[1].Output.Single());

        // ONNX Runtime inlines the original itself: both give the same outputs.
        var expected = OrtTestRunner.Run(model, Input(2))["y"];
        Assert.Equal(expected, OrtTestRunner.Run(prepared, Input(2))["y"]);
        Assert.Contains(expected, v => v < 0);
    }

    [Fact]
    public void DefaultQuantization_quantizes_the_layers_inside_functions()
    {
        using var tmp = new TempFolder();
        FunctionModels.Write(tmp.File("blocks.onnx"));
        Directory.CreateDirectory(tmp.File("data"));
        var x = Input(16)["x"];
        NpyWriter.Save(tmp.File("data/x.npy"), x.Data, x.Dims.Select(d => (long)d).ToArray(), "<f4");
        var options = new DefaultQuantizationOptions { Threads = 1, Precision = PrecisionMode.AllInt8 };
        var result = DefaultQuantization.Run(tmp.File("blocks.onnx"), tmp.File("data"), options, tmp.File("blocks.int8.onnx"));
        Assert.Equal(new[] { "block1/Conv", "block2/Conv", "head/ConvAct/Conv", "head/MatMul" }, result.Layers.Where(l => l.Precision == "INT8").Select(l => l.Node));
        Assert.True(result.Check!.Passed);
        var quantized = OnnxModelFile.Load(tmp.File("blocks.int8.onnx"));
        Assert.Empty(quantized.Functions);
        Assert.Equal(4, quantized.Graph.Node.Count(n => n.OpType is "Conv" or "MatMul" && n.Input.All(i => quantized.Graph.Node.Any(d => d.OpType == "DequantizeLinear" && d.Output[0] == i))));
    }

    [Fact]
    public void An_output_the_call_leaves_out_is_still_computed_for_the_body_that_reads_it()
    {
        // Pair(x) -> (y, half): half = x * 0.5, y = half + half. The call leaves half out ("").
        var g = new GraphBuilder("pair", opset: 17);
        var x = g.Input("x", "batch", 4L);
        var model = g.Build(irVersion: 9);
        var call = new NodeProto { OpType = "Pair", Domain = FunctionModels.Domain, Name = "pair" };
        call.Input.Add(x);
        call.Output.AddRange(new[] { "y", "" });
        model.Graph.Node.Add(call);
        model.Graph.Output.Add(GraphBuilder.ValueInfo("y", TensorProto.Types.DataType.Float, new object[] { "batch", 4L }));
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = FunctionModels.Domain, Version = 1 });
        var pair = new FunctionProto { Name = "Pair", Domain = FunctionModels.Domain };
        pair.Input.Add("x");
        pair.Output.AddRange(new[] { "y", "half" });
        pair.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        var constant = new NodeProto { OpType = "Constant" };
        constant.Output.Add("c");
        constant.Attribute.Add(GraphBuilder.Attribute("value_float", 0.5f));
        var mul = new NodeProto { OpType = "Mul" };
        mul.Input.AddRange(new[] { "x", "c" });
        mul.Output.Add("half");
        var add = new NodeProto { OpType = "Add" };
        add.Input.AddRange(new[] { "half", "half" });
        add.Output.Add("y");
        pair.Node.AddRange(new[] { constant, mul, add });
        model.Functions.Add(pair);

        var prepared = ModelPreparation.Prepare(model);
        Assert.Empty(prepared.Functions);
        var input = new Dictionary<string, (float[] Data, int[] Dims)> { ["x"] = (new float[] { 1, -2, 3, 8 }, new[] { 1, 4 }) };
        Assert.Equal(new float[] { 1, -2, 3, 8 }, OrtTestRunner.Run(model, input)["y"]);
        Assert.Equal(new float[] { 1, -2, 3, 8 }, OrtTestRunner.Run(prepared, input)["y"]);
    }

    [Fact]
    public void A_function_that_calls_itself_is_refused_with_the_node_that_calls_it()
    {
        var model = FunctionModels.Blocks();
        var convAct = model.Functions.Single(f => f.Name == "ConvAct");
        var leaky = convAct.Node.Last();
        leaky.OpType = "ConvAct";
        leaky.Domain = FunctionModels.Domain;
        leaky.Input.Add("w");
        leaky.Input.Add("b");
        convAct.OpsetImport.Add(new OperatorSetIdProto { Domain = FunctionModels.Domain, Version = 1 });
        var e = Assert.Throws<PotException>(() => ModelPreparation.Prepare(model));
        Assert.Equal("GraphInvalid", e.ErrorId);
        Assert.Contains($"more than {FunctionInlining.MaxDepth} nested function calls", e.Message);
        Assert.Contains("'block1/ConvAct/ConvAct", e.Message);
    }

    [Fact]
    public void A_function_whose_opset_differs_from_the_model_s_is_left_to_ONNX_Runtime()
    {
        var model = FunctionModels.Blocks();
        foreach (var f in model.Functions) f.OpsetImport.Single(o => o.Domain == "").Version = 13;
        var prepared = ModelPreparation.Prepare(model);
        Assert.Equal(2, prepared.Functions.Count);
        Assert.Equal(new[] { "ConvAct", "ConvAct", "Head" }, prepared.Graph.Node.Select(n => n.OpType));
    }
}
