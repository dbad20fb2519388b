using Onnx;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>Float models built in code for the emitter tests, with seeded random weights.</summary>
internal static class QdqTestModels
{
    public static float[] Weights(Random rng, int count, float scale) =>
        Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();

    private static string Conv(GraphBuilder b, Random rng, string x, string name, int cin, int cout, int k, bool relu, bool bias = true)
    {
        var w = b.Initializer(name + "_W", Weights(rng, cout * cin * k * k, MathF.Sqrt(2f / (cin * k * k))), cout, cin, k, k);
        var inputs = bias ? new[] { x, w, b.Initializer(name + "_B", Weights(rng, cout, 0.1f), cout) } : new[] { x, w };
        long p = k / 2;
        var y = b.Node("Conv", inputs, name, ("pads", new[] { p, p, p, p }));
        return relu ? b.Node("Relu", new[] { y }, name + "_relu") : y;
    }

    /// <summary>Conv+Relu stem, MaxPool, a residual block (Add), two 1x1 branches joined by Concat, GAP, Flatten, Gemm.</summary>
    public static ModelProto ConvNet(int seed = 1)
    {
        var rng = new Random(seed);
        var b = new GraphBuilder("convnet");
        var x = b.Input("x", "N", 3, 16, 16);
        var stem = Conv(b, rng, x, "stem", 3, 8, 3, relu: true);
        var pool = b.Node("MaxPool", new[] { stem }, "pool", ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }));
        var c1 = Conv(b, rng, pool, "block_conv1", 8, 8, 3, relu: true);
        var c2 = Conv(b, rng, c1, "block_conv2", 8, 8, 3, relu: false);
        var add = b.Node("Add", new[] { c2, pool }, "block_add");
        var act = b.Node("Relu", new[] { add }, "block_relu");
        var a = Conv(b, rng, act, "branch_a", 8, 4, 1, relu: true);
        var c = Conv(b, rng, act, "branch_b", 8, 4, 1, relu: true);
        var cat = b.Node("Concat", new[] { a, c }, "concat", ("axis", 1L));
        var gap = b.Node("GlobalAveragePool", new[] { cat }, "gap");
        var flat = b.Node("Flatten", new[] { gap }, "flatten", ("axis", 1L));
        var fcW = b.Initializer("fc_W", Weights(rng, 10 * 8, 0.5f), 10, 8);
        var fcB = b.Initializer("fc_B", Weights(rng, 10, 0.1f), 10);
        var y = b.Node("Gemm", new[] { flat, fcW, fcB }, "fc", ("transB", 1L));
        b.Output(y);
        return b.Build();
    }

    /// <summary>One attention block: Q/K/V projections (MatMul + bias Add), Reshape/Transpose to heads, scores
    /// (activation x activation MatMul), scale (Mul), Softmax, context MatMul, merge heads, output projection, residual Add.</summary>
    public static ModelProto Attention(int seed = 2, int batch = 2, int seq = 8, int dim = 16, int heads = 2)
    {
        var rng = new Random(seed);
        int hd = dim / heads;
        var b = new GraphBuilder("attention");
        var x = b.Input("x", batch, seq, dim);
        var headShape = b.Initializer("head_shape", new long[] { batch, seq, heads, hd }, 4);
        var mergeShape = b.Initializer("merge_shape", new long[] { batch, seq, dim }, 3);
        string Project(string input, string name)
        {
            var w = b.Initializer(name + "_W", Weights(rng, dim * dim, 1f / MathF.Sqrt(dim)), dim, dim);
            var bias = b.Initializer(name + "_bias", Weights(rng, dim, 0.1f), dim);
            var mm = b.Node("MatMul", new[] { input, w }, name);
            return b.Node("Add", new[] { mm, bias }, name + "_add");
        }
        string Heads(string t, string name, long[] perm) =>
            b.Node("Transpose", new[] { b.Node("Reshape", new[] { t, headShape }, name + "_reshape") }, name + "_transpose", ("perm", perm));
        var q = Heads(Project(x, "q_proj"), "q", new long[] { 0, 2, 1, 3 });
        var k = Heads(Project(x, "k_proj"), "k", new long[] { 0, 2, 3, 1 });
        var v = Heads(Project(x, "v_proj"), "v", new long[] { 0, 2, 1, 3 });
        var scores = b.Node("MatMul", new[] { q, k }, "scores");
        var scaled = b.Node("Mul", new[] { scores, b.Initializer("inv_sqrt_d", new[] { 1f / MathF.Sqrt(hd) }) }, "scale");
        var probs = b.Node("Softmax", new[] { scaled }, "softmax", ("axis", -1L));
        var context = b.Node("MatMul", new[] { probs, v }, "context");
        var merged = b.Node("Reshape", new[] { b.Node("Transpose", new[] { context }, "merge_transpose", ("perm", new long[] { 0, 2, 1, 3 })), mergeShape }, "merge_reshape");
        var o = Project(merged, "o_proj");
        var y = b.Node("Add", new[] { o, x }, "residual");
        b.Output(y);
        return b.Build();
    }

    /// <summary>Conv+Relu, a stride-2 ConvTranspose (grouped when <paramref name="group"/> &gt; 1) + Relu, and a Conv head.</summary>
    public static ModelProto ConvTransposeNet(int seed = 3, int group = 1)
    {
        var rng = new Random(seed);
        var b = new GraphBuilder("deconv");
        var x = b.Input("x", "N", 2, 8, 8);
        var c = Conv(b, rng, x, "enc", 2, 8, 3, relu: true);
        int cout = 8;
        var w = b.Initializer("up_W", Weights(rng, 8 * (cout / group) * 2 * 2, 0.5f), 8, cout / group, 2, 2);
        var bias = b.Initializer("up_B", Weights(rng, cout, 0.1f), cout);
        var up = b.Node("ConvTranspose", new[] { c, w, bias }, "up", ("strides", new long[] { 2, 2 }), ("group", (long)group));
        var r = b.Node("Relu", new[] { up }, "up_relu");
        var y = Conv(b, rng, r, "head", 8, 3, 3, relu: false);
        b.Output(y);
        return b.Build();
    }

    /// <summary>AveragePool, LeakyRelu, Resize, Concat (skip connection) and Sigmoid between Convs: the other QLinear kernels.</summary>
    public static ModelProto PoolingNet(int seed = 4)
    {
        var rng = new Random(seed);
        var b = new GraphBuilder("pooling");
        var x = b.Input("x", "N", 3, 16, 16);
        var c1 = Conv(b, rng, x, "c1", 3, 8, 3, relu: true);
        var pool = b.Node("AveragePool", new[] { c1 }, "avgpool", ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }));
        var c2 = Conv(b, rng, pool, "c2", 8, 8, 3, relu: false);
        var leaky = b.Node("LeakyRelu", new[] { c2 }, "leaky", ("alpha", 0.1f));
        var up = b.Node("Resize", new[] { leaky, "", b.Initializer("scales", new[] { 1f, 1f, 2f, 2f }, 4) }, "upsample", ("mode", "nearest"));
        var cat = b.Node("Concat", new[] { up, c1 }, "skip", ("axis", 1L));
        var c3 = Conv(b, rng, cat, "c3", 16, 4, 3, relu: false);
        var gate = b.Node("Sigmoid", new[] { c3 }, "gate");
        var y = Conv(b, rng, gate, "head", 4, 2, 1, relu: false);
        b.Output(y);
        return b.Build();
    }
}
