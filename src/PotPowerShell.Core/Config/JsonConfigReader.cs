using System.Text;
using System.Text.Json;

namespace PotPowerShell.Core.Config;

/// <summary>
/// Reads JSON into the neutral tree with System.Text.Json, skipping // and /* */ comments and accepting trailing
/// commas, as POT's own config files need. (Never YamlDotNet: it accepts JSON with comments without an error and
/// turns the comments into keys.) Duplicate keys are reported as problems; the first value is kept.
/// </summary>
internal static class JsonConfigReader
{
    private static readonly JsonReaderOptions Options = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        // One more than ours, so that TreeLimits.MaxDepth is reported with its own error id.
        MaxDepth = TreeLimits.MaxDepth + 1,
    };

    public static ConfigNode Read(string text, string path, List<ConfigProblem> problems, DocumentKind kind)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var lines = new LineIndex(bytes);
        var reader = new Utf8JsonReader(bytes, Options);
        try
        {
            if (!reader.Read())
                throw kind.SyntaxError(path, ConfigFormat.Json, "the file is empty", 1);
            long nodes = 0;
            var root = ReadValue(ref reader, lines, "", problems, path, kind, ref nodes);
            if (reader.Read())
                throw kind.SyntaxError(path, ConfigFormat.Json, $"unexpected content after the end of the document ({reader.TokenType})", lines.LineOf(reader.TokenStartIndex));
            return root;
        }
        catch (JsonException e)
        {
            // JsonException's line numbers are 0-based.
            int line = (int)(e.LineNumber ?? -1) + 1;
            string detail = e.Message;
            int cut = detail.IndexOf(" Path:", StringComparison.Ordinal);
            if (cut > 0) detail = detail[..cut];
            throw kind.SyntaxError(path, ConfigFormat.Json, detail, line, e);
        }
    }

    private static ConfigNode ReadValue(ref Utf8JsonReader reader, LineIndex lines, string keyPath, List<ConfigProblem> problems, string path, DocumentKind kind, ref long nodes)
    {
        int line = lines.LineOf(reader.TokenStartIndex);
        if (++nodes > TreeLimits.MaxNodes) throw TreeLimits.TooLarge(kind.ErrorPrefix, path, line);
        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth >= TreeLimits.MaxDepth)
            throw TreeLimits.TooDeep(kind.ErrorPrefix, path, line);
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var map = new ConfigMap(line);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    string key = reader.GetString()!;
                    int keyLine = lines.LineOf(reader.TokenStartIndex);
                    string childPath = ConfigKeyPath.Child(keyPath, key);
                    reader.Read();
                    var value = ReadValue(ref reader, lines, childPath, problems, path, kind, ref nodes);
                    if (map.Count >= TreeLimits.MaxKeys) throw TreeLimits.TooManyKeys(kind.ErrorPrefix, path, keyLine);
                    if (!map.Add(key, value, keyLine))
                        problems.Add(new ConfigProblem(childPath, null, "the key appears twice in the same section; keep one.", keyLine));
                }
                return map;
            case JsonTokenType.StartArray:
                var list = new ConfigList(line);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    list.Add(ReadValue(ref reader, lines, ConfigKeyPath.Item(keyPath, list.Count), problems, path, kind, ref nodes));
                return list;
            case JsonTokenType.String:
                return new ConfigScalar(ScalarKind.String, reader.GetString()!, line);
            case JsonTokenType.Number:
                string raw = Encoding.UTF8.GetString(reader.ValueSpan);
                bool isFloat = raw.IndexOfAny(new[] { '.', 'e', 'E' }) >= 0;
                return new ConfigScalar(isFloat ? ScalarKind.Float : ScalarKind.Integer, raw, line, written: raw);
            case JsonTokenType.True:
                return ConfigScalar.From(true, line);
            case JsonTokenType.False:
                return ConfigScalar.From(false, line);
            case JsonTokenType.Null:
                return ConfigScalar.Null(line);
            default:
                throw new JsonException($"unexpected token {reader.TokenType}", null, line - 1, null);
        }
    }

    /// <summary>Maps byte offsets to 1-based line numbers.</summary>
    private sealed class LineIndex
    {
        private readonly List<long> _starts = new() { 0 };

        public LineIndex(byte[] bytes)
        {
            for (int i = 0; i < bytes.Length; i++)
                if (bytes[i] == (byte)'\n') _starts.Add(i + 1);
        }

        public int LineOf(long offset)
        {
            int i = _starts.BinarySearch(offset);
            return (i >= 0 ? i : ~i - 1) + 1;
        }
    }
}
