using System.Text;
using System.Text.Json;

namespace PotPowerShell.Core.Data;

/// <summary>How a CoNLL-2003 file becomes model inputs: Accuracy Checker's conll_ner converter's parameters and defaults.</summary>
/// <param name="MaxLength">Tokens of one sentence with [CLS] and [SEP] (its max_len); longer sentences are cut.</param>
/// <param name="Padding">Pad every sentence to <paramref name="MaxLength"/> (its pad_input).</param>
/// <param name="SpecialTokenLabels">[CLS] and [SEP] are labels too, and every label id one higher (its include_special_token_labels).</param>
/// <param name="Labels">The labels in id order (its labels_file); null = CoNLL-2003's nine.</param>
public sealed record ConllOptions(int MaxLength = 128, bool LowerCase = false, bool Padding = true, bool SpecialTokenLabels = false, IReadOnlyList<string>? Labels = null);

/// <summary>The labels of a token classification set: each id's name, ids from <see cref="FirstId"/> on.</summary>
public sealed record NerLabels(IReadOnlyList<string> Names, int FirstId)
{
    /// <summary>CoNLL-2003's labels in the order Accuracy Checker's conll_ner converter numbers them.</summary>
    public static readonly IReadOnlyList<string> Conll2003 = new[] { "O", "B-MISC", "I-MISC", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC" };

    public int Count => Names.Count;

    public bool Contains(long id) => id >= FirstId && id < FirstId + Names.Count;

    /// <summary>The label of an id; ids outside the map are '[unk]', as Accuracy Checker's ner metrics name them.</summary>
    public string Name(long id) => Contains(id) ? Names[(int)(id - FirstId)] : "[unk]";
}

/// <summary>
/// A sentence of a CoNLL file as its model sees it (Accuracy Checker's BERTNamedEntityRecognitionAnnotation): the label
/// ids, and which token positions start a word (<paramref name="Valid"/>) and which label positions hold a word's label
/// (<paramref name="LabelMask"/>), as the converter lays them out.
/// </summary>
public sealed record TokenLabels(int[] LabelIds, bool[] Valid, bool[] LabelMask, NerLabels Labels);

/// <summary>
/// A CoNLL-2003 file (Accuracy Checker's conll_ner converter): lines of 'word ... label' split at single spaces, the
/// first field the word and the last its label; an empty line or a -DOCSTART line ends a sentence. Each sentence is an
/// item: its words tokenized one by one (<see cref="WordPieceTokenizer.TokenizePlain"/>), cut to max_len - 2 tokens
/// when they reach max_len - 1, between [CLS] and [SEP], padded with zeros to max_len; the arrays of
/// <see cref="BertInputs"/> (segments all 0). Each word's label belongs to its first token. The layout of labels,
/// valid positions and label positions follows the converter, also where it is odd (a cut sentence keeps up to
/// max_len - 2 word labels, however many of its words' first tokens were kept; a word whose tokens are none keeps no
/// label). Unlike the converter, a last line without a line end keeps its label whole, and \r\n line ends are line ends.
/// </summary>
public sealed class ConllFile : IDataset
{
    /// <summary>Larger files are refused (CoNLL-2003's training set is 3.3 MB).</summary>
    public const long MaxBytes = 256L << 20;

    /// <summary>More sentences than this are refused (CoNLL-2003's sets hold 3,000-15,000).</summary>
    public const int MaxSentences = 1 << 20;

    /// <summary>Larger labels files are refused.</summary>
    public const long MaxLabelsBytes = 1 << 20;

    private readonly List<(int[] Ids, TokenLabels Labels)> _sentences = new();
    private readonly IReadOnlyDictionary<string, string> _inputs;
    private readonly ConllOptions _options;

    private ConllFile(string source, ConllOptions options, IReadOnlyDictionary<string, string> inputs)
    {
        Source = source;
        _options = options;
        _inputs = inputs;
        InputNames = BertInputs.Names.Concat(inputs.Keys).Distinct(StringComparer.Ordinal).ToList();
    }

    public string Source { get; }
    public int Count => _sentences.Count;
    public IReadOnlyList<string> InputNames { get; }
    public bool HasAnnotations => true;

    public DataItem Get(int index)
    {
        var (ids, labels) = _sentences[index];
        int real = ids.Length, n = _options.Padding ? _options.MaxLength : real;
        // The converter pads input_ids with 0, whatever [PAD]'s id.
        var arrays = BertInputs.Arrays(n, i => i < real ? ids[i] : 0, i => i < real ? 1 : 0, _ => 0, _inputs);
        return new DataItem(index, arrays, labels);
    }

    /// <param name="inputs">Model inputs named apart from the arrays -> the array each takes (an engine's inputs:).</param>
    public static ConllFile Read(string path, WordPieceTokenizer tokenizer, ConllOptions options, IReadOnlyDictionary<string, string>? inputs = null)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
            throw new PotException("DataFileNotFound", PotErrorCategory.ObjectNotFound, $"The CoNLL file '{path}' does not exist.", path);
        // [CLS] and [SEP] take two (the engine's max_seq_length is at least 2).
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxLength, 2);
        var names = (options.Labels ?? NerLabels.Conll2003).ToList();
        if (options.SpecialTokenLabels) names.AddRange(new[] { WordPieceTokenizer.Classifier, WordPieceTokenizer.Separator });
        var labels = new NerLabels(names, options.SpecialTokenLabels ? 1 : 0);
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < names.Count; i++) ids[names[i]] = i + labels.FirstId;
        var file = new ConllFile(path, options, inputs ?? new Dictionary<string, string>());
        var words = new List<string>();
        var wordLabels = new List<(string Label, int Line)>();
        void EndSentence()
        {
            if (words.Count == 0) return;
            if (file._sentences.Count == MaxSentences)
                throw Invalid(path, $"holds more than {MaxSentences} sentences; evaluate a part of it (subsample_size).");
            file._sentences.Add(file.Sentence(words, wordLabels, tokenizer, ids, labels, path));
            words.Clear();
            wordLabels.Clear();
        }
        int number = 0;
        foreach (var line in Lines(path))
        {
            number++;
            if (line.Length == 0 || line.StartsWith("-DOCSTART", StringComparison.Ordinal))
            {
                EndSentence();
                continue;
            }
            var fields = line.Split(' ');
            words.Add(fields[0]);
            wordLabels.Add((fields[^1], number));
        }
        EndSentence();
        return file;
    }

    /// <summary>The converter's convert_examples_to_features for one sentence: its token ids and its labels' layout.</summary>
    private (int[] Ids, TokenLabels Labels) Sentence(List<string> words, List<(string Label, int Line)> wordLabels, WordPieceTokenizer tokenizer,
        Dictionary<string, int> ids, NerLabels labels, string path)
    {
        int max = _options.MaxLength, special = _options.SpecialTokenLabels ? 1 : 0;
        var tokens = new List<string>();
        var sentenceLabels = new List<string>();
        var valid = new List<int>();
        var labelMask = new List<int>();
        for (int w = 0; w < words.Count; w++)
        {
            var pieces = tokenizer.TokenizePlain(words[w]);
            tokens.AddRange(pieces);
            for (int m = 0; m < pieces.Count; m++)
            {
                if (m == 0)
                {
                    sentenceLabels.Add(wordLabels[w].Label);
                    valid.Add(1);
                    labelMask.Add(1);
                }
                else valid.Add(0);
            }
        }
        if (tokens.Count >= max - 1)
        {
            static void Cut<T>(List<T> list, int count) { if (list.Count > count) list.RemoveRange(count, list.Count - count); }
            Cut(tokens, max - 2);
            Cut(sentenceLabels, max - 2);
            Cut(valid, max - 2);
            Cut(labelMask, max - 2);
        }
        var labelIds = new List<int> { ids.GetValueOrDefault(WordPieceTokenizer.Classifier, -1) };
        for (int i = 0; i < tokens.Count && i < sentenceLabels.Count; i++)
        {
            string label = sentenceLabels[i];
            if (!ids.TryGetValue(label, out int id))
            {
                int line = wordLabels.First(l => l.Label == label).Line;
                throw Invalid(path, $"labels a word '{label}' on line {line}, which is none of its labels ({string.Join(", ", labels.Names)}). Lines are 'word ... label', fields split by single spaces{(_options.Labels == null ? "; name other labels with labels_file:" : "")}.");
            }
            labelIds.Add(id);
        }
        labelIds.Add(ids.GetValueOrDefault(WordPieceTokenizer.Separator, -1));
        valid.Insert(0, special);
        valid.Add(special);
        labelMask.Insert(0, special);
        labelMask.Add(special);
        var tokenIds = new List<int>(tokens.Count + 2) { tokenizer.ClassifierId };
        tokenIds.AddRange(tokens.Select(tokenizer.Id));
        tokenIds.Add(tokenizer.SeparatorId);
        if (_options.Padding)
        {
            // pad_inputs: every list grows with input_ids to max_len, then the labels and their mask alone.
            for (int n = tokenIds.Count; n < max; n++)
            {
                labelIds.Add(0);
                valid.Add(0);
                labelMask.Add(0);
            }
            while (labelIds.Count < max) labelIds.Add(0);
            while (labelMask.Count < max) labelMask.Add(0);
        }
        return (tokenIds.ToArray(), new TokenLabels(labelIds.ToArray(), valid.Select(v => v != 0).ToArray(), labelMask.Select(v => v != 0).ToArray(), labels));
    }

    /// <summary>The file's lines without their ends: \n, \r\n and \r end a line, as Python's text files read them.</summary>
    private static IEnumerable<string> Lines(string path)
    {
        if (new FileInfo(path).Length > MaxBytes)
            throw new PotException("AnnotationTooLarge", PotErrorCategory.InvalidData, $"The CoNLL file '{path}' has {new FileInfo(path).Length} bytes; at most {MaxBytes} are read.", path);
        string text;
        try
        {
            text = File.ReadAllText(path, new UTF8Encoding(false, throwOnInvalidBytes: true));
        }
        catch (DecoderFallbackException e)
        {
            throw Invalid(path, "is not UTF-8 text.", e);
        }
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n', '\r');
        return text.EndsWith('\n') || text.EndsWith('\r') ? lines[..^1] : lines;
    }

    /// <summary>A labels_file: JSON {"labels": ["O", "B-PER", ...]}, the labels in id order.</summary>
    public static IReadOnlyList<string> ReadLabels(string path)
    {
        if (!File.Exists(path))
            throw new PotException("DataFileNotFound", PotErrorCategory.ObjectNotFound, $"The labels file '{path}' does not exist.", path);
        if (new FileInfo(path).Length > MaxLabelsBytes)
            throw new PotException("AnnotationTooLarge", PotErrorCategory.InvalidData, $"The labels file '{path}' has more than {MaxLabelsBytes} bytes.", path);
        PotException Wrong(Exception? e = null) =>
            new("AnnotationInvalid", PotErrorCategory.InvalidData, $"The labels file '{path}' must be JSON {{\"labels\": [\"O\", \"B-PER\", ...]}}: its labels in id order, each a non-empty text without spaces, none twice.", path, e);
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 8 });
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("labels", out var list) || list.ValueKind != JsonValueKind.Array)
                throw Wrong();
            var labels = list.EnumerateArray().Select(l => l.ValueKind == JsonValueKind.String ? JsonText.Read(l, e => Wrong(e)) : throw Wrong()).ToList();
            if (!ValidLabels(labels)) throw Wrong();
            return labels;
        }
        catch (JsonException e)
        {
            throw Wrong(e);
        }
    }

    /// <summary>Labels a CoNLL file can name: at least one, each a non-empty text without spaces (a line's last field), none twice.</summary>
    public static bool ValidLabels(IReadOnlyList<string> labels) =>
        labels.Count > 0 && labels.All(l => l.Length > 0 && !l.Contains(' ')) && labels.Distinct(StringComparer.Ordinal).Count() == labels.Count;

    private static PotException Invalid(string path, string what, Exception? inner = null) =>
        new("AnnotationInvalid", PotErrorCategory.InvalidData, $"The CoNLL file '{path}' {what}", path, inner);
}
