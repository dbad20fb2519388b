using PotPowerShell.Core.Data;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// token_classification (Accuracy Checker's bert_ner): each item's output [tokens, classes] read as every token's class,
/// the first of its highest scores.
/// </summary>
internal sealed class TokenClassificationAdapter(AdapterDefinition d) : Adapter(d)
{
    public override object? Predict(BatchOutputs outputs, int row)
    {
        outputs.RequireBatchFirst(OutputIndex, "the token_classification adapter");
        var shape = outputs.RowShape(OutputIndex);
        if (shape.Length < 3)
            throw new PotException("EngineOutputShape", PotErrorCategory.InvalidData,
                $"{Definition.KeyPath}: the token_classification adapter reads '{OutputName}' as each item's class scores per token [batch, tokens, classes], but it has the shape [{string.Join(",", outputs.Shapes[OutputIndex])}]. Name the output of the token scores (output: <name>).", Definition.KeyPath);
        return ArgMax(outputs.Row(OutputIndex, row), (int)shape[^1]);
    }

    /// <summary>Each token's class: the first of its highest scores (NaN ranks highest, as NumPy's argmax has it).</summary>
    public static int[] ArgMax(ReadOnlySpan<float> scores, int classes)
    {
        var result = new int[scores.Length / classes];
        for (int t = 0; t < result.Length; t++)
        {
            var token = scores.Slice(t * classes, classes);
            int best = 0;
            for (int c = 1; c < classes && !float.IsNaN(token[best]); c++)
                if (float.IsNaN(token[c]) || token[c] > token[best]) best = c;
            result[t] = best;
        }
        return result;
    }
}

/// <summary>
/// ner_accuracy, ner_precision, ner_recall and ner_f_score, as Accuracy Checker's metrics/ner.py computes them. Each
/// sentence's labels are aligned with its predictions: the labels at the label positions against the predicted classes
/// at the positions that start a word (include_all_tokens: every position of both), from the second pair on when the
/// first label is [CLS] or outside the labels, a pair skipped where its label is outside the labels, and the sentence
/// ending at a label id equal to the number of labels. ner_accuracy is the share of aligned pairs that agree over the
/// whole set. The others read the aligned labels as IOB chunks (seqeval's rules): per entity type the chunks
/// predicted, labelled and both; precision, recall or F1 per type over the set (0 where undefined), and the value is
/// their mean over the types seen (Accuracy Checker gives the vector; POT reads its mean). With reference: fp32 (ours;
/// POT's annotation_free) the labels are the FP32 model's classes at the same positions. An item whose outputs are not
/// finite predicts no label at any position.
/// </summary>
internal sealed class NerRunner(MetricSpec spec) : MetricRunner(spec.Name, TypeName(spec.Type), spec.Direction, spec.Datasets)
{
    private static string TypeName(MetricType type) => type switch
    {
        MetricType.NerAccuracy => "ner_accuracy",
        MetricType.NerPrecision => "ner_precision",
        MetricType.NerRecall => "ner_recall",
        _ => "ner_f_score",
    };

    public override IAggregate NewAggregate() => new NerAggregate(spec.Type);

    public override double Measure(SampleView s, IAggregate aggregate)
    {
        if (s.Annotation is not TokenLabels labels)
            throw new PotException("AnnotationNotTokenLabels", PotErrorCategory.InvalidData,
                $"Item {s.Index} of dataset '{s.Definition.Name}' has the annotation {Labels.Show(s.Annotation)}; metric '{Name}' needs a sentence's token labels (format: conll).", s.Definition.DataSource);
        if (!s.NonFinite && s.Prediction is not int[])
            throw new PotException("PredictionNotTokenClasses", PotErrorCategory.InvalidData,
                $"Metric '{Name}' compares each token's class, but dataset '{s.Definition.Name}' has the {s.Adapter.Definition.Type.ToString().ToLowerInvariant()} adapter: use adapter type token_classification.", spec.KeyPath);
        var predicted = s.NonFinite ? null : (int[])s.Prediction!;
        int tokens = labels.Valid.Length;
        if (predicted != null && predicted.Length != tokens)
            throw new PotException("EngineOutputShape", PotErrorCategory.InvalidData,
                $"Metric '{Name}': item {s.Index} of dataset '{s.Definition.Name}' has {tokens} tokens, but the model's output '{s.Adapter.OutputName}' classifies {predicted.Length}. Name the output of one row of class scores per input token.", spec.KeyPath);
        var sentence = Align(labels, predicted ?? Enumerable.Repeat(-1, tokens).ToArray(),
            spec.Reference == MetricReference.Fp32 ? (int[])s.References!.Prediction(s.Index)! : null, spec.IncludeAllTokens);
        ((NerAggregate)aggregate).Add(sentence);
        _measured = sentence;
        return NerAggregate.Value(spec.Type, new[] { sentence }, IWeightedAggregate.Once(1));
    }

    /// <summary>The sentence <see cref="Measure"/> aligned last, for <see cref="Signal"/> (called right after it).</summary>
    private NerSentence? _measured;

    /// <summary>
    /// The mean over the sentence's aligned words of the label's margin: its class's score minus the best other class's
    /// at the word's token (see <see cref="ClassScores.Margin"/>), a continuous signal for every NER metric where the
    /// chunks of one sentence move in steps. A label outside the classes, or outputs that are not finite, count as the
    /// word's class missed by 1.
    /// </summary>
    public override double Signal(SampleView s, double value)
    {
        if (_measured is not { Gold.Length: > 0 } sentence) return double.NaN;
        if (s.NonFinite) return -1;
        var scores = s.Scores;
        int classes = scores.Length / sentence.Labels.Valid.Length;
        double sum = 0;
        for (int k = 0; k < sentence.Gold.Length; k++)
            sum += sentence.Gold[k] >= 0 && sentence.Gold[k] < classes ? ClassScores.Margin(scores.Slice(sentence.Positions[k] * classes, classes), sentence.Gold[k], 1) : -1;
        return sum / sentence.Gold.Length;
    }

    /// <summary>Accuracy Checker's align_sequences (with label positions and valid positions unless <paramref name="allTokens"/>).</summary>
    public static NerSentence Align(TokenLabels labels, int[] predicted, int[]? fp32, bool allTokens)
    {
        if (labels.LabelMask.Length != labels.LabelIds.Length)
            throw new InvalidOperationException("A sentence's label mask and labels differ in length.");
        // The token positions classes are read at: those that start a word, or all; FP32's classes as labels at the same.
        int[] positions = Enumerable.Range(0, predicted.Length).Where(i => allTokens || i < labels.Valid.Length && labels.Valid[i]).ToArray();
        int[] pred = positions.Select(i => predicted[i]).ToArray();
        int[] gold = fp32 != null ? positions.Select(i => fp32[i]).ToArray()
            : allTokens ? labels.LabelIds : labels.LabelIds.Where((_, i) => labels.LabelMask[i]).ToArray();
        var map = labels.Labels;
        int start = gold.Length > 0 && map.Contains(gold[0]) && map.Name(gold[0]) != WordPieceTokenizer.Classifier ? 0 : 1;
        var g = new List<int>();
        var p = new List<int>();
        var at = new List<int>();
        for (int i = start; i < Math.Min(gold.Length, pred.Length); i++)
        {
            if (!map.Contains(gold[i])) continue;
            if (gold[i] == map.Count) break;
            g.Add(gold[i]);
            p.Add(pred[i]);
            at.Add(positions[i]);
        }
        return new NerSentence(g.ToArray(), p.ToArray(), at.ToArray(), labels);
    }
}

/// <summary>A sentence's aligned label ids and predicted class ids, the token position of each, and its labels.</summary>
internal sealed record NerSentence(int[] Gold, int[] Predicted, int[] Positions, TokenLabels Labels);

/// <summary>
/// The aligned sentences of a set. A paired bootstrap (<see cref="IWeightedAggregate"/>) resamples sentences: a
/// sentence drawn twice adds its counts twice.
/// </summary>
internal sealed class NerAggregate(MetricType type) : IAggregate, IWeightedAggregate
{
    private readonly List<NerSentence> _sentences = new();

    public void Add(double value) => throw new InvalidOperationException("Use Add(sentence).");

    public void Add(NerSentence sentence) => _sentences.Add(sentence);

    public int Items => _sentences.Count;

    public double Result() => Result(IWeightedAggregate.Once(Items));

    public double Result(ReadOnlySpan<int> draws) => Value(type, _sentences, draws);

    public static double Value(MetricType type, IReadOnlyList<NerSentence> sentences, ReadOnlySpan<int> draws)
    {
        if (type == MetricType.NerAccuracy)
        {
            long correct = 0, total = 0;
            for (int i = 0; i < sentences.Count; i++)
            {
                var s = sentences[i];
                for (int t = 0; t < s.Gold.Length; t++)
                    if (s.Gold[t] == s.Predicted[t]) correct += draws[i];
                total += (long)draws[i] * s.Gold.Length;
            }
            return total == 0 ? 0 : (double)correct / total;
        }
        // Per entity type: chunks predicted, chunks both labelled and predicted, chunks labelled.
        var counts = new Dictionary<string, long[]>(StringComparer.Ordinal);
        for (int i = 0; i < sentences.Count; i++)
        {
            if (draws[i] == 0) continue;
            var s = sentences[i];
            var gold = NerChunks.Of(s.Gold.Select(id => s.Labels.Labels.Name(id)).ToArray());
            var predicted = NerChunks.Of(s.Predicted.Select(id => s.Labels.Labels.Name(id)).ToArray());
            foreach (var chunk in gold.Concat(predicted).Select(c => c.Type).Distinct())
            {
                if (!counts.TryGetValue(chunk, out var c)) counts[chunk] = c = new long[3];
                var p = predicted.Where(x => x.Type == chunk).ToHashSet();
                var g = gold.Where(x => x.Type == chunk).ToHashSet();
                c[0] += draws[i] * p.Count;
                c[1] += draws[i] * p.Count(g.Contains);
                c[2] += draws[i] * g.Count;
            }
        }
        if (counts.Count == 0) return double.NaN;
        double sum = 0;
        foreach (var (predictedCount, both, gold) in counts.Values.Select(c => (c[0], c[1], c[2])))
        {
            double precision = predictedCount == 0 ? 0 : (double)both / predictedCount, recall = gold == 0 ? 0 : (double)both / gold;
            sum += type switch
            {
                MetricType.NerPrecision => precision,
                MetricType.NerRecall => recall,
                _ => precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall),
            };
        }
        return sum / counts.Count;
    }
}

/// <summary>The chunks of a sequence of IOB(ES) labels, as seqeval's get_entities (without suffixes) finds them.</summary>
internal static class NerChunks
{
    /// <summary>Each chunk's type, first and last position.</summary>
    public static List<(string Type, int Start, int End)> Of(IReadOnlyList<string> labels)
    {
        var chunks = new List<(string, int, int)>();
        string previousTag = "O", previousType = "";
        int begin = 0;
        for (int i = 0; i <= labels.Count; i++)
        {
            string label = i < labels.Count ? labels[i] : "O";
            // A label's tag is its first character and its type what follows the first '-' after it ('_' for none).
            string tag = label.Length > 0 ? label[..1] : "";
            string rest = label.Length > 0 ? label[1..] : "";
            int dash = rest.IndexOf('-', StringComparison.Ordinal);
            string type = dash >= 0 ? rest[(dash + 1)..] : rest;
            if (type.Length == 0) type = "_";
            if (EndOfChunk(previousTag, tag, previousType, type)) chunks.Add((previousType, begin, i - 1));
            if (StartOfChunk(previousTag, tag, previousType, type)) begin = i;
            previousTag = tag;
            previousType = type;
        }
        return chunks;
    }

    private static bool EndOfChunk(string prevTag, string tag, string prevType, string type) =>
        prevTag is "E" or "S"
        || prevTag == "B" && tag is "B" or "S" or "O"
        || prevTag == "I" && tag is "B" or "S" or "O"
        || prevTag != "O" && prevTag != "." && prevType != type;

    private static bool StartOfChunk(string prevTag, string tag, string prevType, string type) =>
        tag is "B" or "S"
        || prevTag == "E" && tag is "E" or "I"
        || prevTag == "S" && tag is "E" or "I"
        || prevTag == "O" && tag is "E" or "I"
        || tag != "O" && tag != "." && prevType != type;
}
