using Onnx;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Tests.Quantization;
using Xunit;

namespace PotPowerShell.Core.Tests.Onnx;

/// <summary>
/// ModelPreparation's rewrites of PaddlePaddle-style blocks: Mul/Add by constants folded into the Conv that reads them, and a
/// spelled-out hard-swish as x * HardSigmoid(x). Golden values come from ONNX Runtime running the original model.
/// </summary>
public class AffineFoldingTests
{
    private static float[] Data(int n, float scale = 1f) => OrtTestRunner.RandomData(new Random(n * 17 + 3), n, scale);

    private static Dictionary<string, (float[] Data, int[] Dims)> In(params int[] dims) =>
        new() { ["x"] = (Data(dims.Aggregate(1, (a, b) => a * b), 4f), dims) };

    /// <summary>Prepares the model, checks ORT gives the original's outputs, and returns the op types left in order.</summary>
    private static List<string> PrepareAndCompare(ModelProto model, Dictionary<string, (float[] Data, int[] Dims)> inputs, out ModelProto prepared)
    {
        prepared = ModelPreparation.Prepare(model);
        var before = OrtTestRunner.Run(model, inputs);
        var after = OrtTestRunner.Run(prepared, inputs);
        foreach (var (name, expected) in before)
        {
            float scale = expected.Max(Math.Abs);
            Assert.True(OrtTestRunner.MaxAbsDiff(expected, after[name]) <= 1e-5f * Math.Max(1, scale),
                $"output {name} differs by {OrtTestRunner.MaxAbsDiff(expected, after[name])}");
        }
        return prepared.Graph.Node.Select(n => n.OpType).ToList();
    }

    private static string Conv(GraphBuilder b, string x, string name, int inC, int outC, int kernel, int pad, int group = 1) =>
        b.Node("Conv", new[] { x, b.Initializer(name + "_w", Data(outC * inC / group * kernel * kernel), outC, inC / group, kernel, kernel),
            b.Initializer(name + "_b", Data(outC + 5).Take(outC).ToArray(), outC) }, name,
            ("pads", new long[] { pad, pad, pad, pad }), ("group", (long)group), ("kernel_shape", new long[] { kernel, kernel }));

    [Fact]
    public void Mul_and_Add_after_a_conv_stay_where_they_are()
    {
        // Folded, the Conv's output quantizer would quantize the shifted tensor (AffineFolding's summary says what that cost).
        var b = new GraphBuilder("after", 13);
        var x = b.Input("x", 2, 3, 6, 6);
        var conv = Conv(b, x, "conv", 3, 4, 3, 1);
        var mul = b.Node("Mul", new[] { b.Initializer("scale", new[] { -1.5f }, 1), conv }, "lab_mul");
        var add = b.Node("Add", new[] { mul, b.Initializer("shift", new[] { 0.5f }, 1) }, "lab_add");
        b.Output(b.Node("Relu", new[] { add }, "relu"));
        Assert.Equal(new[] { "Conv", "Mul", "Add", "Relu" }, PrepareAndCompare(b.Build(), In(2, 3, 6, 6), out _));
    }

    [Fact]
    public void Mul_and_Add_before_an_unpadded_conv_fold_into_it_but_not_before_a_padded_one()
    {
        var b = new GraphBuilder("before", 13);
        var x = b.Input("x", 1, 4, 5, 5);
        var act = b.Node("Sigmoid", new[] { x }, "act");
        var mul = b.Node("Mul", new[] { act, b.Initializer("s1", new[] { 3f }, 1) }, "pre_mul");
        var add = b.Node("Add", new[] { b.Initializer("t1", new[] { -1.25f }), mul }, "pre_add");
        var pointwise = Conv(b, add, "pointwise", 4, 4, 1, 0);
        var act2 = b.Node("Sigmoid", new[] { pointwise }, "act2");
        // Padded: the zeros it pads with would become the shift, so it stays as it is.
        var mul2 = b.Node("Mul", new[] { act2, b.Initializer("s2", new[] { 2f }, 1) }, "pre_mul2");
        var add2 = b.Node("Add", new[] { mul2, b.Initializer("t2", new[] { 0.75f }, 1) }, "pre_add2");
        var depthwise = Conv(b, add2, "depthwise", 4, 4, 3, 1, group: 4);
        // Per channel before a Conv: it could broadcast the input to more channels, so it stays too.
        var act3 = b.Node("Sigmoid", new[] { depthwise }, "act3");
        var mul3 = b.Node("Mul", new[] { act3, b.Initializer("s3", new[] { 1f, 2f, 3f, 4f }, 4, 1, 1) }, "pre_mul3");
        b.Output(Conv(b, mul3, "last", 4, 2, 1, 0));
        var ops = PrepareAndCompare(b.Build(), In(1, 4, 5, 5), out _);
        Assert.Equal(new[] { "Sigmoid", "Conv", "Sigmoid", "Mul", "Add", "Conv", "Sigmoid", "Mul", "Conv" }, ops);
    }

    [Fact]
    public void A_tensor_read_elsewhere_or_a_graph_output_keeps_its_chain()
    {
        var b = new GraphBuilder("kept", 13);
        var x = b.Input("x", 1, 2, 4, 4);
        var conv = Conv(b, x, "conv", 2, 2, 1, 0);
        var mul = b.Node("Mul", new[] { conv, b.Initializer("s", new[] { 2f }, 1) }, "mul");
        b.Output(b.Node("Add", new[] { mul, conv }, "residual"));
        var conv2 = Conv(b, x, "conv2", 2, 2, 1, 0);
        b.Output(conv2);
        b.Output(b.Node("Mul", new[] { conv2, b.Initializer("s2", new[] { 2f }, 1) }, "mul2"));
        Assert.Equal(new[] { "Conv", "Mul", "Add", "Conv", "Mul" }, PrepareAndCompare(b.Build(), In(1, 2, 4, 4), out _));
    }

    [Theory]
    [InlineData("div")]
    [InlineData("mul_sixth")]
    [InlineData("divide_first")]
    public void A_spelled_out_hard_swish_becomes_x_times_hard_sigmoid(string form)
    {
        var b = new GraphBuilder("hswish", 11);
        var x = b.Input("x", 2, 3, 4, 4);
        var a = b.Node("Add", new[] { x, b.Initializer("three", new[] { 3f }, 1) }, "plus3");
        var clip = b.Node("Clip", new[] { a, b.Initializer("lo", new[] { 0f }), b.Initializer("hi", new[] { 6f }) }, "relu6");
        string y = form switch
        {
            "div" => b.Node("Div", new[] { b.Node("Mul", new[] { x, clip }, "times"), b.Initializer("six", new[] { 6f }) }, "over6"),
            "mul_sixth" => b.Node("Mul", new[] { b.Node("Mul", new[] { clip, x }, "times"), b.Initializer("sixth", new[] { 1f / 6 }, 1) }, "over6"),
            _ => b.Node("Mul", new[] { x, b.Node("Div", new[] { clip, b.Initializer("six", new[] { 6f }) }, "over6") }, "times"),
        };
        b.Output(b.Node("Sigmoid", new[] { y }, "after"));
        var ops = PrepareAndCompare(b.Build(), In(2, 3, 4, 4), out var prepared);
        Assert.Equal(new[] { "HardSigmoid", "Mul", "Sigmoid" }, ops);
        Assert.Equal("relu6", prepared.Graph.Node[0].Name);
        Assert.Empty(prepared.Graph.Initializer);
    }

    [Fact]
    public void A_clip_to_other_bounds_or_a_shared_intermediate_is_no_hard_swish()
    {
        var b = new GraphBuilder("not", 11);
        var x = b.Input("x", 1, 8);
        var clip = b.Node("Clip", new[] { b.Node("Add", new[] { x, b.Initializer("three", new[] { 3f }) }, "plus3"),
            b.Initializer("lo", new[] { 0f }), b.Initializer("hi", new[] { 5f }) }, "clip5");
        b.Output(b.Node("Div", new[] { b.Node("Mul", new[] { x, clip }, "times"), b.Initializer("six", new[] { 6f }) }, "over6"));
        var clip2 = b.Node("Clip", new[] { b.Node("Add", new[] { x, b.Initializer("three2", new[] { 3f }) }, "plus3b"),
            b.Initializer("lo2", new[] { 0f }), b.Initializer("hi2", new[] { 6f }) }, "relu6");
        var times = b.Node("Mul", new[] { x, clip2 }, "times2");
        b.Output(times);
        b.Output(b.Node("Div", new[] { times, b.Initializer("six2", new[] { 6f }) }, "over6b"));
        Assert.DoesNotContain("HardSigmoid", PrepareAndCompare(b.Build(), In(1, 8), out _));
    }
}
