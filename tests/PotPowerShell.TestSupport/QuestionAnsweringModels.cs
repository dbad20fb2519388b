using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.TestSupport;

/// <summary>
/// Extractive question answering models whose logits are known (xunit and Pester): inputs input_ids, attention_mask and
/// token_type_ids [batch, seq] (int64, as BERT exports name them), outputs start_logits and end_logits [batch, seq]. Each
/// token's start logit is <c>start[id]</c> and its end logit <c>end[id]</c>: an embedding table gives each token the
/// row (start, end, 1, -1), and one MatMul (a layer to quantize) keeps the first two columns.
/// </summary>
public static class QuestionAnsweringModels
{
    public static ModelProto Build(float[] start, float[] end)
    {
        int vocab = start.Length;
        var g = new GraphBuilder("qa");
        var ids = g.Input("input_ids", DataType.Int64, "batch", "seq");
        g.Input("attention_mask", DataType.Int64, "batch", "seq");
        g.Input("token_type_ids", DataType.Int64, "batch", "seq");
        var table = new float[vocab * 4];
        for (int v = 0; v < vocab; v++)
        {
            table[v * 4] = start[v];
            table[v * 4 + 1] = end[v];
            table[v * 4 + 2] = 1;
            table[v * 4 + 3] = -1;
        }
        var rows = g.Node("Gather", new[] { g.Initializer("embeddings", table, vocab, 4), ids }, "embed");
        var logits = g.Node("MatMul", new[] { rows, g.Initializer("head", new float[] { 1, 0, 0, 1, 0, 0, 0, 0 }, 4, 2) }, "head");
        var halves = g.NodeMulti("Split", new[] { logits }, 2, "split", ("axis", -1L));
        var axes = g.Initializer("last_axis", new long[] { -1 }, 1);
        g.Node("Squeeze", new[] { halves[0], axes }, "start");
        g.Node("Squeeze", new[] { halves[1], axes }, "end");
        var model = g.Build();
        // The outputs under the names BERT exports give them.
        model.Graph.Node.Single(n => n.Name == "start").Output[0] = "start_logits";
        model.Graph.Node.Single(n => n.Name == "end").Output[0] = "end_logits";
        model.Graph.Output.Add(GraphBuilder.ValueInfo("start_logits", DataType.Float, new object[] { "batch", "seq" }));
        model.Graph.Output.Add(GraphBuilder.ValueInfo("end_logits", DataType.Float, new object[] { "batch", "seq" }));
        return model;
    }

    /// <summary>Writes <see cref="Build"/> to <paramref name="path"/>.</summary>
    public static void Write(string path, float[] start, float[] end) => File.WriteAllBytes(path, Build(start, end).ToByteArray());
}
