using System.Text;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;
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

    /// <summary>Entity types of <see cref="WriteConll"/>'s sentences, in CoNLL-2003's label order.</summary>
    private static readonly string[] Types = { "MISC", "PER", "ORG", "LOC" };

    /// <summary>
    /// A CoNLL-2003 file of <paramref name="count"/> sentences of 6 to 25 words (a System.Random of
    /// <paramref name="seed"/>): one word in four a one-word entity, a word of a type's own lexicon (B-), the others words
    /// of <paramref name="others"/> (O).
    /// </summary>
    public static void WriteConll(string path, IReadOnlyList<IReadOnlyList<string>> lexicons, IReadOnlyList<string> others, int count, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder("-DOCSTART- -X- -X- O\n\n");
        for (int s = 0; s < count; s++)
        {
            int words = random.Next(6, 26);
            for (int w = 0; w < words; w++)
            {
                if (random.Next(4) == 0)
                {
                    int type = random.Next(Types.Length);
                    text.Append(lexicons[type][random.Next(lexicons[type].Count)]).Append(" NNP B-NP B-").Append(Types[type]).Append('\n');
                }
                else text.Append(others[random.Next(others.Count)]).Append(" NN I-NP O\n");
            }
            text.Append('\n');
        }
        File.WriteAllText(path, text.ToString());
    }

    /// <summary>
    /// A BERT encoder (opset 13 to 17; inputs input_ids, attention_mask, token_type_ids; output <paramref name="hidden"/>
    /// [batch, seq, features]) with a named entity head of prototypes: each token's score for an entity type is the
    /// largest cosine similarity of its state to the FP32 encoder's states of that type's lexicon words, each alone
    /// ([CLS] word [SEP]); O scores a threshold, the one that labels the words of <paramref name="trainConll"/> best
    /// (entity or not); I- classes never win. Output logits [batch, seq, 9] in CoNLL-2003's label order. A tagger whose
    /// classes depend on the whole encoder (the prototypes' MatMul is a layer to quantize too), for the benchmarks.
    /// </summary>
    public static void WritePrototypeHead(string encoderPath, string vocabularyPath, IReadOnlyList<IReadOnlyList<string>> lexicons, string trainConll, string path,
        string hidden = "last_hidden_state")
    {
        var tokenizer = WordPieceTokenizer.Load(vocabularyPath, true);
        OnnxRuntimeLoader.Ensure();
        using var session = new InferenceSession(encoderPath);
        float[][] States(long[] ids)
        {
            var inputs = session.InputMetadata.Keys.Select(name => NamedOnnxValue.CreateFromTensor(name, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(
                name == "input_ids" ? ids : name == "attention_mask" ? ids.Select(_ => 1L).ToArray() : new long[ids.Length], new[] { 1, ids.Length }))).ToList();
            using var results = session.Run(inputs, new[] { hidden });
            var t = results[0].AsTensor<float>();
            return Enumerable.Range(0, ids.Length).Select(p =>
            {
                var row = Enumerable.Range(0, t.Dimensions[2]).Select(f => t[0, p, f]).ToArray();
                float norm = MathF.Sqrt(row.Sum(v => v * v));
                return row.Select(v => v / norm).ToArray();
            }).ToArray();
        }
        // The prototypes, type by type: each lexicon word's state at its first token.
        var prototypes = lexicons.SelectMany(words => words.Select(word =>
            States(new long[] { tokenizer.ClassifierId }.Concat(tokenizer.TokenizePlain(word).Select(t => (long)tokenizer.Id(t))).Append(tokenizer.SeparatorId).ToArray())[1])).ToArray();
        int features = prototypes[0].Length, perType = lexicons[0].Count;
        // The threshold: of the training words' best similarities, the cut that tells entities from O best.
        var train = ConllFile.Read(trainConll, tokenizer, new ConllOptions(64, LowerCase: true, Padding: false));
        var scored = new List<(float Best, bool Entity)>();
        for (int i = 0; i < train.Count; i++)
        {
            var item = train.Get(i);
            var labels = (TokenLabels)item.Annotation!;
            var states = States((long[])item.Inputs["input_ids"].Data);
            var gold = labels.LabelIds.Where((_, k) => labels.LabelMask[k]).ToArray();
            var positions = Enumerable.Range(0, labels.Valid.Length).Where(k => labels.Valid[k]).ToArray();
            for (int w = 0; w < Math.Min(gold.Length, positions.Length); w++)
                scored.Add((prototypes.Max(p => Dot(p, states[positions[w]])), gold[w] != 0));
        }
        var sorted = scored.OrderBy(x => x.Best).ToList();
        int right = sorted.Count(x => x.Entity), best = right;
        float threshold = sorted[0].Best - 1;
        for (int k = 0; k < sorted.Count; k++)
        {
            right += sorted[k].Entity ? -1 : 1;
            if (right > best && (k + 1 == sorted.Count || sorted[k + 1].Best > sorted[k].Best))
            {
                best = right;
                threshold = k + 1 == sorted.Count ? sorted[k].Best + 1e-3f : (sorted[k].Best + sorted[k + 1].Best) / 2;
            }
        }
        var model = OnnxModelFile.Load(encoderPath);
        var g = model.Graph;
        var weight = new float[features * prototypes.Length];
        for (int f = 0; f < features; f++)
            for (int p = 0; p < prototypes.Length; p++) weight[f * prototypes.Length + p] = prototypes[p][f];
        // Type t's score goes to B-type's column (1, 3, 5, 7); O's column is the threshold; I- columns never win.
        var placement = new float[Types.Length * 9];
        for (int t = 0; t < Types.Length; t++) placement[t * 9 + 1 + 2 * t] = 1;
        var bias = new float[9];
        bias[0] = threshold;
        for (int t = 0; t < Types.Length; t++) bias[2 + 2 * t] = -10;
        g.Initializer.Add(TensorProtos.FromFloats("ner_head_prototypes", weight, features, prototypes.Length));
        g.Initializer.Add(TensorProtos.FromFloats("ner_head_placement", placement, Types.Length, 9));
        g.Initializer.Add(TensorProtos.FromFloats("ner_head_bias", bias, 9));
        g.Initializer.Add(TensorProtos.FromInt64("ner_head_last", new long[] { -1 }, 1));
        g.Initializer.Add(TensorProtos.FromInt64("ner_head_groups", new long[] { 0, 0, Types.Length, perType }, 4));
        var head = new HeadNodes(g, "ner_head_");
        var similarity = head.Node("MatMul", new[] { head.Unit(hidden, "ner_head_last"), "ner_head_prototypes" });
        var types = head.Node("ReduceMax", new[] { head.Node("Reshape", new[] { similarity, "ner_head_groups" }) }, ("axes", new long[] { -1 }), ("keepdims", 0L));
        var scores = head.Node("Add", new[] { head.Node("MatMul", new[] { types, "ner_head_placement" }), "ner_head_bias" });
        g.Output.Clear();
        head.Output(scores, "logits", "batch", "seq", 9);
        OnnxModelFile.Save(model, path);
    }

    private static float Dot(float[] a, float[] b)
    {
        float sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary>
    /// The benchmarks' named entity case in <paramref name="folder"/>: lexicons of <paramref name="perType"/> words per entity type and the other
    /// words from <paramref name="vocabularyPath"/> (its lower-case words of four letters or more after its first 2000
    /// entries, shuffled with <paramref name="seed"/>); CoNLL files ner-train.txt (100 sentences), ner-calibration.txt
    /// and ner-validation.txt (<see cref="WriteConll"/>, seeds after <paramref name="seed"/>); minilm-ner.onnx
    /// (<see cref="WritePrototypeHead"/>, its threshold from the training file); the calibration and validation sentences'
    /// arrays in ner-calibration and ner-validation (64 tokens, padded); and ner-engine.yml scoring entity F1 on the validation file. Returns the engine's path.
    /// </summary>
    public static string WriteProbeCase(string encoderPath, string vocabularyPath, string folder, int calibrationSentences, int validationSentences, int seed, int perType = 60)
    {
        var words = File.ReadAllLines(vocabularyPath).Skip(2000).Where(w => w.Length >= 4 && w.All(c => c is >= 'a' and <= 'z')).ToList();
        var random = new Random(seed);
        words = words.OrderBy(_ => random.Next()).ToList();
        var lexicons = Enumerable.Range(0, Types.Length).Select(t => (IReadOnlyList<string>)words.Skip(perType * t).Take(perType).ToList()).ToList();
        var others = words.Skip(perType * Types.Length).ToList();
        string In(string name) => Path.Combine(folder, name);
        WriteConll(In("ner-train.txt"), lexicons, others, 100, seed + 1);
        WriteConll(In("ner-calibration.txt"), lexicons, others, calibrationSentences, seed + 2);
        WriteConll(In("ner-validation.txt"), lexicons, others, validationSentences, seed + 3);
        WritePrototypeHead(encoderPath, vocabularyPath, lexicons, In("ner-train.txt"), In("minilm-ner.onnx"));
        foreach (var part in new[] { "ner-calibration", "ner-validation" })
        {
            var sentences = ConllFile.Read(In(part + ".txt"), WordPieceTokenizer.Load(vocabularyPath, true), new ConllOptions(64, LowerCase: true));
            Directory.CreateDirectory(In(part));
            foreach (var name in new[] { "input_ids", "attention_mask", "token_type_ids" })
            {
                var values = Enumerable.Range(0, sentences.Count).SelectMany(i => (long[])sentences.Get(i).Inputs[name].Data).ToArray();
                NpyWriter.Write(Path.Combine(In(part), name + ".npy"), new TensorData(TensorElementKind.Int64, new long[] { sentences.Count, 64 }, values));
            }
        }
        static string Yaml(string path) => path.Replace('\\', '/');
        System.IO.File.WriteAllText(In("ner-engine.yml"), $"metrics:\n  - type: ner_f_score\ndataset:\n  data_source: {Yaml(In("ner-validation.txt"))}\n  format: conll\n" +
            $"  vocab_file: {Yaml(vocabularyPath)}\n  max_seq_length: 64\n  lower_case: true\n");
        return In("ner-engine.yml");
    }
}
