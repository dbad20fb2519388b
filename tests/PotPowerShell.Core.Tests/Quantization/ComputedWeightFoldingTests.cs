using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>
/// Layers whose weights the graph computes from stored tensors (weight normalization exported without constant
/// folding) get those weights as initializers, computed by ONNX Runtime, and are quantized; the outputs are ONNX
/// Runtime's on the original model.
/// </summary>
public class ComputedWeightFoldingTests
{
    private static float[] Data(int n, int seed, float scale = 1f) => OrtTestRunner.RandomData(new Random(seed), n, scale);

    private static Dictionary<string, (float[] Data, int[] Dims)> Input(int items) =>
        new() { ["x"] = (Data(items * 3 * 64, 5, 2f), new[] { items, 3, 8, 8 }) };

    [Fact]
    public void Computed_weights_become_initializers_with_the_outputs_ONNX_Runtime_gives()
    {
        var model = ComputedWeightModels.WeightNormalized();
        var prepared = ModelPreparation.Prepare(model);
        Assert.Null(ComputedWeightFolding.Fold(prepared, "weight_norm", CancellationToken.None));

        var initializers = prepared.Graph.Initializer.Select(t => t.Name).ToHashSet();
        var conv = prepared.Graph.Node.Single(n => n.OpType == "Conv");
        Assert.Contains(conv.Input[1], initializers);
        Assert.Contains(conv.Input[2], initializers);
        Assert.Contains(prepared.Graph.Node.Single(n => n.OpType == "MatMul").Input[1], initializers);
        Assert.DoesNotContain(prepared.Graph.Node, n => n.OpType is "ReduceL2" or "Div" or "Transpose" || n.Name is "scaled" or "bias");
        // v and m were read only by the folded nodes; g's sum also shifts the Conv's output.
        Assert.DoesNotContain("v", initializers);
        Assert.DoesNotContain("m", initializers);
        Assert.Contains("g", initializers);

        var expected = OrtTestRunner.Run(model, Input(2))["head_out"];
        var actual = OrtTestRunner.Run(prepared, Input(2))["head_out"];
        Assert.True(OrtTestRunner.MaxAbsDiff(expected, actual) <= 1e-6f * expected.Max(Math.Abs), $"outputs differ by {OrtTestRunner.MaxAbsDiff(expected, actual)}");
    }

    [Fact]
    public void DefaultQuantization_quantizes_layers_whose_weights_were_computed()
    {
        using var tmp = new TempFolder();
        ComputedWeightModels.Write(tmp.File("wn.onnx"));
        Directory.CreateDirectory(tmp.File("data"));
        var x = Input(16)["x"];
        NpyWriter.Save(tmp.File("data/x.npy"), x.Data, x.Dims.Select(d => (long)d).ToArray(), "<f4");
        var result = DefaultQuantization.Run(tmp.File("wn.onnx"), tmp.File("data"), new DefaultQuantizationOptions { Threads = 1, Precision = PrecisionMode.AllInt8 },
            tmp.File("wn.int8.onnx"));
        Assert.Equal(new[] { "conv", "head" }, result.Layers.Where(l => l.Precision == "INT8").Select(l => l.Node));
        Assert.True(result.Check!.Passed);
    }

    [Fact]
    public void Weights_ONNX_Runtime_refuses_to_compute_are_left_with_a_warning()
    {
        // Where needs a boolean condition: ONNX Runtime refuses the float one.
        var b = new GraphBuilder("bad_where", 13);
        var x = b.Input("x", "batch", 3L, 8L, 8L);
        var v = b.Initializer("v", Data(4 * 3 * 9, 1), 4, 3, 3, 3);
        var w = b.Node("Where", new[] { v, v, v }, "where");
        b.Output(b.Node("Conv", new[] { x, w }, "conv", ("kernel_shape", new long[] { 3, 3 })));
        var prepared = ModelPreparation.Prepare(b.Build());
        int nodes = prepared.Graph.Node.Count;

        var warning = ComputedWeightFolding.Fold(prepared, "bad_where", CancellationToken.None);
        Assert.NotNull(warning);
        Assert.Contains("'bad_where' computes 1 layer weight(s) or bias(es) from stored tensors (first: 'conv' reads 'where_out') and ONNX Runtime could not compute them ahead: ", warning);
        Assert.EndsWith("those layers stay float. Export the model with constant folding (torch.onnx.export's do_constant_folding) to quantize them.", warning);
        Assert.Equal(nodes, prepared.Graph.Node.Count);
    }

    [Fact]
    public void A_computed_weight_that_is_also_an_output_of_the_model_stays_computed()
    {
        var b = new GraphBuilder("weight_output", 13);
        var x = b.Input("x", "batch", 3L, 8L, 8L);
        var w = b.Node("Mul", new[] { b.Initializer("v", Data(4 * 3 * 9, 1), 4, 3, 3, 3), b.Initializer("two", new[] { 2f }, 1) }, "weight");
        b.Output(b.Node("Conv", new[] { x, w }, "conv", ("kernel_shape", new long[] { 3, 3 })));
        b.Output(w);
        var model = b.Build();
        var prepared = ModelPreparation.Prepare(model);

        Assert.Contains("are outputs of the model", ComputedWeightFolding.Fold(prepared, "weight_output", CancellationToken.None));
        var expected = OrtTestRunner.Run(model, Input(2));
        var actual = OrtTestRunner.Run(prepared, Input(2));
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, values) in expected) Assert.Equal(values, actual[name]);
    }

    [Fact]
    public void A_few_hundred_bytes_that_would_compute_billions_of_values_are_not_run()
    {
        // A 40000 x 1 and a 1 x 40000 vector broadcast into 1.6 billion values (6.4 GB), reshaped into a Conv weight;
        // ConstantOfShape asks for 4 x 3 x 40000 x 40000. Neither reaches ONNX Runtime.
        var b = new GraphBuilder("bombs", 13);
        var x = b.Input("x", "batch", 3L, 8L, 8L);
        var outer = b.Node("Mul", new[] { b.Initializer("a", new float[40000], 40000, 1), b.Initializer("b", new float[40000], 1, 40000) }, "outer");
        var w1 = b.Node("Reshape", new[] { outer, b.Initializer("shape", new long[] { 40000, 40000, 1, 1 }, 4) }, "reshape");
        var c1 = b.Node("Conv", new[] { x, w1 }, "conv1", ("kernel_shape", new long[] { 1, 1 }));
        var w2 = b.Node("ConstantOfShape", new[] { b.Initializer("size", new long[] { 4, 3, 40000, 40000 }, 4) }, "fill");
        b.Output(b.Node("Conv", new[] { x, w2 }, "conv2", ("kernel_shape", new long[] { 3, 3 })));
        b.Output(c1);
        var prepared = ModelPreparation.Prepare(b.Build());
        Assert.Null(ComputedWeights.Find(prepared.Graph));

        var warning = ComputedWeightFolding.Fold(prepared, "bombs", CancellationToken.None);
        Assert.Contains("computes 2 layer weight(s) or bias(es) from stored tensors (first: 'conv1' reads 'reshape_out') and they need ops PotPowerShell does not compute ahead, more than 268435456 values for one tensor, or are outputs of the model", warning);
    }

    [Theory]
    [InlineData("Add", new long[] { 3, 1 }, new long[] { 1, 4 }, null, new long[] { 3, 4 })]
    [InlineData("ReduceL2", new long[] { 4, 3, 3, 3 }, null, new long[] { 1, 2, 3 }, new long[] { 4, 1, 1, 1 })]
    [InlineData("Transpose", new long[] { 5, 4 }, null, null, new long[] { 4, 5 })]
    [InlineData("Flatten", new long[] { 2, 3, 4 }, null, null, new long[] { 2, 12 })]
    [InlineData("Mul", new long[] { 4, 3, 3, 3 }, new long[] { 4, 1, 1, 1 }, null, new long[] { 4, 3, 3, 3 })]
    [InlineData("Unsqueeze", new long[] { 4, 3 }, null, new long[] { -1, 1 }, new long[] { 4, 1, 3, 1 })]
    [InlineData("Squeeze", new long[] { 4, 1, 3, 1 }, null, new long[] { -1 }, new long[] { 4, 1, 3 })]
    public void Shapes_of_computed_tensors_are_known_before_they_run(string op, long[] a, long[]? b, long[]? axes, long[] expected)
    {
        var initializers = new Dictionary<string, TensorProto> { ["a"] = TensorProtos.FromFloats("a", new float[a.Aggregate(1L, (p, d) => p * d)], a) };
        var node = new NodeProto { OpType = op, Name = "n" };
        node.Input.Add("a");
        if (b != null)
        {
            initializers["b"] = TensorProtos.FromFloats("b", new float[b.Aggregate(1L, (p, d) => p * d)], b);
            node.Input.Add("b");
        }
        if (axes != null) node.Attribute.Add(GraphBuilder.Attribute("axes", axes));
        node.Output.Add("y");
        var shapes = new ConstantShapes(initializers);
        Assert.True(shapes.Add(node));
        Assert.Equal(expected, shapes.Shape("y"));
    }

    [Fact]
    public void A_weight_computed_from_the_models_inputs_is_named_when_nothing_else_is_left_to_quantize()
    {
        using var tmp = new TempFolder();
        // The Conv's one filter is the first item's top-left 3 x 3 patch.
        var b = new GraphBuilder("dynamic_weight", 13);
        var x = b.Input("x", "batch", 3L, 8L, 8L);
        var patch = b.Node("Slice", new[] { x, b.Initializer("starts", new long[] { 0, 0, 0 }, 3), b.Initializer("ends", new long[] { 1, 3, 3 }, 3),
            b.Initializer("axes", new long[] { 0, 2, 3 }, 3) }, "patch");
        b.Output(b.Node("Conv", new[] { x, patch }, "conv", ("kernel_shape", new long[] { 3, 3 })), TensorProto.Types.DataType.Float, "batch", 1L, 6L, 6L);
        OnnxModelFile.Save(b.Build(), tmp.File("dyn.onnx"));
        Directory.CreateDirectory(tmp.File("data"));
        var data = Input(4)["x"];
        NpyWriter.Save(tmp.File("data/x.npy"), data.Data, data.Dims.Select(d => (long)d).ToArray(), "<f4");

        var e = Assert.Throws<PotException>(() => DefaultQuantization.Run(tmp.File("dyn.onnx"), tmp.File("data"), new DefaultQuantizationOptions { Threads = 1 }, tmp.File("dyn.int8.onnx")));
        Assert.Equal("NothingToQuantize", e.ErrorId);
        Assert.Contains("1 layer(s) (Conv, ConvTranspose, MatMul, Gemm), but none reads a stored weight and bias, so there is nothing to quantize: 'conv' reads 'patch_out', which the model computes from its inputs", e.Message);
    }
}
