using System.Globalization;
using System.Text;

namespace PotPowerShell.Core.Data;

/// <summary>
/// BERT's WordPiece tokenization as Accuracy Checker's squad converter runs it (its SquadWordPieseTokenizer,
/// annotation_converters/_nlp_common.py; <see cref="TokenizePlain"/> as its conll_ner converter does): the basic tokenizer (control characters dropped, whitespace to spaces, CJK
/// ideographs spaced, split on whitespace; with lower_case each word lower-cased and its accents stripped; split at
/// every punctuation character; the special tokens kept whole), then each word split greedily into the longest
/// vocabulary entries, continuations prefixed with ##; a word of more than 100 characters, or one with a part the
/// vocabulary lacks, is [UNK]. Characters are Unicode code points, as Python's strings hold them; lower-casing is
/// Python's (<see cref="PythonCase"/>).
/// </summary>
public sealed class WordPieceTokenizer
{
    /// <summary>Larger vocabulary files are refused.</summary>
    public const long MaxVocabularyBytes = 64L << 20;

    public const string Unknown = "[UNK]", Separator = "[SEP]", Padding = "[PAD]", Classifier = "[CLS]", Mask = "[MASK]";

    private static readonly string[] Special = { Unknown, Separator, Padding, Classifier, Mask };

    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<int, string> _tokens;

    public WordPieceTokenizer(IReadOnlyList<string> vocabulary, bool lowerCase, string source = "vocabulary")
    {
        _ids = new Dictionary<string, int>(StringComparer.Ordinal);
        // As Python's vocabulary: each line stripped, a later duplicate takes the id.
        for (int i = 0; i < vocabulary.Count; i++) _ids[vocabulary[i].Trim()] = i;
        _tokens = _ids.ToDictionary(p => p.Value, p => p.Key);
        LowerCase = lowerCase;
        foreach (var token in new[] { Unknown, Separator, Padding, Classifier })
            if (!_ids.ContainsKey(token))
                throw new PotException("VocabularyInvalid", PotErrorCategory.InvalidData,
                    $"The vocabulary '{source}' has no '{token}' line: a BERT vocabulary lists {string.Join(", ", Special.Take(4))} among its tokens, one token per line.", source);
    }

    /// <summary>Reads a vocab.txt: one token per line, its id the line's index.</summary>
    public static WordPieceTokenizer Load(string path, bool lowerCase)
    {
        if (!File.Exists(path))
            throw new PotException("DataFileNotFound", PotErrorCategory.ObjectNotFound, $"The vocabulary file '{path}' does not exist.", path);
        return new WordPieceTokenizer(TextFiles.ReadLines(path, MaxVocabularyBytes), lowerCase, path);
    }

    public bool LowerCase { get; }

    public int Id(string token) => _ids[token];

    public int PadId => _ids[Padding];
    public int ClassifierId => _ids[Classifier];
    public int SeparatorId => _ids[Separator];

    /// <summary>The token of an id (ids the vocabulary does not give back are [UNK]).</summary>
    public string Token(int id) => _tokens.GetValueOrDefault(id, Unknown);

    /// <summary>The WordPiece tokens of <paramref name="text"/>, as the squad converter's tokenizer gives them.</summary>
    public List<string> Tokenize(string text)
    {
        var result = new List<string>();
        foreach (var word in Basic(text, LowerCase, keepSpecial: true))
            WordPieces(word, result, 100);
        return result;
    }

    /// <summary>
    /// The WordPiece tokens of <paramref name="text"/> as Accuracy Checker's base tokenizer gives them (the conll_ner
    /// converter's): special tokens are text like any other ([CLS] is '[', 'CLS', ']'), and words of up to 200 characters
    /// are split.
    /// </summary>
    public List<string> TokenizePlain(string text)
    {
        var result = new List<string>();
        foreach (var word in Basic(text, LowerCase))
            WordPieces(word, result, 200);
        return result;
    }

    /// <summary>The ids of <see cref="Tokenize"/>.</summary>
    public List<int> Ids(string text) => Tokenize(text).Select(t => _ids[t]).ToList();

    /// <summary>
    /// The ids of <paramref name="text"/> as Accuracy Checker's squad_emb converter encodes it (its encode_by_voc, not the
    /// basic tokenizer): with lower case the whole text lower-cased first; words are runs between whitespace and
    /// punctuation (each punctuation character a word of its own; punctuation is ASCII's or Unicode's P categories);
    /// each word stripped of non-spacing marks and control or other C characters after NFD, then split greedily into
    /// the longest vocabulary entries (## continuations), a word with a part the vocabulary lacks [UNK].
    /// </summary>
    public List<int> EmbeddingIds(string text)
    {
        if (LowerCase) text = PythonCase.Lower(text);
        var ids = new List<int>();
        foreach (var word in EmbeddingWords(text))
        {
            var cleaned = new StringBuilder();
            foreach (var rune in word.Normalize(NormalizationForm.FormD).EnumerateRunes())
                if (Rune.GetUnicodeCategory(rune) is not (UnicodeCategory.NonSpacingMark or UnicodeCategory.Control or UnicodeCategory.Format
                    or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned))
                    cleaned.Append(rune.ToString());
            foreach (var part in EmbeddingWords(cleaned.ToString()))
                ids.AddRange((Pieces(part) ?? new List<string> { Unknown }).Select(p => _ids[p]));
        }
        return ids;
    }

    /// <summary>Accuracy Checker's split_to_words: runs between whitespace and punctuation, each punctuation character alone.</summary>
    private static IEnumerable<string> EmbeddingWords(string text)
    {
        var word = new StringBuilder();
        foreach (var rune in text.EnumerateRunes())
        {
            bool punctuation = IsPunctuation(rune);
            // Python's isspace() also takes the separators U+001C to U+001F.
            if (punctuation || Rune.IsWhiteSpace(rune) || rune.Value is >= 0x1C and <= 0x1F)
            {
                if (word.Length > 0) yield return word.ToString();
                word.Clear();
                if (punctuation) yield return rune.ToString();
            }
            else word.Append(rune.ToString());
        }
        if (word.Length > 0) yield return word.ToString();
    }

    /// <summary>The greedy longest-match split of one word, appended to <paramref name="output"/>; longer words are [UNK].</summary>
    private void WordPieces(string word, List<string> output, int maxCharacters)
    {
        foreach (var piece in SplitWhitespace(word))
            output.AddRange(CodePoints(piece).Length > maxCharacters ? new List<string> { Unknown } : Pieces(piece) ?? new List<string> { Unknown });
    }

    /// <summary>A word's longest vocabulary entries from its start (## before all but the first), or null where a part is none.</summary>
    private List<string>? Pieces(string word)
    {
        var chars = CodePoints(word);
        string Piece(int start, int end) => (start > 0 ? "##" : "") + Join(chars, start, end);
        var pieces = new List<string>();
        for (int start = 0; start < chars.Length;)
        {
            int end = chars.Length;
            while (end > start && !_ids.ContainsKey(Piece(start, end))) end--;
            if (end == start) return null;
            pieces.Add(Piece(start, end));
            start = end;
        }
        return pieces;
    }

    /// <summary>
    /// The basic tokenizer: <paramref name="keepSpecial"/> keeps the special tokens ([UNK], [CLS] ...) as they are, as
    /// the converter does; Accuracy Checker's answer extraction runs it without.
    /// </summary>
    public static List<string> Basic(string text, bool lowerCase, bool keepSpecial = false)
    {
        var cleaned = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.Value == 0 || rune.Value == 0xFFFD || IsControl(rune)) continue;
            if (IsWhitespace(rune)) cleaned.Append(' ');
            else if (IsChineseCharacter(rune.Value)) cleaned.Append(' ').Append(rune.ToString()).Append(' ');
            else cleaned.Append(rune.ToString());
        }
        var output = new List<string>();
        foreach (var raw in SplitWhitespace(cleaned.ToString()))
        {
            bool special = keepSpecial && Array.IndexOf(Special, raw) >= 0;
            string token = lowerCase && !special ? StripAccents(PythonCase.Lower(raw)) : raw;
            if (special)
            {
                output.Add(token);
                continue;
            }
            var word = new StringBuilder();
            foreach (var rune in token.EnumerateRunes())
            {
                if (IsPunctuation(rune))
                {
                    if (word.Length > 0) output.Add(word.ToString());
                    word.Clear();
                    output.Add(rune.ToString());
                }
                else
                {
                    word.Append(rune.ToString());
                }
            }
            if (word.Length > 0) output.Add(word.ToString());
        }
        // Joined and split again, as the converter does: accents stripped away can leave whitespace behind.
        return output.SelectMany(SplitWhitespace).ToList();
    }

    /// <summary>Python's str.split(): runs of whitespace separate, none at either end.</summary>
    public static IEnumerable<string> SplitWhitespace(string text) =>
        text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    private static string StripAccents(string text)
    {
        var decomposed = text.Normalize(NormalizationForm.FormD);
        var kept = new StringBuilder(decomposed.Length);
        foreach (var rune in decomposed.EnumerateRunes())
            if (Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark) kept.Append(rune.ToString());
        return kept.ToString();
    }

    /// <summary>Accuracy Checker's _is_whitespace: space, tab, line feed, carriage return and the space separators (Zs).</summary>
    public static bool IsWhitespace(Rune c) =>
        c.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(c) == UnicodeCategory.SpaceSeparator;

    private static bool IsControl(Rune c) =>
        c.Value is not ('\t' or '\n' or '\r') && Rune.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;

    private static bool IsPunctuation(Rune c)
    {
        int cp = c.Value;
        if (cp is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126) return true;
        return Rune.GetUnicodeCategory(c) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
            or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    private static bool IsChineseCharacter(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;

    private static string[] CodePoints(string text) => text.EnumerateRunes().Select(r => r.ToString()).ToArray();

    private static string Join(string[] chars, int start, int end) => string.Concat(chars.AsSpan(start, end - start).ToArray());
}
