using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>Transformer graphs are recognised without model_type; model_type decides when it is given.</summary>
public class TransformerDetectionTests
{
    /// <summary>
    /// x [8, 16] -> LayerNorm (the op, the decomposed pattern, or none) -> q, k = x·Wq, x·Wk -> q·kᵀ -> Softmax
    /// (or Sigmoid) -> ·v -> y.
    /// </summary>
    private static ModelProto Attention(string norm, string normalizer = "Softmax", bool product = true)
    {
        var b = new GraphBuilder("attention", opset: 17);
        string x = b.Input("x", 8, 16);
        var rng = new Random(3);
        float[] W() => Enumerable.Range(0, 256).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        string h = norm switch
        {
            "op" => b.Node("LayerNormalization", new[] { x, b.Initializer("gamma", Enumerable.Repeat(1f, 16).ToArray(), 16), b.Initializer("beta", new float[16], 16) }, "ln", ("axis", -1L)),
            "decomposed" => Decomposed(b, x),
            _ => x,
        };
        string q = b.Node("MatMul", new[] { h, b.Initializer("wq", W(), 16, 16) }, "q");
        string k = b.Node("MatMul", new[] { h, b.Initializer("wk", W(), 16, 16) }, "k");
        string v = b.Node("MatMul", new[] { h, b.Initializer("wv", W(), 16, 16) }, "v");
        string kt = b.Node("Transpose", new[] { k }, "kt", ("perm", new long[] { 1, 0 }));
        string scores = product ? b.Node("MatMul", new[] { q, kt }, "scores") : b.Node("Add", new[] { q, kt }, "scores");
        string p = b.Node(normalizer, new[] { scores }, "p");
        b.Output(b.Node("MatMul", new[] { p, v }, "context"));
        return b.Build();
    }

    /// <summary>(x - mean) / sqrt(mean((x - mean)²) + eps), as exporters write LayerNorm before opset 17.</summary>
    private static string Decomposed(GraphBuilder b, string x)
    {
        string mean = b.Node("ReduceMean", new[] { x }, "ln/mean", ("axes", new long[] { -1 }));
        string centered = b.Node("Sub", new[] { x, mean }, "ln/sub");
        string squared = b.Node("Pow", new[] { centered, b.Initializer("two", new[] { 2f }) }, "ln/pow");
        string variance = b.Node("ReduceMean", new[] { squared }, "ln/var", ("axes", new long[] { -1 }));
        string std = b.Node("Sqrt", new[] { b.Node("Add", new[] { variance, b.Initializer("eps", new[] { 1e-5f }) }, "ln/add") }, "ln/sqrt");
        return b.Node("Div", new[] { centered, std }, "ln/div");
    }

    [Theory]
    [InlineData("op")]
    [InlineData("decomposed")]
    public void A_graph_with_attention_softmax_and_layer_norm_is_a_transformer(string norm)
    {
        var choice = TransformerModelType.Resolve(new DefaultQuantizationOptions(), Attention(norm));
        Assert.True(choice.Transformer);
        Assert.Equal("transformer", choice.Name);
        Assert.StartsWith("detected: 2 MatMul(s) of two activations, 1 Softmax, 1 layer normalization", choice.Reason);
    }

    [Theory]
    [InlineData("none", "Softmax", true)]        // no layer normalization
    [InlineData("op", "Sigmoid", true)]          // no Softmax
    [InlineData("op", "Softmax", false)]         // scores are not a product of two activations (context still is)
    public void A_graph_missing_a_mark_is_not(string norm, string normalizer, bool product)
    {
        var graph = Attention(norm, normalizer, product);
        if (!product)
        {
            // Without the scores product the context MatMul is the only one: drop it too, so no activation product is left.
            var context = graph.Graph.Node.Single(n => n.Name == "context");
            context.OpType = "Add";
        }
        Assert.Null(TransformerModelType.Detect(graph.Graph));
        Assert.False(TransformerModelType.Resolve(new DefaultQuantizationOptions(), graph).Transformer);
    }

    [Fact]
    public void Model_type_given_in_the_options_wins_over_detection()
    {
        var transformer = Attention("op");
        Assert.Equal(new ModelTypeChoice(false, "model_type none"), TransformerModelType.Resolve(new DefaultQuantizationOptions { ModelType = "none" }, transformer));
        Assert.Equal(new ModelTypeChoice(true, "model_type transformer"), TransformerModelType.Resolve(new DefaultQuantizationOptions { ModelType = "transformer" }, Attention("none")));
    }

    [Fact]
    public void The_cmdlets_model_type_words_map_to_detection_opt_out_and_the_rule()
    {
        var transformer = Attention("op");
        Assert.True(TransformerModelType.Resolve(new DefaultQuantizationOptions { ModelType = TransformerModelType.FromParameter("Auto") }, transformer).Transformer);
        Assert.False(TransformerModelType.Resolve(new DefaultQuantizationOptions { ModelType = TransformerModelType.FromParameter("none") }, transformer).Transformer);
        Assert.True(TransformerModelType.Resolve(new DefaultQuantizationOptions { ModelType = TransformerModelType.FromParameter("Transformer") }, Attention("none")).Transformer);
        Assert.Throws<ArgumentException>(() => TransformerModelType.FromParameter("Bert"));
    }

    [Fact]
    public void A_convnet_is_not_a_transformer() =>
        Assert.Null(TransformerModelType.Detect(ModelPreparation.Prepare(OnnxModelFile.Load(DigitsSampleTests.Sample("digits.onnx"))).Graph));
}
