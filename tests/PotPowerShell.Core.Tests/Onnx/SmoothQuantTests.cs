using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Tests.Quantization;

namespace PotPowerShell.Core.Tests.Onnx;

/// <summary>SmoothQuant keeps the FP32 model's outputs, folds where it says it does and computes NNCF's scales.</summary>
public class SmoothQuantTests
{
    private static readonly string[] Linear = { "Q", "V", "O", "F", "N", "P", "G1", "G2" };

    /// <summary>
    /// A transformer-ish graph (opset 17), each Linear layer's input reached a different way:
    /// x [1, 6, 8] -> LayerNormalization -> Q, V (both read it: folded into the LayerNormalization);
    /// Q -> Add bias -> qb, read by O and by a residual Add (a Mul is inserted);
    /// the residual -> Mul 0.5 -> F (folded into the Mul's scalar, which becomes a vector);
    /// V -> N (folded into V's output columns) -> Add bias -> P (folded into the bias and N's columns);
    /// z [4, 8] (a graph input: a Mul) -> Gemm G1 (bias) -> Gemm G2 (transB; folded into G1's columns and bias).
    /// </summary>
    internal static ModelProto Block()
    {
        var rng = new Random(3);
        var b = new GraphBuilder("smooth", opset: 17);
        string x = b.Input("x", 1, 6, 8);
        string z = b.Input("z", 4, 8);
        string W(string name, int rows, int columns) => b.Initializer(name, OrtTestRunner.RandomData(rng, rows * columns, 0.5f), rows, columns);
        string V8(string name) => b.Initializer(name, OrtTestRunner.RandomData(rng, 8, 0.3f, 0.1f), 8);
        string a = b.Node("LayerNormalization", new[] { x, V8("gamma"), V8("beta") }, "LN", ("axis", -1L));
        string q = b.Node("MatMul", new[] { a, W("wq", 8, 8) }, "Q");
        string v = b.Node("MatMul", new[] { a, W("wv", 8, 8) }, "V");
        string qb = b.Node("Add", new[] { q, V8("bq") }, "Qbias");
        string o = b.Node("MatMul", new[] { qb, W("wo", 8, 8) }, "O");
        string r = b.Node("Add", new[] { qb, o }, "residual");
        string half = b.Node("Mul", new[] { r, b.Initializer("half", new[] { 0.5f }) }, "Half");
        string f = b.Node("MatMul", new[] { half, W("wf", 8, 4) }, "F");
        string n = b.Node("MatMul", new[] { v, W("wn", 8, 8) }, "N");
        string nb = b.Node("Add", new[] { V8("bn"), n }, "Nbias");
        string p = b.Node("MatMul", new[] { nb, W("wp", 8, 3) }, "P");
        string g1 = b.Node("Gemm", new[] { z, W("w1", 8, 8), V8("c1") }, "G1");
        string g2 = b.Node("Gemm", new[] { g1, W("w2", 5, 8) }, "G2", ("transB", 1L));
        foreach (var output in new[] { r, f, p, g2 }) b.Output(output);
        return b.Build();
    }

    /// <summary>Per-channel max |x| with outliers (channel 3 large), as calibration would give, for every Linear input.</summary>
    private static Dictionary<string, float[]> Maxima(ModelProto model)
    {
        var maxima = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var node in model.Graph.Node.Where(n => Linear.Contains(n.Name)))
            maxima[node.Input[0]] = Enumerable.Range(0, 8).Select(j => j == 3 ? 40f : 0.5f + j * 0.25f).ToArray();
        return maxima;
    }

    private static Dictionary<string, (float[] Data, int[] Dims)> Inputs() => new()
    {
        ["x"] = (OrtTestRunner.RandomData(new Random(9), 48, 3f), new[] { 1, 6, 8 }),
        ["z"] = (OrtTestRunner.RandomData(new Random(10), 32, 3f), new[] { 4, 8 }),
    };

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.95)]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void Smoothed_model_keeps_the_fp32_outputs_within_1e5_relative(double alpha)
    {
        var model = Block();
        var (smoothed, groups) = SmoothQuant.Smooth(model, Linear, Maxima(model), alpha);
        Assert.Equal(7, groups.Count);
        Assert.Contains(groups, g => g.Scales.Any(s => Math.Abs(s - 1) > 0.1)); // something really moved
        var before = OrtTestRunner.Run(model, Inputs());
        var after = OrtTestRunner.Run(smoothed, Inputs());
        foreach (var (name, values) in before)
        {
            float scale = values.Max(Math.Abs);
            float diff = OrtTestRunner.MaxAbsDiff(values, after[name]);
            Assert.True(diff <= 1e-5f * scale, $"{name} differs by {diff} on outputs up to {scale}");
        }
        // The input model is untouched.
        Assert.Equal(Block().ToByteArray(), model.ToByteArray());
    }

    [Fact]
    public void Division_is_folded_where_exact_and_a_Mul_inserted_elsewhere()
    {
        var model = Block();
        var (smoothed, groups) = SmoothQuant.Smooth(model, Linear, Maxima(model), 0.5);
        var how = groups.ToDictionary(g => string.Join("+", g.Layers), g => (g.Folded, g.Mul != null));
        Assert.Equal(("LN", false), how["Q+V"]);
        Assert.Equal((null, true), how["O"]);          // qb also feeds the residual Add
        Assert.Equal(("Half", false), how["F"]);
        Assert.Equal(("V", false), how["N"]);
        Assert.Equal(("Nbias", false), how["P"]);
        Assert.Equal((null, true), how["G1"]);         // a graph input
        Assert.Equal(("G1", false), how["G2"]);
        // The two Muls read the original tensors and feed only the smoothed layers; the residual still reads qb.
        var muls = smoothed.Graph.Node.Where(n => groups.Any(g => g.Mul == n.Name)).ToList();
        Assert.Equal(2, muls.Count);
        string qb = model.Graph.Node.Single(n => n.Name == "Qbias").Output[0];
        Assert.Equal(muls.Single(m => m.Input[0] == qb).Output[0], smoothed.Graph.Node.Single(n => n.Name == "O").Input[0]);
        Assert.Equal(qb, smoothed.Graph.Node.Single(n => n.Name == "residual").Input[0]);
        // Every Mul comes before the layers it feeds (the graph stays topologically sorted).
        var position = smoothed.Graph.Node.Select((n, i) => (n, i)).ToDictionary(p => p.n.Name, p => p.i);
        foreach (var g in groups.Where(g => g.Mul != null))
            Assert.All(g.Layers, l => Assert.True(position[g.Mul!] < position[l]));
    }

    [Fact]
    public void Scales_follow_the_formula_over_every_layer_of_a_group()
    {
        var model = Block();
        var maxima = Maxima(model);
        const double alpha = 0.7;
        var (_, groups) = SmoothQuant.Smooth(model, Linear, maxima, alpha);
        var weights = model.Graph.Initializer.ToDictionary(t => t.Name, TensorProtos.ToFloats, StringComparer.Ordinal);
        var qv = groups.Single(g => g.Layers.SequenceEqual(new[] { "Q", "V" }));
        var xMax = maxima[qv.Input];
        for (int j = 0; j < 8; j++)
        {
            // Row j of wq and wv ([8, 8], row-major): the weights that read input channel j.
            double w = Enumerable.Range(0, 8).Max(c => Math.Max(Math.Abs(weights["wq"][j * 8 + c]), Math.Abs(weights["wv"][j * 8 + c])));
            double expected = Math.Pow(xMax[j], alpha) / Math.Pow(w, 1 - alpha);
            Assert.Equal(expected, qv.Scales[j], expected * 1e-6);
        }
        // transB: input channel j of G2 is column j of w2 [5, 8].
        var g2 = groups.Single(g => g.Layers.SequenceEqual(new[] { "G2" }));
        for (int j = 0; j < 8; j++)
        {
            double w = Enumerable.Range(0, 5).Max(r => Math.Abs(weights["w2"][r * 8 + j]));
            double expected = Math.Pow(maxima[g2.Input][j], alpha) / Math.Pow(w, 1 - alpha);
            Assert.Equal(expected, g2.Scales[j], expected * 1e-6);
        }
    }

    [Fact]
    public void Scales_of_dead_channels_are_one_and_extremes_are_clamped()
    {
        var s = SmoothQuant.Scales(new[] { 0f, 1f, 1e12f, 1f }, new[] { 1f, 0f, 1e-12f, 4f }, 0.5);
        Assert.Equal(new[] { 1f, 1f, (float)SmoothQuant.MaxScale, 0.5f }, s);
    }

    [Fact]
    public void Same_inputs_give_the_same_bytes()
    {
        var model = Block();
        var first = SmoothQuant.Smooth(model, Linear, Maxima(model), 0.5).Model.ToByteArray();
        var second = SmoothQuant.Smooth(Block(), Linear, Maxima(Block()), 0.5).Model.ToByteArray();
        Assert.Equal(first, second);
    }

    [Fact]
    public void Layers_without_statistics_or_outside_the_list_are_left_alone()
    {
        var model = Block();
        var (result, groups) = SmoothQuant.Smooth(model, new[] { "Q", "V" }, new Dictionary<string, float[]>(), 0.5);
        Assert.Empty(groups);
        Assert.Same(model, result);
        var (_, only) = SmoothQuant.Smooth(model, new[] { "F" }, Maxima(model), 0.5);
        Assert.Equal("F", Assert.Single(only).Layers.Single());
        Assert.Throws<ArgumentOutOfRangeException>(() => SmoothQuant.Smooth(model, Linear, Maxima(model), 1.5));
    }
}
