using System.Text;
using System.Text.Json;

namespace PotPowerShell.Core.Data;

/// <summary>How a SQuAD file becomes model inputs: Accuracy Checker's squad converter's parameters and defaults.</summary>
/// <param name="MaxSeqLength">Tokens of one window: [CLS] question [SEP] context part [SEP], padded with [PAD].</param>
/// <param name="MaxQueryLength">Question tokens kept.</param>
/// <param name="DocStride">Context tokens between the starts of two windows of a long context.</param>
/// <param name="Embeddings">Accuracy Checker's squad_emb instead of squad: contexts and questions as items of their own (see <see cref="SquadFile"/>).</param>
public sealed record SquadOptions(int MaxSeqLength = 128, int MaxQueryLength = 64, int DocStride = 128, bool LowerCase = false, bool Padding = true, bool Embeddings = false);

/// <summary>
/// An item of a SQuAD file read for embedding retrieval (squad_emb): a context (<paramref name="Context"/> null) or a
/// question, with the index of its context's item.
/// </summary>
public sealed record QuestionEmbedding(int? Context);

/// <summary>
/// One window of a question's context (Accuracy Checker's QuestionAnsweringAnnotation): what answer extraction and the
/// f1 and exact_match metrics read.
/// </summary>
/// <param name="QuestionId">The question's id: its windows count once, by their best value.</param>
/// <param name="Tokens">The window's tokens up to its padding.</param>
/// <param name="TokenToWord">Context token position in the window -> index of its word in <see cref="Words"/>.</param>
/// <param name="MaxContext">Context token positions whose best window (most context on both sides) this is.</param>
/// <param name="Words">The context split at whitespace.</param>
/// <param name="Answers">The reference answers' texts (an impossible question has none).</param>
public sealed record QuestionWindow(string QuestionId, IReadOnlyList<string> Tokens, IReadOnlyDictionary<int, int> TokenToWord, IReadOnlySet<int> MaxContext,
    IReadOnlyList<string> Words, IReadOnlyList<string> Answers, bool LowerCase);

/// <summary>
/// A SQuAD v1.1/v2.0 file as model inputs, as Accuracy Checker's squad converter makes them: each question with its
/// context tokenized (<see cref="WordPieceTokenizer"/>), the question cut to max_query_length tokens, and the context
/// in windows of what fits beside it, a window every doc_stride tokens until one holds the rest. Each window is an item:
/// input_ids, input_mask (1 for tokens, 0 for padding), segment_ids (0 for [CLS] question [SEP], 1 after) and
/// position_ids (0, 1, 2 ...), as int64 [1, max_seq_length] (without padding, [1, its tokens]); also under the names
/// Hugging Face models give their inputs (attention_mask, token_type_ids). Questions in the file's order, windows in
/// context order; a question with an empty context has none, as in Accuracy Checker.
/// <para>
/// With <see cref="SquadOptions.Embeddings"/> (Accuracy Checker's squad_emb converter): each paragraph's context is an
/// item, [CLS] its tokens cut to max_seq_length - 2 [SEP], then each question, [CLS] its tokens cut to
/// max_query_length - 2 [SEP], padded to those lengths with [PAD]'s id (the mask and segments too, as the converter
/// pads them), tokenized as <see cref="WordPieceTokenizer.EmbeddingIds"/>; contexts first, in order, then the
/// questions, each annotated with its context's item (<see cref="QuestionEmbedding"/>).
/// </para>
/// </summary>
public sealed class SquadFile : IDataset
{
    /// <summary>Larger files are refused before they are parsed (SQuAD 2.0's training set is 40 MB).</summary>
    public const long MaxBytes = 256L << 20;

    /// <summary>More windows than this are refused (SQuAD 1.1's development set makes about 11,000 at 384 tokens).</summary>
    public const int MaxWindows = 1 << 20;

    /// <summary>A paragraph's context: its words, and its WordPiece tokens' ids with the word each comes from.</summary>
    private sealed record Context(IReadOnlyList<string> Words, int[] TokenIds, int[] TokenToWord);

    /// <summary>A question: its token ids (cut to max_query_length), answers, context, windows (start, length) and each context token's best window.</summary>
    private sealed record Question(string Id, int[] Ids, IReadOnlyList<string> Answers, Context Context, (int Start, int Length)[] Spans, int[] Best);

    /// <summary>Each item: a question and the index of its window. Arrays and annotations are made when an item is read.</summary>
    private readonly List<(Question Question, int Span)> _windows = new();

    /// <summary>With <see cref="SquadOptions.Embeddings"/>: each item's token ids (without [CLS], [SEP] and padding), length, and context item.</summary>
    private readonly List<(int[] Ids, int Length, int? Context)> _embeddings = new();

    /// <summary>Model inputs named apart from the arrays, and the array each takes.</summary>
    private readonly IReadOnlyDictionary<string, string> _inputs;

    private readonly WordPieceTokenizer _tokenizer;
    private readonly SquadOptions _options;

    private SquadFile(string source, WordPieceTokenizer tokenizer, SquadOptions options, IReadOnlyDictionary<string, string> inputs)
    {
        Source = source;
        _tokenizer = tokenizer;
        _options = options;
        _inputs = inputs;
        InputNames = BertInputs.Names.Concat(inputs.Keys).Distinct(StringComparer.Ordinal).ToList();
    }

    public string Source { get; }
    public int Count => _options.Embeddings ? _embeddings.Count : _windows.Count;
    public IReadOnlyList<string> InputNames { get; }
    public bool HasAnnotations => true;

    public DataItem Get(int index)
    {
        if (_options.Embeddings) return Embedding(index);
        var (question, span) = _windows[index];
        var (start, length) = question.Spans[span];
        var ids = new List<int>(_options.MaxSeqLength) { _tokenizer.ClassifierId };
        ids.AddRange(question.Ids);
        ids.Add(_tokenizer.SeparatorId);
        ids.AddRange(question.Context.TokenIds.AsSpan(start, length).ToArray());
        ids.Add(_tokenizer.SeparatorId);
        int real = ids.Count, offset = question.Ids.Length + 2;
        if (_options.Padding)
            while (ids.Count < _options.MaxSeqLength) ids.Add(_tokenizer.PadId);
        int n = ids.Count;
        var arrays = BertInputs.Arrays(n, i => ids[i], i => i < real ? 1 : 0, i => i >= offset && i < real ? 1 : 0, _inputs);
        // The window's tokens end at its first [PAD] (as the converter cuts them, also at a [PAD] in the text).
        int cut = ids.IndexOf(_tokenizer.PadId);
        var tokens = ids.Take(cut < 0 ? n : cut).Select(_tokenizer.Token).ToList();
        var map = new Dictionary<int, int>();
        var maxContext = new HashSet<int>();
        for (int i = 0; i < length; i++)
        {
            map[offset + i] = question.Context.TokenToWord[start + i];
            if (question.Best[start + i] == span) maxContext.Add(offset + i);
        }
        return new DataItem(index, arrays, new QuestionWindow(question.Id, tokens, map, maxContext, question.Context.Words, question.Answers, _options.LowerCase));
    }

    /// <param name="inputs">Model inputs named apart from the arrays -> the array each takes (an engine's inputs:).</param>
    /// <summary>An item of the embeddings layout: [CLS] ids [SEP], padded with [PAD]'s id to its length.</summary>
    private DataItem Embedding(int index)
    {
        var (tokens, length, context) = _embeddings[index];
        int real = tokens.Length + 2, n = _options.Padding ? length : real, pad = _tokenizer.PadId;
        var arrays = BertInputs.Arrays(n, i => i == 0 ? _tokenizer.ClassifierId : i <= tokens.Length ? tokens[i - 1] : i == real - 1 ? _tokenizer.SeparatorId : pad,
            i => i < real ? 1 : pad, i => i < real ? 0 : pad, _inputs);
        return new DataItem(index, arrays, new QuestionEmbedding(context));
    }

    public static SquadFile Read(string path, WordPieceTokenizer tokenizer, SquadOptions options, IReadOnlyDictionary<string, string>? inputs = null)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
            throw new PotException("DataFileNotFound", PotErrorCategory.ObjectNotFound, $"The SQuAD file '{path}' does not exist.", path);
        if (info.Length > MaxBytes)
            throw new PotException("AnnotationTooLarge", PotErrorCategory.InvalidData, $"The SQuAD file '{path}' has {info.Length} bytes; at most {MaxBytes} are read.", path);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw Invalid(path, $"is not valid JSON: {e.Message}", e);
        }
        var file = new SquadFile(path, tokenizer, options, inputs ?? new Dictionary<string, string>());
        using (document)
        {
            var questions = new List<(int[] Ids, int Length, int? Context)>();
            foreach (var entry in Array(document.RootElement, "data", path, "the file"))
                foreach (var paragraph in Array(entry, "paragraphs", path, "a data entry"))
                {
                    if (options.Embeddings)
                    {
                        file.AddEmbeddings(paragraph, path, questions);
                        continue;
                    }
                    var context = ContextOf(Text(paragraph, "context", path, "a paragraph"), tokenizer);
                    foreach (var qa in Array(paragraph, "qas", path, "a paragraph"))
                    {
                        if (qa.ValueKind != JsonValueKind.Object) throw Invalid(path, $"has a question that is not an object: {qa.ValueKind}.");
                        string id = !qa.TryGetProperty("id", out var idValue) ? throw Invalid(path, "has a question without an id.")
                            : idValue.ValueKind == JsonValueKind.String ? Decoded(idValue, path, "a question's id") : idValue.GetRawText();
                        bool impossible = qa.TryGetProperty("is_impossible", out var flag) && flag.ValueKind == JsonValueKind.True;
                        var answers = impossible ? new List<string>() : Array(qa, "answers", path, $"question '{id}'").Select(a => Text(a, "text", path, $"an answer of question '{id}'")).ToList();
                        file.AddWindows(id, Text(qa, "question", path, $"question '{id}'"), context, answers);
                    }
                }
            file._embeddings.AddRange(questions);
        }
        return file;
    }

    /// <summary>squad_emb: the paragraph's context as an item, its questions kept for after every context.</summary>
    private void AddEmbeddings(JsonElement paragraph, string path, List<(int[] Ids, int Length, int? Context)> questions)
    {
        int[] Cut(string text, int length)
        {
            if (length < 2)
                throw new PotException("SquadWindowTooShort", PotErrorCategory.InvalidArgument,
                    $"squad_emb items of '{Source}' hold [CLS] and [SEP] around their tokens: max_seq_length and max_query_length must be at least 2, not {length}.", Source);
            var ids = _tokenizer.EmbeddingIds(text);
            return ids.Take(length - 2).ToArray();
        }
        int context = _embeddings.Count;
        _embeddings.Add((Cut(Text(paragraph, "context", path, "a paragraph"), _options.MaxSeqLength), _options.MaxSeqLength, null));
        foreach (var qa in Array(paragraph, "qas", path, "a paragraph"))
        {
            string what = qa.ValueKind == JsonValueKind.Object && qa.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? $"question '{Decoded(id, path, "a question's id")}'" : "a question";
            questions.Add((Cut(Text(qa, "question", path, what), _options.MaxQueryLength), _options.MaxQueryLength, context));
        }
        if (_embeddings.Count + questions.Count > MaxWindows)
            throw Invalid(Source, $"makes more than {MaxWindows} items; evaluate a part of it (subsample_size).");
    }

    /// <summary>The context split at whitespace (Accuracy Checker's SquadExample.doc_tokens).</summary>
    private static List<string> Words(string context)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        bool space = true;
        foreach (var rune in context.EnumerateRunes())
        {
            if (WordPieceTokenizer.IsWhitespace(rune))
            {
                space = true;
                continue;
            }
            if (space && current.Length > 0)
            {
                words.Add(current.ToString());
                current.Clear();
            }
            current.Append(rune.ToString());
            space = false;
        }
        if (current.Length > 0) words.Add(current.ToString());
        return words;
    }

    private static Context ContextOf(string text, WordPieceTokenizer tokenizer)
    {
        var words = Words(text);
        var ids = new List<int>();
        var tokenToWord = new List<int>();
        for (int w = 0; w < words.Count; w++)
            foreach (var token in tokenizer.Tokenize(words[w]))
            {
                ids.Add(tokenizer.Id(token));
                tokenToWord.Add(w);
            }
        return new Context(words, ids.ToArray(), tokenToWord.ToArray());
    }

    private void AddWindows(string id, string questionText, Context context, List<string> answers)
    {
        var question = _tokenizer.Ids(questionText);
        if (question.Count > _options.MaxQueryLength) question.RemoveRange(_options.MaxQueryLength, question.Count - _options.MaxQueryLength);
        int tokens = context.TokenIds.Length, room = _options.MaxSeqLength - question.Count - 3;
        if (room <= 0 && tokens > 0)
            throw new PotException("SquadWindowTooShort", PotErrorCategory.InvalidArgument,
                $"Question '{id}' of '{Source}' has {question.Count} tokens, which leave no room for its context in a window of max_seq_length {_options.MaxSeqLength} tokens ([CLS], the question, [SEP], the context, [SEP]). Raise max_seq_length or lower max_query_length.", Source);
        // Windows start every doc_stride tokens; each holds what fits, and the one that holds the rest is the last.
        var spans = new List<(int Start, int Length)>();
        for (int start = 0; start < tokens; start += _options.DocStride)
        {
            spans.Add((start, Math.Min(tokens - start, room)));
            if (tokens - start <= room) break;
            if (_windows.Count + spans.Count > MaxWindows)
                throw Invalid(Source, $"makes more than {MaxWindows} windows; evaluate a part of it (subsample_size), or raise doc_stride.");
        }
        var entry = new Question(id, question.ToArray(), answers, context, spans.ToArray(), BestWindows(spans, tokens));
        for (int s = 0; s < spans.Count; s++) _windows.Add((entry, s));
    }

    /// <summary>
    /// Each context token's window with the most context on both sides of it (Accuracy Checker's _is_max_context: the
    /// fewer tokens on its shorter side, plus 0.01 per token of the window; the first of equals), windows in order.
    /// </summary>
    private static int[] BestWindows(List<(int Start, int Length)> spans, int tokens)
    {
        var best = new int[tokens];
        var score = new double[tokens];
        System.Array.Fill(score, double.NegativeInfinity);
        for (int s = 0; s < spans.Count; s++)
        {
            var (start, length) = spans[s];
            int end = start + length - 1;
            for (int p = start; p <= end; p++)
            {
                double value = Math.Min(p - start, end - p) + 0.01 * length;
                if (value > score[p])
                {
                    score[p] = value;
                    best[p] = s;
                }
            }
        }
        return best;
    }

    private static IEnumerable<JsonElement> Array(JsonElement parent, string name, string path, string what) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var a) && a.ValueKind == JsonValueKind.Array
            ? a.EnumerateArray()
            : throw Invalid(path, $"has {what} without a '{name}' list: a SQuAD file is {{\"data\": [{{\"paragraphs\": [{{\"context\": ..., \"qas\": [{{\"id\": ..., \"question\": ..., \"answers\": [{{\"text\": ...}}]}}]}}]}}]}}.");

    private static string Text(JsonElement parent, string name, string path, string what) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var t) && t.ValueKind == JsonValueKind.String
            ? Decoded(t, path, $"{what}'s '{name}'")
            : throw Invalid(path, $"has {what} without a '{name}' text.");

    /// <summary>A JSON string's text; an escape that is no UTF-16 text (a lone surrogate) is refused.</summary>
    private static string Decoded(JsonElement text, string path, string what) =>
        JsonText.Read(text, e => Invalid(path, $"has {what} in bytes that are not UTF-8 text.", e));

    private static PotException Invalid(string path, string what, Exception? inner = null) =>
        new("AnnotationInvalid", PotErrorCategory.InvalidData, $"The SQuAD file '{path}' {what}", path, inner);
}
