using System.Text;
using System.Text.RegularExpressions;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// question_answering: a window's answer text from its start and end logits, as Accuracy Checker's
/// bert_question_answering adapter and extract_answers_tokens postprocessor give it: the n_best_size positions of
/// highest start and of highest end logits (ties in position order) make the candidate spans; a span counts when both
/// ends are context tokens of the window, its start is a token this window holds with the most context
/// (<see cref="QuestionWindow.MaxContext"/>), and it has from 1 to max_answer tokens; the span of highest start plus
/// end logit (a float32 sum; ties in candidate order) is the answer: its tokens joined with ## continuations merged,
/// mapped back onto the context's words (<see cref="FinalText"/>). No span, or with no_answer_threshold (SQuAD 2.0)
/// a best span scoring below it: the answer is empty.
/// </summary>
internal sealed class QuestionAnsweringAdapter(AdapterDefinition d) : Adapter(d)
{
    public const string DefaultStart = "start_logits", DefaultEnd = "end_logits";

    public override IEnumerable<(string Key, string Name)> OtherOutputs => new[] { ("end_output", Definition.EndOutput ?? DefaultEnd) };

    public override object? Predict(BatchOutputs outputs, int row) =>
        throw new InvalidOperationException("The question_answering adapter reads the window's annotation.");

    public override object? Predict(BatchOutputs outputs, int row, object? annotation)
    {
        if (annotation is not QuestionWindow window)
            throw new PotException("AnnotationNotQuestion", PotErrorCategory.InvalidData,
                $"The question_answering adapter maps answers onto a SQuAD window, but the item's annotation is {Labels.Show(annotation)}. Give the dataset format: squad.", Definition.KeyPath);
        int end = outputs.IndexOf(Definition.EndOutput ?? DefaultEnd);
        outputs.RequireBatchFirst(OutputIndex, "the question_answering adapter");
        outputs.RequireBatchFirst(end, "the question_answering adapter");
        return Answer(outputs.Row(OutputIndex, row), outputs.Row(end, row), window, Definition.NBestSize, Definition.MaxAnswer, Definition.NoAnswerThreshold);
    }

    /// <param name="noAnswer">A best span scoring below this is no answer (SQuAD 2.0); null = none.</param>
    public static string Answer(ReadOnlySpan<float> starts, ReadOnlySpan<float> ends, QuestionWindow window, int nBest, int maxAnswer, double? noAnswer = null)
    {
        var startIndexes = Best(starts, nBest);
        var endIndexes = Best(ends, nBest);
        (int Start, int End, float Score)? best = null;
        foreach (int s in startIndexes)
            foreach (int e in endIndexes)
            {
                if (s >= window.Tokens.Count || e >= window.Tokens.Count || !window.TokenToWord.ContainsKey(s) || !window.TokenToWord.ContainsKey(e)) continue;
                if (!window.MaxContext.Contains(s) || e < s || e - s + 1 > maxAnswer) continue;
                float score = starts[s] + ends[e];
                // The first of equal scores, as a stable sort in descending order keeps it.
                if (best == null || score > best.Value.Score) best = (s, e, score);
            }
        if (best is not { } span || span.Score < noAnswer) return "";
        string text = string.Join(" ", window.Tokens.Skip(span.Start).Take(span.End - span.Start + 1)).Replace(" ##", "", StringComparison.Ordinal).Trim();
        text = string.Join(" ", WordPieceTokenizer.SplitWhitespace(text));
        int first = window.TokenToWord[span.Start], last = window.TokenToWord[span.End];
        string original = string.Join(" ", window.Words.Skip(first).Take(last - first + 1));
        return FinalText(text, original, window.LowerCase);
    }

    /// <summary>The <paramref name="count"/> positions of highest values, highest first, ties in position order.</summary>
    private static int[] Best(ReadOnlySpan<float> values, int count)
    {
        var order = new int[values.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        var keys = values.ToArray();
        // Descending and stable. NaN sorts lowest here (Python's sort leaves it in place); a window with one scores 0 anyway.
        return order.OrderByDescending(i => keys[i]).Take(count).ToArray();
    }

    /// <summary>
    /// The predicted text projected back onto the original words (BERT's get_final_text, as Accuracy Checker runs it):
    /// the words are basic-tokenized again, the prediction found in them, and its characters aligned with the words'
    /// characters without spaces; where that fails, the words themselves.
    /// </summary>
    public static string FinalText(string predicted, string original, bool lowerCase)
    {
        string tokenized = string.Join(" ", WordPieceTokenizer.Basic(original, lowerCase));
        int start = tokenized.IndexOf(predicted, StringComparison.Ordinal);
        if (start < 0) return original;
        int end = start + predicted.Length - 1;
        var (originalNoSpaces, originalMap) = StripSpaces(original);
        var (tokenizedNoSpaces, tokenizedMap) = StripSpaces(tokenized);
        if (originalNoSpaces.Length != tokenizedNoSpaces.Length) return original;
        var tokenizedToNoSpace = new Dictionary<int, int>();
        for (int i = 0; i < tokenizedMap.Count; i++) tokenizedToNoSpace[tokenizedMap[i]] = i;
        int? Project(int position) =>
            tokenizedToNoSpace.TryGetValue(position, out int ns) && ns < originalMap.Count ? originalMap[ns] : null;
        if (Project(start) is not { } from || Project(end) is not { } to) return original;
        return original.Substring(from, to - from + 1);
    }

    private static (string Text, List<int> Map) StripSpaces(string text)
    {
        var kept = new StringBuilder(text.Length);
        var map = new List<int>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == ' ') continue;
            map.Add(i);
            kept.Append(text[i]);
        }
        return (kept.ToString(), map);
    }
}

/// <summary>
/// squad_f1 and squad_exact_match (Accuracy Checker's f1 and exact_match for question answering): each window's
/// answer against the best of its question's reference answers, after SQuAD's normalization (lower case, ASCII
/// punctuation removed, the articles a, an and the removed, whitespace collapsed); references that normalize to
/// nothing are left out, and a question without any is answered right by an empty answer. A question's value is the
/// best of its windows' (none below 0); the metric is the mean over questions. With reference: fp32 (ours; POT's
/// annotation_free) the one reference is the FP32 model's answer to the window, and the metric the mean over windows,
/// where every window's answer counts (an item mean, so AccuracyAwareQuantization decides its evaluations early). A
/// window whose outputs are not finite scores 0.
/// </summary>
internal sealed class QuestionAnsweringRunner(MetricSpec spec) : MetricRunner(spec.Name, spec.Type == MetricType.SquadF1 ? "squad_f1" : "squad_exact_match", spec.Direction, spec.Datasets)
{
    /// <summary>Against the FP32 model's answers, every window's agreement counts: the mean over windows.</summary>
    private bool AgainstFp32 => spec.Reference == MetricReference.Fp32;

    public override IAggregate NewAggregate() => AgainstFp32 ? new MeanAggregate() : new QuestionAggregate();

    public override (double Min, double Max)? MeanItemBounds => AgainstFp32 ? (0, 1) : null;

    public override double Measure(SampleView s, IAggregate aggregate)
    {
        if (s.Annotation is not QuestionWindow window)
            throw new PotException("AnnotationNotQuestion", PotErrorCategory.InvalidData,
                $"Item {s.Index} of dataset '{s.Definition.Name}' has the annotation {Labels.Show(s.Annotation)}; metric '{Name}' needs a SQuAD question (format: squad).", s.Definition.DataSource);
        if (!s.NonFinite && s.Prediction is not string)
            throw new PotException("PredictionNotAnswer", PotErrorCategory.InvalidData,
                $"Metric '{Name}' compares answer texts, but dataset '{s.Definition.Name}' has the {s.Adapter.Definition.Type.ToString().ToLowerInvariant()} adapter: use adapter type question_answering.", spec.KeyPath);
        // reference: fp32 compares with the FP32 model's answer to the window, so questions without answers serve (POT's annotation_free).
        var references = AgainstFp32 ? new[] { (string)s.References!.Prediction(s.Index) } : window.Answers;
        double value = s.NonFinite ? 0 : Score((string)s.Prediction!, references, spec.Type == MetricType.SquadF1);
        if (aggregate is QuestionAggregate questions) questions.Add(window.QuestionId, value);
        else aggregate.Add(value);
        return value;
    }

    public override double Signal(SampleView s, double value) => value;

    /// <summary>The best value of <paramref name="predicted"/> against <paramref name="answers"/>.</summary>
    public static double Score(string predicted, IReadOnlyList<string> answers, bool f1)
    {
        var golds = answers.Where(a => Normalize(a).Length > 0).DefaultIfEmpty("").ToList();
        return golds.Max(g => f1 ? F1(g, predicted) : Normalize(g) == Normalize(predicted) ? 1 : 0);
    }

    public static double F1(string gold, string predicted)
    {
        var goldTokens = Tokens(gold);
        var predictedTokens = Tokens(predicted);
        if (goldTokens.Count == 0 || predictedTokens.Count == 0) return goldTokens.SequenceEqual(predictedTokens) ? 1 : 0;
        var counts = goldTokens.GroupBy(t => t, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        int same = 0;
        foreach (var t in predictedTokens)
            if (counts.TryGetValue(t, out int c) && c > 0)
            {
                counts[t] = c - 1;
                same++;
            }
        if (same == 0) return 0;
        double precision = (double)same / predictedTokens.Count, recall = (double)same / goldTokens.Count;
        return 2 * precision * recall / (precision + recall);
    }

    private static List<string> Tokens(string text) => text.Length == 0 ? new List<string>() : WordPieceTokenizer.SplitWhitespace(Normalize(text)).ToList();

    /// <summary>Python's string.punctuation.</summary>
    private const string Punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    private static readonly Regex Articles = new(@"\b(a|an|the)\b", RegexOptions.CultureInvariant);

    /// <summary>SQuAD's normalize_answer.</summary>
    public static string Normalize(string text)
    {
        var kept = new StringBuilder(text.Length);
        foreach (char c in PythonCase.Lower(text))
            if (Punctuation.IndexOf(c) < 0) kept.Append(c);
        return string.Join(" ", WordPieceTokenizer.SplitWhitespace(Articles.Replace(kept.ToString(), " ")));
    }
}

/// <summary>
/// Per question the best value of its windows, the mean over questions. A paired bootstrap (<see cref="IWeightedAggregate"/>)
/// resamples questions: a question counts as often as its first window is drawn.
/// </summary>
internal sealed class QuestionAggregate : IAggregate, IWeightedAggregate
{
    private readonly List<(string Question, double Value)> _items = new();

    public void Add(double value) => throw new InvalidOperationException("Use Add(question, value).");

    public void Add(string question, double value) => _items.Add((question, value));

    public int Items => _items.Count;

    public double Result() => Result(IWeightedAggregate.Once(Items));

    public double Result(ReadOnlySpan<int> draws)
    {
        var best = new Dictionary<string, (double Value, int Draws)>(StringComparer.Ordinal);
        for (int i = 0; i < _items.Count; i++)
        {
            var (question, value) = _items[i];
            best[question] = best.TryGetValue(question, out var known) ? (Math.Max(known.Value, value), known.Draws) : (Math.Max(0, value), draws[i]);
        }
        double sum = 0, weight = 0;
        foreach (var (value, count) in best.Values)
        {
            sum += count * value;
            weight += count;
        }
        return weight == 0 ? double.NaN : sum / weight;
    }
}

/// <summary>
/// qa_embedding_accuracy (Accuracy Checker's, for squad_emb data and an embedding adapter): the share of questions
/// whose context is among the top_k contexts nearest to the question's embedding (Euclidean distance, ties by item
/// order). A question whose context is not among the evaluated items is not counted; a question whose outputs are not
/// finite finds nothing, a context whose outputs are not finite is the farthest. A paired bootstrap resamples the
/// questions: contexts drawn or not stay candidates.
/// </summary>
internal sealed class QuestionEmbeddingRunner(MetricSpec spec) : MetricRunner(spec.Name, "qa_embedding_accuracy", spec.Direction, spec.Datasets)
{
    public override IAggregate NewAggregate() => new QuestionEmbeddingAggregate(spec);

    public override double Measure(SampleView s, IAggregate aggregate)
    {
        if (s.Annotation is not QuestionEmbedding item)
            throw new PotException("AnnotationNotQuestion", PotErrorCategory.InvalidData,
                $"Item {s.Index} of dataset '{s.Definition.Name}' has the annotation {Labels.Show(s.Annotation)}; metric '{Name}' needs squad_emb's contexts and questions (format: squad, squad_layout: embeddings).", s.Definition.DataSource);
        if (s.Prediction is not float[] embedding)
            throw new PotException("PredictionNotEmbedding", PotErrorCategory.InvalidData,
                $"Metric '{Name}' compares embeddings, but dataset '{s.Definition.Name}' has the {s.Adapter.Definition.Type.ToString().ToLowerInvariant()} adapter: use adapter type reid with normalize: false.", spec.KeyPath);
        ((QuestionEmbeddingAggregate)aggregate).Add(s.Index, item, s.NonFinite ? null : embedding);
        return double.NaN;
    }

    public override double Signal(SampleView s, double value) => double.NaN;
}

internal sealed class QuestionEmbeddingAggregate(MetricSpec spec) : IAggregate, IWeightedAggregate
{
    private readonly List<(int Index, QuestionEmbedding Item, float[]? Embedding)> _items = new();

    public void Add(double value) => throw new InvalidOperationException("Use Add(index, item, embedding).");

    public void Add(int index, QuestionEmbedding item, float[]? embedding) => _items.Add((index, item, embedding));

    public int Items => _items.Count;

    public double Result() => Result(IWeightedAggregate.Once(Items));

    public double Result(ReadOnlySpan<int> draws)
    {
        var contexts = _items.Where(i => i.Item.Context == null).OrderBy(i => i.Index).ToList();
        var position = contexts.Select((c, k) => (c.Index, k)).ToDictionary(p => p.Index, p => p.k);
        int dims = _items.FirstOrDefault(i => i.Embedding != null).Embedding?.Length ?? 0;
        if (_items.Any(i => i.Embedding != null && i.Embedding.Length != dims))
            throw new PotException("ReidOutputShape", PotErrorCategory.InvalidData, $"Metric '{spec.Name}' compares embeddings of one length, but items give embeddings of different lengths.", spec.KeyPath);
        double hits = 0, weight = 0;
        var distances = new double[contexts.Count];
        for (int i = 0; i < _items.Count; i++)
        {
            var (_, item, embedding) = _items[i];
            if (item.Context is not { } context || !position.TryGetValue(context, out int target) || draws[i] == 0) continue;
            weight += draws[i];
            if (embedding == null) continue;
            for (int c = 0; c < contexts.Count; c++)
            {
                var other = contexts[c].Embedding;
                double sum = 0;
                if (other == null) sum = double.PositiveInfinity;
                else
                    for (int k = 0; k < dims; k++)
                    {
                        double d = (double)other[k] - embedding[k];
                        sum += d * d;
                    }
                distances[c] = double.IsNaN(sum) ? double.PositiveInfinity : sum;
            }
            // By distance, ties in item order: the context's place is the contexts nearer than it, and those as near before it.
            int rank = 0;
            for (int c = 0; c < contexts.Count; c++)
                if (distances[c] < distances[target] || distances[c] == distances[target] && c < target) rank++;
            if (rank < spec.TopK) hits += draws[i];
        }
        return weight == 0 ? double.NaN : hits / weight;
    }
}
