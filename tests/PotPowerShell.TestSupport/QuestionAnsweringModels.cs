using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Data;
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

    /// <summary>
    /// A BERT encoder (opset 13 to 17, inputs input_ids, attention_mask, token_type_ids, output <paramref name="hidden"/>
    /// [batch, seq, features]) with an answering head of no training: each token's start and end logit is the largest
    /// cosine similarity of its embedding to those of the question's words (segment 0, attended, not [CLS] 101 or
    /// [SEP] 102). A context word that the question names gets the embedding most like the question's own word, so the
    /// head answers "which word of the context is the question about": a question answering model whose answers depend
    /// on the whole encoder, for the benchmarks (bench/Bench-AccuracyAware.ps1).
    /// </summary>
    public static void WriteLexicalHead(string encoderPath, string path, string hidden = "last_hidden_state")
    {
        var model = OnnxModelFile.Load(encoderPath);
        var g = model.Graph;
        var head = new HeadNodes(g, "qa_head_");
        var Node = head.Node;
        string Constant(string name, float value)
        {
            g.Initializer.Add(TensorProtos.FromFloats("qa_head_" + name, new[] { value }));
            return "qa_head_" + name;
        }
        g.Initializer.Add(TensorProtos.FromInt64("qa_head_last", new long[] { -1 }, 1));
        g.Initializer.Add(TensorProtos.FromInt64("qa_head_axis1", new long[] { 1 }, 1));
        g.Initializer.Add(TensorProtos.FromInt64("qa_head_cls", new long[] { 101 }));
        g.Initializer.Add(TensorProtos.FromInt64("qa_head_sep", new long[] { 102 }));
        var unit = head.Unit(hidden, "qa_head_last");
        var similarity = Node("MatMul", new[] { unit, Node("Transpose", new[] { unit }, ("perm", new long[] { 0, 2, 1 })) });
        var special = Node("Or", new[] { Node("Equal", new[] { "input_ids", "qa_head_cls" }), Node("Equal", new[] { "input_ids", "qa_head_sep" }) });
        var word = Node("Cast", new[] { Node("Not", new[] { special }) }, ("to", (long)DataType.Float));
        var question = Node("Mul", new[]
        {
            Node("Sub", new[] { Constant("one", 1), Node("Cast", new[] { "token_type_ids" }, ("to", (long)DataType.Float)) }),
            Node("Mul", new[] { Node("Cast", new[] { "attention_mask" }, ("to", (long)DataType.Float)), word }),
        });
        var bias = Node("Unsqueeze", new[] { Node("Mul", new[] { Node("Sub", new[] { question, Constant("one_again", 1) }), Constant("large", 1e4f) }), "qa_head_axis1" });
        var best = Node("ReduceMax", new[] { Node("Add", new[] { similarity, bias }) }, ("axes", new long[] { -1 }), ("keepdims", 0L));
        g.Output.Clear();
        foreach (var output in new[] { "start_logits", "end_logits" }) head.Output(best, output, "batch", "seq");
        OnnxModelFile.Save(model, path);
    }

    /// <summary>
    /// The benchmarks' question answering case (bench/Bench-AccuracyAware.ps1, bench/Bench-Quality.ps1) in
    /// <paramref name="folder"/>: <paramref name="encoderPath"/> with <see cref="WriteLexicalHead"/> as minilm-qa.onnx;
    /// words from <paramref name="vocabularyPath"/> (its lower-case words of four letters or more after its first 2000
    /// entries); SQuAD files squad-calibration.json and squad-validation.json (<see cref="WriteLexicalSquad"/>, seeds
    /// <paramref name="seed"/> and the next) with their windows' arrays in squad-calibration and squad-validation
    /// (<see cref="WriteWindowArrays"/>: 128 tokens every 64, lower case); and squad-engine.yml scoring SQuAD F1 on the
    /// validation file. Returns the engine's path.
    /// </summary>
    public static string WriteLexicalCase(string encoderPath, string vocabularyPath, string folder, int calibrationQuestions, int validationQuestions, int seed)
    {
        WriteLexicalHead(encoderPath, Path.Combine(folder, "minilm-qa.onnx"));
        var words = File.ReadAllLines(vocabularyPath).Skip(2000).Where(w => w.Length >= 4 && w.All(c => c is >= 'a' and <= 'z')).ToList();
        foreach (var (name, questions, partSeed) in new[] { ("calibration", calibrationQuestions, seed), ("validation", validationQuestions, seed + 1) })
        {
            string json = Path.Combine(folder, $"squad-{name}.json");
            WriteLexicalSquad(json, words, questions, partSeed);
            WriteWindowArrays(json, vocabularyPath, Path.Combine(folder, $"squad-{name}"), 128, 64, lowerCase: true);
        }
        string engine = Path.Combine(folder, "squad-engine.yml");
        static string Yaml(string path) => path.Replace('\\', '/');
        File.WriteAllText(engine, $"metrics:\n  - type: squad_f1\ndataset:\n  data_source: {Yaml(Path.Combine(folder, "squad-validation.json"))}\n  vocab_file: {Yaml(vocabularyPath)}\n" +
            "  max_seq_length: 128\n  doc_stride: 64\n  lower_case: true\n");
        return engine;
    }

    /// <summary>
    /// The windows of a SQuAD file (<see cref="SquadFile"/>, padded to <paramref name="maxSeqLength"/>) as NumPy data a
    /// BERT export reads: input_ids.npy, attention_mask.npy and token_type_ids.npy [windows, maxSeqLength] in
    /// <paramref name="folder"/> (calibration data, latency runs).
    /// </summary>
    public static void WriteWindowArrays(string squadPath, string vocabularyPath, string folder, int maxSeqLength, int docStride, bool lowerCase)
    {
        var file = SquadFile.Read(squadPath, WordPieceTokenizer.Load(vocabularyPath, lowerCase), new SquadOptions(maxSeqLength, DocStride: docStride, LowerCase: lowerCase));
        Directory.CreateDirectory(folder);
        foreach (var name in new[] { "input_ids", "attention_mask", "token_type_ids" })
        {
            var values = Enumerable.Range(0, file.Count).SelectMany(i => (long[])file.Get(i).Inputs[name].Data).ToArray();
            NpyWriter.Write(Path.Combine(folder, name + ".npy"), new TensorData(TensorElementKind.Int64, new long[] { file.Count, maxSeqLength }, values));
        }
    }

    /// <summary>
    /// A SQuAD v1.1 file of <paramref name="count"/> questions for <see cref="WriteLexicalHead"/>: each context is 20 to
    /// 150 words drawn from <paramref name="words"/> with a System.Random of <paramref name="seed"/>, and its question
    /// ("where is the WORD?") names one of them, which is its answer.
    /// </summary>
    public static void WriteLexicalSquad(string path, IReadOnlyList<string> words, int count, int seed)
    {
        var random = new Random(seed);
        using var stream = File.Create(path);
        using var writer = new System.Text.Json.Utf8JsonWriter(stream);
        writer.WriteStartObject();
        writer.WriteString("version", "1.1");
        writer.WriteStartArray("data");
        writer.WriteStartObject();
        writer.WriteString("title", "lexical");
        writer.WriteStartArray("paragraphs");
        for (int q = 0; q < count; q++)
        {
            var context = Enumerable.Range(0, random.Next(20, 151)).Select(_ => words[random.Next(words.Count)]).ToList();
            string answer = context[random.Next(context.Count)];
            writer.WriteStartObject();
            writer.WriteString("context", string.Join(" ", context) + ".");
            writer.WriteStartArray("qas");
            writer.WriteStartObject();
            writer.WriteString("id", $"q{q}");
            writer.WriteString("question", $"where is the {answer}?");
            writer.WriteStartArray("answers");
            writer.WriteStartObject();
            writer.WriteString("text", answer);
            writer.WriteNumber("answer_start", 0);
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}
