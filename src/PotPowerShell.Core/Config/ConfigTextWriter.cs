using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace PotPowerShell.Core.Config;

/// <summary>Neutral tree -> JSON (indented, no escaping of / + and non-ASCII) or YAML (block style, strings quoted only when needed).</summary>
internal static class ConfigTextWriter
{
    private static readonly Regex JsonNumber = new(@"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant);

    public static string Write(ConfigNode root, ConfigFormat format) =>
        format == ConfigFormat.Json ? ToJson(root) : ToYaml(root);

    /// <summary>
    /// The numbers with leading zeros (0123), by key path: JSON writes them as their values, which loses digits a text
    /// key of an inline engine reads (hex, octal and a leading + are other spellings of the same value).
    /// </summary>
    public static IEnumerable<string> LeadingZeroNumbers(ConfigNode node, string keyPath) => node switch
    {
        ConfigMap map => map.Entries.SelectMany(e => LeadingZeroNumbers(e.Value, ConfigKeyPath.Child(keyPath, e.Key))),
        ConfigList list => list.Items.SelectMany((item, i) => LeadingZeroNumbers(item, ConfigKeyPath.Item(keyPath, i))),
        ConfigScalar { Kind: ScalarKind.Integer or ScalarKind.Float } s when s.Written.TrimStart('-', '+') is ['0', >= '0' and <= '9', ..] =>
            new[] { $"{keyPath}: {s.Written} -> {s.Text}" },
        _ => Array.Empty<string>(),
    };

    private static string ToJson(ConfigNode root)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            WriteJson(writer, root);
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void WriteJson(Utf8JsonWriter w, ConfigNode node)
    {
        switch (node)
        {
            case ConfigMap map:
                w.WriteStartObject();
                foreach (var (key, value) in map.Entries)
                {
                    w.WritePropertyName(key);
                    WriteJson(w, value);
                }
                w.WriteEndObject();
                break;
            case ConfigList list:
                w.WriteStartArray();
                foreach (var item in list.Items) WriteJson(w, item);
                w.WriteEndArray();
                break;
            case ConfigScalar s:
                switch (s.Kind)
                {
                    case ScalarKind.Null: w.WriteNullValue(); break;
                    case ScalarKind.Boolean: w.WriteBooleanValue(s.Text == "true"); break;
                    // A number keeps the text it was written with when that is a JSON number (1.50, 1e3: an inline
                    // engine reads the text), else its canonical text (0x10 is 16; JSON has no 0123: YAML keeps it).
                    // YAML's .inf/.nan can only be JSON text.
                    case ScalarKind.Integer or ScalarKind.Float when JsonNumber.IsMatch(s.Written): w.WriteRawValue(s.Written); break;
                    case ScalarKind.Integer or ScalarKind.Float when JsonNumber.IsMatch(s.Text): w.WriteRawValue(s.Text); break;
                    default: w.WriteStringValue(s.Text); break;
                }
                break;
        }
    }

    private static string ToYaml(ConfigNode root)
    {
        var text = new StringWriter { NewLine = "\n" };
        var emitter = new Emitter(text, new EmitterSettings(bestIndent: 2, bestWidth: int.MaxValue, isCanonical: false,
            maxSimpleKeyLength: 1024, skipAnchorName: false, indentSequences: false, newLine: "\n"));
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, isImplicit: true));
        WriteYaml(emitter, root);
        emitter.Emit(new DocumentEnd(isImplicit: true));
        emitter.Emit(new StreamEnd());
        return text.ToString();
    }

    private static void WriteYaml(IEmitter e, ConfigNode node)
    {
        switch (node)
        {
            case ConfigMap map:
                e.Emit(new MappingStart(AnchorName.Empty, TagName.Empty, true, map.Count == 0 ? MappingStyle.Flow : MappingStyle.Block));
                foreach (var (key, value) in map.Entries)
                {
                    e.Emit(StringScalar(key));
                    WriteYaml(e, value);
                }
                e.Emit(new MappingEnd());
                break;
            case ConfigList list:
                e.Emit(new SequenceStart(AnchorName.Empty, TagName.Empty, true, list.Count == 0 ? SequenceStyle.Flow : SequenceStyle.Block));
                foreach (var item in list.Items) WriteYaml(e, item);
                e.Emit(new SequenceEnd());
                break;
            case ConfigScalar { Kind: ScalarKind.String } s:
                e.Emit(StringScalar(s.Text));
                break;
            // A number written plain keeps its text (0123, 1e3, 0x10): read back, it types the same and reads as the same text.
            case ConfigScalar { Kind: ScalarKind.Integer or ScalarKind.Float, Quoted: false } s:
                e.Emit(new Scalar(AnchorName.Empty, TagName.Empty, s.Written, ScalarStyle.Plain, true, false));
                break;
            case ConfigScalar s:
                e.Emit(new Scalar(AnchorName.Empty, TagName.Empty, s.Text, ScalarStyle.Plain, true, false));
                break;
        }
    }

    /// <summary>Plain when YAML reads it back as the same text; double-quoted when it would turn into a number, bool or null.</summary>
    private static Scalar StringScalar(string text)
    {
        var probe = YamlConfigReader.TypeOfPlain(text);
        var style = probe == ScalarKind.String && text.Trim() == text && text.Length > 0 ? ScalarStyle.Any : ScalarStyle.DoubleQuoted;
        return new Scalar(AnchorName.Empty, TagName.Empty, text, style, true, true);
    }
}
