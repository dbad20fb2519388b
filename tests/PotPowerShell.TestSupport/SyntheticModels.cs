using Onnx;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.TestSupport;

/// <summary>
/// Models and data made in code for benchmarks and tests: a transformer-style MatMul stack and image-like or normal
/// random inputs. Weights and data come from a seeded System.Random, so the same arguments give the same bytes.
/// </summary>
public static class SyntheticModels
{
    /// <summary>
    /// A transformer encoder stack without normalization: per layer, multi-head self-attention (Q/K/V projections,
    /// Q·Kᵀ scaled, Softmax, ·V, output projection, residual Add) and a feed-forward block (MatMul, bias Add, Relu,
    /// MatMul, bias Add, residual Add). Input 'x' float[batch, seq, hidden], output 'y' of the same shape. Opset 13.
    /// </summary>
    public static ModelProto TransformerStack(int layers = 4, int hidden = 256, int heads = 4, int sequence = 64, int feedForward = 1024, int seed = 1)
    {
        if (hidden % heads != 0) throw new ArgumentException("hidden must be a multiple of heads.");
        var random = new Random(seed);
        int head = hidden / heads;
        var g = new GraphBuilder("transformer_stack");
        string x = g.Input("x", "batch", (long)sequence, (long)hidden);
        var headShape = g.Initializer("head_shape", new long[] { 0, sequence, heads, head }, 4);
        var mergedShape = g.Initializer("merged_shape", new long[] { 0, sequence, hidden }, 3);
        var scale = g.Initializer("attention_scale", new[] { 1f / MathF.Sqrt(head) });
        for (int l = 0; l < layers; l++)
        {
            string p = $"layer{l}";
            string Linear(string input, int inputs, int outputs, string name)
            {
                var w = g.Initializer($"{p}_{name}_weight", Normal(random, inputs * outputs, 1 / MathF.Sqrt(inputs)), inputs, outputs);
                var b = g.Initializer($"{p}_{name}_bias", Normal(random, outputs, 0.02f), outputs);
                var mm = g.Node("MatMul", new[] { input, w }, $"{p}/{name}/MatMul");
                return g.Node("Add", new[] { mm, b }, $"{p}/{name}/Add");
            }
            string Heads(string t, string name, long[] perm)
            {
                var r = g.Node("Reshape", new[] { t, headShape }, $"{p}/{name}/Reshape");
                return g.Node("Transpose", new[] { r }, $"{p}/{name}/Transpose", ("perm", perm));
            }
            var q = Heads(Linear(x, hidden, hidden, "query"), "query", new long[] { 0, 2, 1, 3 });
            var k = Heads(Linear(x, hidden, hidden, "key"), "key", new long[] { 0, 2, 3, 1 });
            var v = Heads(Linear(x, hidden, hidden, "value"), "value", new long[] { 0, 2, 1, 3 });
            var scores = g.Node("MatMul", new[] { q, k }, $"{p}/attention/scores");
            var scaled = g.Node("Mul", new[] { scores, scale }, $"{p}/attention/scale");
            var probabilities = g.Node("Softmax", new[] { scaled }, $"{p}/attention/Softmax", ("axis", -1L));
            var context = g.Node("MatMul", new[] { probabilities, v }, $"{p}/attention/context");
            var merged = g.Node("Reshape", new[] { g.Node("Transpose", new[] { context }, $"{p}/attention/Transpose", ("perm", new long[] { 0, 2, 1, 3 })), mergedShape }, $"{p}/attention/Reshape");
            var attention = g.Node("Add", new[] { x, Linear(merged, hidden, hidden, "output") }, $"{p}/attention/residual");
            var up = g.Node("Relu", new[] { Linear(attention, hidden, feedForward, "ffn_up") }, $"{p}/ffn/Relu");
            x = g.Node("Add", new[] { attention, Linear(up, feedForward, hidden, "ffn_down") }, $"{p}/ffn/residual");
        }
        var y = g.Node("Identity", new[] { x }, "output");
        g.Graph.Node[^1].Output[0] = "y";
        g.Output("y", TensorProto.Types.DataType.Float, "batch", (long)sequence, (long)hidden);
        return g.Build();
    }

    /// <summary>Saves <see cref="TransformerStack"/> to a file.</summary>
    public static void SaveTransformerStack(string path, int layers = 4, int hidden = 256, int heads = 4, int sequence = 64, int feedForward = 1024, int seed = 1) =>
        OnnxModelFile.Save(TransformerStack(layers, hidden, heads, sequence, feedForward, seed), path);

    /// <summary>
    /// A token-embedding classifier: 'ids' int64[batch, tokens] -> Gather(token_table [vocabulary, width]) +
    /// Gather(position_table, constant indices) -> mean over tokens -> Gemm fc1 -> Relu -> Gemm fc2 -> 'y'
    /// float[batch, classes]. At the defaults the token table is 1 MB, the size from which an AccuracyAware run shares
    /// it between candidate sessions (src/PotPowerShell.Core/Runtime/SharedInitializers.cs); the position table, whose
    /// indices are constant, and the float fc weights are never shared; their INT8 weights are once they hold 64 KB (hidden 640).
    /// </summary>
    public static ModelProto EmbeddingClassifier(int vocabulary = 2048, int width = 128, int tokens = 4, int hidden = 32, int classes = 8, int seed = 5)
    {
        var random = new Random(seed);
        var g = new GraphBuilder("embedding_classifier");
        var ids = g.Input("ids", TensorProto.Types.DataType.Int64, "batch", (long)tokens);
        var tokenVectors = g.Node("Gather", new[] { g.Initializer("token_table", Normal(random, vocabulary * width, 0.5f), vocabulary, width), ids }, "tokens", ("axis", 0L));
        var positions = g.Node("Gather", new[] { g.Initializer("position_table", Normal(random, tokens * width, 0.5f), tokens, width),
            g.Initializer("position_ids", Enumerable.Range(0, tokens).Select(i => (long)i).ToArray(), tokens) }, "positions", ("axis", 0L));
        var pooled = g.Node("ReduceMean", new[] { g.Node("Add", new[] { tokenVectors, positions }, "sum") }, "pooled", ("axes", new long[] { 1 }), ("keepdims", 0L));
        string Fc(string input, string name, int inputs, int outputs) => g.Node("Gemm", new[] { input,
            g.Initializer($"{name}_W", Normal(random, outputs * inputs, 1 / MathF.Sqrt(inputs)), outputs, inputs), g.Initializer($"{name}_B", Normal(random, outputs, 0.05f), outputs) }, name, ("transB", 1L));
        var y = Fc(g.Node("Relu", new[] { Fc(pooled, "fc1", width, hidden) }, "relu"), "fc2", hidden, classes);
        g.Output(y, TensorProto.Types.DataType.Float, "batch", (long)classes);
        return g.Build();
    }

    /// <summary>
    /// An MLP of <paramref name="layers"/> blocks Gemm (<paramref name="width"/> x <paramref name="width"/>, bias) -> Relu
    /// -> Sigmoid: 'x' float[batch, width] -> 'y'. The last block's Relu feeds a float op (the last Sigmoid has no INT8
    /// consumer), the case src/PotPowerShell.Core/Quantization/Planning/QdqTopology.cs writes as Max.
    /// </summary>
    public static ModelProto ReluSigmoidMlp(int layers = 3, int width = 1024, int seed = 1)
    {
        var random = new Random(seed);
        var g = new GraphBuilder("relu_sigmoid_mlp");
        var h = g.Input("x", "batch", (long)width);
        for (int k = 1; k <= layers; k++)
        {
            var fc = g.Node("Gemm", new[] { h, g.Initializer($"fc{k}_W", Normal(random, width * width, 1 / MathF.Sqrt(width)), width, width),
                g.Initializer($"fc{k}_B", Normal(random, width, 0.05f), width) }, $"fc{k}", ("transB", 1L));
            h = g.Node("Sigmoid", new[] { g.Node("Relu", new[] { fc }, $"relu{k}") }, $"sigmoid{k}");
        }
        g.Output(h, TensorProto.Types.DataType.Float, "batch", (long)width);
        return g.Build();
    }

    /// <summary>
    /// PaddlePaddle-style blocks (PPLCNetV3, as in PaddleOCR's recognizer): each Conv followed by Mul and Add by constants and
    /// a spelled-out hard-swish x * Clip(x + 3, 0, 6) / 6, then Mul and Add by constants again, into the next Conv (3 x 3,
    /// then 1 x 1 and so on). Input [batch, <paramref name="channels"/>, 16, 16].
    /// </summary>
    public static ModelProto AffineHardSwishConvs(int blocks = 4, int channels = 16, int seed = 3)
    {
        var random = new Random(seed);
        var g = new GraphBuilder("affine_hardswish_convs");
        var h = g.Input("x", "batch", (long)channels, 16L, 16L);
        string Scalar(string name, float value) => g.Initializer(name, new[] { value }, 1);
        for (int k = 0; k < blocks; k++)
        {
            int kernel = k % 2 == 0 ? 3 : 1;
            var conv = g.Node("Conv", new[] { h, g.Initializer($"conv{k}_W", Normal(random, channels * channels * kernel * kernel, 1 / MathF.Sqrt(channels * kernel * kernel)), channels, channels, kernel, kernel),
                g.Initializer($"conv{k}_B", Normal(random, channels, 0.1f), channels) }, $"conv{k}", ("pads", new long[] { kernel / 2, kernel / 2, kernel / 2, kernel / 2 }));
            var lab = g.Node("Add", new[] { g.Node("Mul", new[] { Scalar($"scale{k}", 1.2f + 0.1f * k), conv }, $"lab{k}_mul"), Scalar($"shift{k}", 0.1f * k) }, $"lab{k}_add");
            var clip = g.Node("Clip", new[] { g.Node("Add", new[] { lab, Scalar($"three{k}", 3f) }, $"hswish{k}_add"), g.Initializer($"zero{k}", new[] { 0f }), g.Initializer($"six{k}", new[] { 6f }) }, $"hswish{k}_clip");
            var hswish = g.Node("Div", new[] { g.Node("Mul", new[] { lab, clip }, $"hswish{k}_mul"), Scalar($"sixth{k}", 6f) }, $"hswish{k}_div");
            h = g.Node("Add", new[] { g.Node("Mul", new[] { Scalar($"scale{k}b", 0.9f), hswish }, $"lab{k}b_mul"), Scalar($"shift{k}b", -0.05f) }, $"lab{k}b_add");
        }
        g.Output(h, TensorProto.Types.DataType.Float, "batch", (long)channels, 16L, 16L);
        return g.Build();
    }

    /// <summary>Saves <see cref="EmbeddingClassifier"/> with the defaults to <paramref name="path"/>.</summary>
    public static void SaveEmbeddingClassifier(string path) => OnnxModelFile.Save(EmbeddingClassifier(), path);

    /// <summary>Random token ids for <see cref="EmbeddingClassifier"/>'s defaults: int64 [count, 4] below 2048, saved as '<paramref name="folder"/>/ids.npy'.</summary>
    public static void SaveTokenIds(string folder, int count, int seed)
    {
        var random = new Random(seed);
        Directory.CreateDirectory(folder);
        NpyWriter.Save(Path.Combine(folder, "ids.npy"), Enumerable.Range(0, count * 4).Select(_ => (long)random.Next(2048)).ToArray(), new long[] { count, 4 }, "<i8");
    }

    /// <summary>Standard normal values times <paramref name="scale"/> (Box-Muller).</summary>
    public static float[] Normal(Random random, int count, float scale = 1)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
            values[i] = scale * (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return values;
    }

    /// <summary>Normal random items of shape [count, ...itemShape].</summary>
    public static TensorData NormalData(int count, long[] itemShape, int seed) =>
        TensorData.FromFloats(Normal(new Random(seed), checked((int)(count * TensorData.ElementCount(itemShape)))), new[] { (long)count }.Concat(itemShape).ToArray());

    /// <summary>
    /// Image-like items [count, channels, height, width]: a few smooth blobs and gradients per channel, normalized per
    /// channel to ImageNet-like statistics (mean 0, about unit variance), so activations look like those of photos
    /// rather than of white noise.
    /// </summary>
    public static TensorData ImageLikeData(int count, int channels, int height, int width, int seed)
    {
        var random = new Random(seed);
        var data = new float[(long)count * channels * height * width];
        int plane = height * width;
        for (int n = 0; n < count; n++)
        {
            var blobs = Enumerable.Range(0, 6).Select(_ => (X: random.NextDouble() * width, Y: random.NextDouble() * height,
                R: (0.05 + random.NextDouble() * 0.3) * Math.Min(width, height), A: random.NextDouble() * 2 - 1)).ToArray();
            double gx = random.NextDouble() - 0.5, gy = random.NextDouble() - 0.5;
            for (int c = 0; c < channels; c++)
            {
                double tint = random.NextDouble() * 0.6 - 0.3;
                int offset = (n * channels + c) * plane;
                for (int yy = 0; yy < height; yy++)
                    for (int xx = 0; xx < width; xx++)
                    {
                        double v = tint + gx * xx / width + gy * yy / height;
                        foreach (var b in blobs)
                        {
                            double dx = xx - b.X, dy = yy - b.Y;
                            v += b.A * Math.Exp(-(dx * dx + dy * dy) / (2 * b.R * b.R));
                        }
                        data[offset + yy * width + xx] = (float)(v * 1.5 + 0.1 * (random.NextDouble() - 0.5));
                    }
            }
        }
        return TensorData.FromFloats(data, count, channels, height, width);
    }
}
