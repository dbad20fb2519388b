using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.TestSupport;

/// <summary>
/// Token classification models whose scores are known (xunit and Pester): inputs input_ids, attention_mask and
/// token_type_ids [batch, seq] (int64, as BERT exports name them), output logits [batch, seq, classes]. Each token's
/// scores are <c>scores[id]</c>: an embedding table gives each token its row, and one MatMul with the identity (a layer
/// to quantize) passes it on.
/// </summary>
public static class TokenClassificationModels
{
    public static ModelProto Build(float[][] scores)
    {
        int vocab = scores.Length, classes = scores[0].Length;
        var g = new GraphBuilder("ner");
        var ids = g.Input("input_ids", DataType.Int64, "batch", "seq");
        g.Input("attention_mask", DataType.Int64, "batch", "seq");
        g.Input("token_type_ids", DataType.Int64, "batch", "seq");
        var rows = g.Node("Gather", new[] { g.Initializer("embeddings", scores.SelectMany(r => r).ToArray(), vocab, classes), ids }, "embed");
        var identity = new float[classes * classes];
        for (int c = 0; c < classes; c++) identity[c * classes + c] = 1;
        g.Node("MatMul", new[] { rows, g.Initializer("head", identity, classes, classes) }, "head");
        var model = g.Build();
        model.Graph.Node.Single(n => n.Name == "head").Output[0] = "logits";
        model.Graph.Output.Add(GraphBuilder.ValueInfo("logits", DataType.Float, new object[] { "batch", "seq", classes }));
        return model;
    }

    /// <summary>
    /// <see cref="Build"/> where token id <c>v</c> scores 1 for class <c>classOf[v]</c> and 0 for the others
    /// (<paramref name="classes"/> classes).
    /// </summary>
    public static byte[] OneHot(int[] classOf, int classes) =>
        Build(classOf.Select(c => Enumerable.Range(0, classes).Select(k => k == c ? 1f : 0f).ToArray()).ToArray()).ToByteArray();
}
