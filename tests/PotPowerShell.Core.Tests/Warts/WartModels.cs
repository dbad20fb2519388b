using Onnx;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Tests.Warts;

/// <summary>
/// Small models with the warts real exported models have: old opsets with the ops whose meaning changed, weights in
/// Constant nodes, dynamic dimensions, several inputs of different types, zero and near-zero weight channels. Weights are
/// seeded random values; each model comes with matching calibration data.
/// </summary>
internal static class WartModels
{
    public static float[] Random(Random rng, int n, float scale = 0.5f) =>
        Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();

    /// <summary>
    /// An image model written in opset <paramref name="opset"/> (8 to 13) with every op whose form or meaning changed
    /// before 13: Conv -> BatchNormalization (spatial=1 at opset 8) -> Relu -> Clip(0, 6) -> Upsample x2 (Upsample-7,
    /// Upsample-9, Resize-10, Resize-11) -> Conv (stride 2) -> Split -> Add -> Slice -> ReduceMean -> Squeeze -> MatMul
    /// -> ReduceSum -> Gemm -> Unsqueeze -> Reshape -> Softmax(axis 1, which flattens to 2-D before opset 13). Input x
    /// [batch, 3, 8, 8], output 'probabilities' [batch, 2, 5]. With <paramref name="constantWeights"/> every weight and
    /// constant input is a Constant node instead of an initializer.
    /// </summary>
    public static ModelProto OldOpsetImage(long opset, bool constantWeights = false, int seed = 1)
    {
        var rng = new Random(seed);
        var g = new GraphBuilder($"opset{opset}", opset);
        string F(string name, float[] data, params long[] dims) => constantWeights ? g.Constant(name, data, dims) : g.Initializer(name, data, dims);
        string L(string name, long[] data)
        {
            if (!constantWeights) return g.Initializer(name, data, data.Length);
            var node = new NodeProto { OpType = "Constant", Name = name + "_constant" };
            node.Output.Add(name);
            node.Attribute.Add(GraphBuilder.Attribute("value", TensorProtos.FromInt64(name, data, data.Length)));
            g.Graph.Node.Add(node);
            return name;
        }

        var x = g.Input("x", "batch", 3, 8, 8);
        var c1 = g.Node("Conv", new[] { x, F("w1", Random(rng, 8 * 27), 8, 3, 3, 3), F("b1", Random(rng, 8, 0.1f), 8) }, "conv1",
            ("pads", new long[] { 1, 1, 1, 1 }));
        var bnAttributes = opset < 9 ? new (string, object)[] { ("spatial", 1L), ("epsilon", 1e-5f) } : new (string, object)[] { ("epsilon", 1e-5f) };
        var bn = g.Node("BatchNormalization", new[]
        {
            c1, F("bn_scale", Random(rng, 8, 0.5f).Select(v => v + 1f).ToArray(), 8), F("bn_bias", Random(rng, 8, 0.2f), 8),
            F("bn_mean", Random(rng, 8, 0.2f), 8), F("bn_var", Random(rng, 8, 0.3f).Select(v => v + 0.7f).ToArray(), 8),
        }, "bn1", bnAttributes);
        var relu = g.Node("Relu", new[] { bn }, "relu1");
        var clip = opset < 11
            ? g.Node("Clip", new[] { relu }, "clip1", ("min", 0f), ("max", 6f))
            : g.Node("Clip", new[] { relu, F("clip_min", new[] { 0f }), F("clip_max", new[] { 6f }) }, "clip1");
        string up = opset switch
        {
            8 => g.Node("Upsample", new[] { clip }, "up", ("mode", "nearest"), ("scales", new[] { 1f, 1f, 2f, 2f })),
            9 => g.Node("Upsample", new[] { clip, F("up_scales", new[] { 1f, 1f, 2f, 2f }, 4) }, "up", ("mode", "nearest")),
            10 => g.Node("Resize", new[] { clip, F("up_scales", new[] { 1f, 1f, 2f, 2f }, 4) }, "up", ("mode", "nearest")),
            _ => g.Node("Resize", new[] { clip, F("up_roi", Array.Empty<float>(), 0), F("up_scales", new[] { 1f, 1f, 2f, 2f }, 4) }, "up",
                ("mode", "nearest")),
        };
        var c2 = g.Node("Conv", new[] { up, F("w2", Random(rng, 8 * 8 * 9, 0.3f), 8, 8, 3, 3), F("b2", Random(rng, 8, 0.1f), 8) }, "conv2",
            ("pads", new long[] { 1, 1, 1, 1 }), ("strides", new long[] { 2, 2 }));
        var split = opset < 13
            ? g.NodeMulti("Split", new[] { c2 }, 2, "split", ("axis", 1L), ("split", new long[] { 4, 4 }))
            : g.NodeMulti("Split", new[] { c2, L("split_sizes", new long[] { 4, 4 }) }, 2, "split", ("axis", 1L));
        var add = g.Node("Add", new[] { split[0], split[1] }, "add");
        var slice = opset < 10
            ? g.Node("Slice", new[] { add }, "slice", ("starts", new long[] { 1, 1 }), ("ends", new long[] { 7, 7 }), ("axes", new long[] { 2, 3 }))
            : g.Node("Slice", new[] { add, L("slice_starts", new long[] { 1, 1 }), L("slice_ends", new long[] { 7, 7 }), L("slice_axes", new long[] { 2, 3 }) }, "slice");
        var mean = g.Node("ReduceMean", new[] { slice }, "reduce_mean", ("axes", new long[] { 3 }), ("keepdims", 1L));
        var squeeze = opset < 13
            ? g.Node("Squeeze", new[] { mean }, "squeeze", ("axes", new long[] { 3 }))
            : g.Node("Squeeze", new[] { mean, L("squeeze_axes", new long[] { 3 }) }, "squeeze");
        var mm = g.Node("MatMul", new[] { squeeze, F("w3", Random(rng, 6 * 5), 6, 5) }, "matmul");
        var sum = opset < 13
            ? g.Node("ReduceSum", new[] { mm }, "reduce_sum", ("axes", new long[] { 1 }), ("keepdims", 0L))
            : g.Node("ReduceSum", new[] { mm, L("sum_axes", new long[] { 1 }) }, "reduce_sum", ("keepdims", 0L));
        var gemm = g.Node("Gemm", new[] { sum, F("w4", Random(rng, 5 * 10), 5, 10), F("b4", Random(rng, 10, 0.1f), 10) }, "gemm");
        var unsqueeze = opset < 13
            ? g.Node("Unsqueeze", new[] { gemm }, "unsqueeze", ("axes", new long[] { 1 }))
            : g.Node("Unsqueeze", new[] { gemm, L("unsqueeze_axes", new long[] { 1 }) }, "unsqueeze");
        var grouped = g.Node("Reshape", new[] { unsqueeze, L("group_shape", new long[] { 0, 2, 5 }) }, "reshape");
        // Axis 1 of a rank-3 tensor: before opset 13 the softmax runs over the 10 values flattened from axis 1 on.
        var softmax = g.Node("Softmax", new[] { grouped }, "softmax", ("axis", 1L));
        Rename(g, softmax, "probabilities");
        g.Output("probabilities", DataType.Float, "batch", 2, 5);
        return g.Build(irVersion: opset < 9 ? 3 : 7);
    }

    /// <summary>Convnet with dynamic batch, height and width: Conv -> Relu -> Conv -> Relu -> GlobalAveragePool -> Flatten -> Gemm.</summary>
    public static ModelProto DynamicImage(object batch, object height, object width, int seed = 2)
    {
        var rng = new Random(seed);
        var g = new GraphBuilder("dynamic_hw");
        var x = g.Input("x", batch, 3, height, width);
        var c1 = g.Node("Conv", new[] { x, g.Initializer("w1", Random(rng, 8 * 27), 8, 3, 3, 3), g.Initializer("b1", Random(rng, 8, 0.1f), 8) }, "conv1",
            ("pads", new long[] { 1, 1, 1, 1 }));
        var r1 = g.Node("Relu", new[] { c1 }, "relu1");
        var c2 = g.Node("Conv", new[] { r1, g.Initializer("w2", Random(rng, 8 * 8 * 9, 0.3f), 8, 8, 3, 3), g.Initializer("b2", Random(rng, 8, 0.1f), 8) }, "conv2",
            ("pads", new long[] { 1, 1, 1, 1 }));
        var r2 = g.Node("Relu", new[] { c2 }, "relu2");
        var pool = g.Node("GlobalAveragePool", new[] { r2 }, "pool");
        var flat = g.Node("Flatten", new[] { pool }, "flatten");
        var fc = g.Node("Gemm", new[] { flat, g.Initializer("fw", Random(rng, 10 * 8), 10, 8), g.Initializer("fb", Random(rng, 10, 0.1f), 10) }, "fc",
            ("transB", 1L));
        Rename(g, fc, "logits");
        g.Output("logits", DataType.Float, batch, 10);
        return g.Build();
    }

    /// <summary>
    /// A dynamic batch axis in front of a graph that hard-codes batch 1, as some exporters write it: x [batch, 3, 8, 8]
    /// -> Conv -> Reshape to [1, -1] -> Gemm -> 'logits' [1, 5]. One item runs; several fail in the Gemm.
    /// </summary>
    public static ModelProto HardCodedBatch1(int seed = 1)
    {
        var rng = new Random(seed);
        var g = new GraphBuilder("reshape_batch_1");
        var x = g.Input("x", "batch", 3, 8, 8);
        var c = g.Node("Conv", new[] { x, g.Initializer("w", Random(rng, 4 * 27), 4, 3, 3, 3), g.Initializer("b", Random(rng, 4, 0.1f), 4) },
            "conv", ("pads", new long[] { 1, 1, 1, 1 }));
        var r = g.Node("Reshape", new[] { c, g.Initializer("shape", new long[] { 1, -1 }, 2) }, "reshape");
        var fc = g.Node("Gemm", new[] { r, g.Initializer("fw", Random(rng, 256 * 5), 256, 5), g.Initializer("fb", Random(rng, 5), 5) }, "fc");
        Rename(g, fc, "logits");
        g.Output("logits", DataType.Float, 1, 5);
        return g.Build();
    }

    /// <summary>A sequence model with dynamic batch and sequence length: MatMul -> Add (bias) -> Relu -> MatMul -> Add; x [batch, seq, 16].</summary>
    public static ModelProto Sequence(int seed = 3)
    {
        var rng = new Random(seed);
        var g = new GraphBuilder("sequence");
        var x = g.Input("x", "batch", "sequence", 16);
        var m1 = g.Node("MatMul", new[] { x, g.Initializer("w1", Random(rng, 16 * 32), 16, 32) }, "fc1");
        var a1 = g.Node("Add", new[] { m1, g.Initializer("b1", Random(rng, 32, 0.1f), 32) }, "fc1_bias");
        var r = g.Node("Relu", new[] { a1 }, "relu");
        var m2 = g.Node("MatMul", new[] { r, g.Initializer("w2", Random(rng, 32 * 8, 0.3f), 32, 8) }, "fc2");
        var a2 = g.Node("Add", new[] { m2, g.Initializer("b2", Random(rng, 8, 0.1f), 8) }, "fc2_bias");
        Rename(g, a2, "y");
        g.Output("y", DataType.Float, "batch", "sequence", 8);
        return g.Build();
    }

    /// <summary>
    /// A layer inside an If branch, as scripted exports write control flow: x [batch, 8] -> MatMul "outer" -> If (a
    /// constant true condition) whose then branch is MatMul "inner" of the outer result, and whose else branch is Relu.
    /// </summary>
    public static ModelProto LayerInIf(int seed = 6, bool outerLayer = true)
    {
        var rng = new Random(seed);
        var g = new GraphBuilder("layer_in_if");
        var x = g.Input("x", "batch", 8);
        var outerWeight = g.Initializer("w_outer", Random(rng, 64), 8, 8);
        // Without the outer layer, "outer" is a Relu and the main graph has no layer to quantize.
        var outer = outerLayer ? g.Node("MatMul", new[] { x, outerWeight }, "outer") : g.Node("Relu", new[] { x }, "outer");
        string inner = g.Initializer("w_inner", Random(rng, 64), 8, 8);
        g.Graph.Initializer.Add(new TensorProto { Name = "condition", DataType = (int)DataType.Bool, RawData = Google.Protobuf.ByteString.CopyFrom(1) });
        GraphProto Branch(string op, params string[] inputs)
        {
            var branch = new GraphProto { Name = op + "_branch" };
            var node = new NodeProto { OpType = op, Name = op == "MatMul" ? "inner" : "else_relu" };
            node.Input.AddRange(inputs);
            node.Output.Add(op + "_result");
            branch.Node.Add(node);
            branch.Output.Add(GraphBuilder.ValueInfo(op + "_result", DataType.Float, new object[] { "batch", 8 }));
            return branch;
        }
        var choice = new NodeProto { OpType = "If", Name = "choice" };
        choice.Input.Add("condition");
        choice.Output.Add("y");
        choice.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = Branch("MatMul", outer, inner) });
        choice.Attribute.Add(new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = Branch("Relu", outer) });
        g.Graph.Node.Add(choice);
        g.Output("y", DataType.Float, "batch", 8);
        return g.Build();
    }

    /// <summary>
    /// A transformer block as ONNX Runtime's transformer optimizer writes it, with com.microsoft contrib ops whose output
    /// types no ONNX rule gives: x [batch, 4, 16] -> Attention (packed QKV weights) -> MatMul "out_proj" ->
    /// SkipLayerNormalization (+ x) -> MatMul "ffn1" -> FastGelu (its bias) -> MatMul "ffn2" -> SkipLayerNormalization.
    /// </summary>
    public static ModelProto ContribTransformerBlock(int seed = 8)
    {
        var rng = new Random(seed);
        var g = new GraphBuilder("contrib_block", 17);
        var x = g.Input("x", "batch", 4, 16);
        string W(string name, params long[] dims) => g.Initializer(name, Random(rng, (int)dims.Aggregate(1L, (a, b) => a * b)), dims);
        string Ones(string name, float value) => g.Initializer(name, Enumerable.Repeat(value, 16).ToArray(), 16);
        string Contrib(string op, string name, string[] inputs, params AttributeProto[] attributes)
        {
            var node = new NodeProto { OpType = op, Name = name, Domain = "com.microsoft" };
            node.Input.AddRange(inputs);
            node.Output.Add(name + "_out");
            node.Attribute.AddRange(attributes);
            g.Graph.Node.Add(node);
            return name + "_out";
        }
        var attention = Contrib("Attention", "attention", new[] { x, W("qkv_w", 16, 48), W("qkv_b", 48) }, GraphBuilder.Attribute("num_heads", 2L));
        var outProj = g.Node("MatMul", new[] { attention, W("o_w", 16, 16) }, "out_proj");
        var ln1 = Contrib("SkipLayerNormalization", "skip_ln1", new[] { outProj, x, Ones("g1", 1f), Ones("b1", 0f) }, GraphBuilder.Attribute("epsilon", 1e-5f));
        var ffn1 = g.Node("MatMul", new[] { ln1, W("f1_w", 16, 32) }, "ffn1");
        var gelu = Contrib("FastGelu", "gelu", new[] { ffn1, W("f1_b", 32) });
        var ffn2 = g.Node("MatMul", new[] { gelu, W("f2_w", 32, 16) }, "ffn2");
        var y = Contrib("SkipLayerNormalization", "skip_ln2", new[] { ffn2, ln1, Ones("g2", 1f), Ones("b2", 0f) }, GraphBuilder.Attribute("epsilon", 1e-5f));
        g.Output(y, DataType.Float, "batch", 4, 16);
        var model = g.Build();
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        return model;
    }

    /// <summary>
    /// Three inputs of different types: 'image' float [batch, 3, 8, 8], 'index' int64 [batch] (a class embedding looked up
    /// with Gather) and 'mask' float [batch, 8]. Conv -> Relu -> GlobalAveragePool -> Flatten, + embedding, x mask -> Gemm.
    /// </summary>
    public static ModelProto MultiInput(int seed = 4)
    {
        var rng = new Random(seed);
        var g = new GraphBuilder("multi_input");
        var image = g.Input("image", "batch", 3, 8, 8);
        var index = g.Input("index", DataType.Int64, "batch");
        var mask = g.Input("mask", "batch", 8);
        var c = g.Node("Conv", new[] { image, g.Initializer("w", Random(rng, 8 * 27), 8, 3, 3, 3), g.Initializer("b", Random(rng, 8, 0.1f), 8) }, "conv",
            ("pads", new long[] { 1, 1, 1, 1 }));
        var r = g.Node("Relu", new[] { c }, "relu");
        var pool = g.Node("GlobalAveragePool", new[] { r }, "pool");
        var flat = g.Node("Flatten", new[] { pool }, "flatten");
        var embedding = g.Node("Gather", new[] { g.Initializer("embedding", Random(rng, 10 * 8), 10, 8), index }, "embed", ("axis", 0L));
        var sum = g.Node("Add", new[] { flat, embedding }, "add");
        var masked = g.Node("Mul", new[] { sum, mask }, "mask_mul");
        var fc = g.Node("Gemm", new[] { masked, g.Initializer("fw", Random(rng, 4 * 8), 4, 8), g.Initializer("fb", Random(rng, 4, 0.1f), 4) }, "fc",
            ("transB", 1L));
        Rename(g, fc, "scores");
        g.Output("scores", DataType.Float, "batch", 4);
        return g.Build();
    }

    /// <summary>
    /// Weight channels that are all zero, near zero (1e-30), subnormal (1e-41) or normal, in a Conv (with a non-zero bias on
    /// the zero channel), a Gemm (a zero output column) and a MatMul whose whole weight is zero. x [batch, 4, 6, 6].
    /// </summary>
    public static ModelProto ZeroChannels(int seed = 5)
    {
        var rng = new Random(seed);
        var g = new GraphBuilder("zero_channels");
        var x = g.Input("x", "batch", 4, 6, 6);
        var w = Random(rng, 6 * 4 * 9);
        int per = 4 * 9;
        for (int i = 0; i < per; i++)
        {
            w[0 * per + i] = 0f;
            w[1 * per + i] *= 1e-30f;
            w[2 * per + i] = (i % 2 == 0 ? 1 : -1) * 1e-41f;
            w[3 * per + i] = 0f;
        }
        var bias = Random(rng, 6, 0.2f);
        bias[0] = 0.5f; // a zero channel whose output is its bias alone
        bias[3] = 0f;
        var c = g.Node("Conv", new[] { x, g.Initializer("w", w, 6, 4, 3, 3), g.Initializer("b", bias, 6) }, "conv", ("pads", new long[] { 1, 1, 1, 1 }));
        var r = g.Node("Relu", new[] { c }, "relu");
        var pool = g.Node("GlobalAveragePool", new[] { r }, "pool");
        var flat = g.Node("Flatten", new[] { pool }, "flatten");
        var fw = Random(rng, 6 * 5);
        for (int k = 0; k < 6; k++) { fw[k * 5 + 2] = 0f; fw[k * 5 + 4] *= 1e-35f; }
        var fc = g.Node("Gemm", new[] { flat, g.Initializer("fw", fw, 6, 5), g.Initializer("fb", Random(rng, 5, 0.1f), 5) }, "fc");
        var zero = g.Node("MatMul", new[] { fc, g.Initializer("zw", new float[5 * 3], 5, 3) }, "zero_matmul");
        Rename(g, fc, "features");
        Rename(g, zero, "zeros");
        g.Output("features", DataType.Float, "batch", 5);
        g.Output("zeros", DataType.Float, "batch", 3);
        return g.Build();
    }

    /// <summary>Renames a node's output (and its consumers' inputs), e.g. to give a graph output a readable name.</summary>
    public static void Rename(GraphBuilder g, string from, string to)
    {
        foreach (var n in g.Graph.Node)
        {
            for (int i = 0; i < n.Input.Count; i++) if (n.Input[i] == from) n.Input[i] = to;
            for (int i = 0; i < n.Output.Count; i++) if (n.Output[i] == from) n.Output[i] = to;
        }
    }

    /// <summary>Seeded float data of shape [items, ...itemShape] in [-scale, scale].</summary>
    public static TensorData Floats(int seed, int items, long[] itemShape, float scale = 1f)
    {
        var rng = new Random(seed);
        var shape = new[] { (long)items }.Concat(itemShape).ToArray();
        return TensorData.FromFloats(Random(rng, (int)TensorData.ElementCount(shape), scale), shape);
    }

    public static NpyDataset Data(params (string Name, TensorData Data)[] arrays) =>
        new("memory", arrays.ToDictionary(a => a.Name, a => a.Data, StringComparer.Ordinal), null);
}
