using System.Globalization;
using System.Text.RegularExpressions;
using Onnx;
using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// Resolves POT's ignored scope against a model: node names (exact), regular expressions (written /re/, or any entry
/// with regex characters that is not an exact name; matched against the whole name) and op types with optional
/// attribute values. A name or pattern that matches nothing is an error that lists the closest node names.
/// </summary>
public static class IgnoredScope
{
    private static readonly char[] RegexCharacters = { '*', '+', '?', '[', ']', '(', ')', '|', '^', '$', '{', '}', '\\' };

    /// <summary>The resolved scope: matched node names (sorted) and notes for op types that matched nothing.</summary>
    public sealed record Resolution(IReadOnlySet<string> Nodes, IReadOnlyList<string> Warnings);

    /// <param name="graph">The graph whose node names are matched (the prepared model).</param>
    /// <param name="knownNames">Further names that are valid but may no longer exist (e.g. BatchNormalization nodes folded into a Conv).</param>
    public static Resolution Resolve(GraphProto graph, IReadOnlyList<string> names, IReadOnlyList<IgnoredOperation> operations,
        IEnumerable<string>? knownNames = null)
    {
        var nodes = graph.Node.Where(n => n.Name.Length > 0).ToList();
        var nodeNames = nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var known = new HashSet<string>(knownNames ?? Array.Empty<string>(), StringComparer.Ordinal);
        var matched = new SortedSet<string>(StringComparer.Ordinal);
        var warnings = new List<string>();

        foreach (var entry in names.Where(n => !string.IsNullOrWhiteSpace(n)))
        {
            if (nodeNames.Contains(entry)) { matched.Add(entry); continue; }
            if (known.Contains(entry)) continue;
            var regex = AsRegex(entry);
            var hits = regex == null ? new List<string>() : Matches(regex, entry, nodeNames);
            if (hits.Count == 0) throw NotFound(entry, nodeNames, regex != null);
            matched.UnionWith(hits);
        }

        foreach (var op in operations)
        {
            var ofType = nodes.Where(n => string.Equals(n.OpType, op.Type, StringComparison.OrdinalIgnoreCase)).ToList();
            var hits = ofType.Where(n => AttributesMatch(n, op.Attributes)).Select(n => n.Name).ToList();
            if (hits.Count == 0)
                warnings.Add(ofType.Count == 0
                    ? $"Ignored operation type '{op.Type}' does not occur in the model."
                    : $"No '{op.Type}' node has the attributes {Describe(op.Attributes)}; {ofType.Count} node(s) of that type stay quantized.");
            matched.UnionWith(hits);
        }
        return new Resolution(matched, warnings);
    }

    /// <summary>The pattern of an entry written /re/ or holding regex characters; null for a plain name.</summary>
    private static Regex? AsRegex(string entry)
    {
        string? pattern = entry.Length > 2 && entry[0] == '/' && entry[^1] == '/' ? entry[1..^1]
            : entry.IndexOfAny(RegexCharacters) >= 0 || entry.Contains(".*", StringComparison.Ordinal) ? entry
            : null;
        if (pattern == null) return null;
        try
        {
            return new Regex("^(?:" + pattern + ")$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            throw new PotException("IgnoredScopeInvalidPattern", PotErrorCategory.InvalidArgument,
                $"The ignored-scope entry '{entry}' is not a valid regular expression: {e.Message} Fix the pattern, or escape its special characters with \\ to match a node name literally.", entry, e);
        }
    }

    private static List<string> Matches(Regex regex, string entry, IEnumerable<string> names)
    {
        try
        {
            return names.Where(n => regex.IsMatch(n)).ToList();
        }
        catch (RegexMatchTimeoutException e)
        {
            throw new PotException("IgnoredScopeInvalidPattern", PotErrorCategory.InvalidArgument,
                $"The ignored-scope pattern '{entry}' took more than {regex.MatchTimeout.TotalSeconds:0} s on node '{e.Input}' (it backtracks too much). Simplify the pattern, e.g. without nested repetition like (a+)+.", entry, e);
        }
    }

    private static PotException NotFound(string entry, IReadOnlyCollection<string> nodeNames, bool isPattern)
    {
        var closest = nodeNames
            .Select(n => (Name: n, Distance: EditDistance(entry, n)))
            .OrderBy(x => x.Distance).ThenBy(x => x.Name, StringComparer.Ordinal)
            .Take(5).Select(x => "'" + x.Name + "'").ToList();
        string what = isPattern ? "pattern" : "node name";
        string hint = closest.Count == 0 ? "The model has no named nodes." : "Closest node names: " + string.Join(", ", closest) + ".";
        return new PotException("IgnoredScopeNotFound", PotErrorCategory.ObjectNotFound,
            $"The ignored-scope {what} '{entry}' matches no node of the model. {hint} Give exact node names, or a regular expression that matches some.", entry);
    }

    /// <summary>Levenshtein distance, case-sensitive (see <see cref="Core.EditDistance"/>).</summary>
    public static int EditDistance(string a, string b) => Core.EditDistance.Between(a, b);

    private static bool AttributesMatch(NodeProto node, IReadOnlyDictionary<string, string>? wanted)
    {
        if (wanted == null || wanted.Count == 0) return true;
        foreach (var (name, value) in wanted)
        {
            var attribute = node.Attribute.FirstOrDefault(a => a.Name == name);
            if (attribute == null || !ValueMatches(attribute, value)) return false;
        }
        return true;
    }

    /// <summary>Compares an attribute with a config value: numbers numerically, lists element-wise ("[1, 1]", "1,1" or "1 1").</summary>
    private static bool ValueMatches(AttributeProto a, string text)
    {
        switch (a.Type)
        {
            case AttributeProto.Types.AttributeType.Int:
                return Numbers(text) is { Length: 1 } i && i[0] == a.I;
            case AttributeProto.Types.AttributeType.Float:
                return Numbers(text) is { Length: 1 } f && Math.Abs(f[0] - a.F) <= 1e-6 * Math.Max(1, Math.Abs(a.F));
            case AttributeProto.Types.AttributeType.String:
                return string.Equals(a.S.ToStringUtf8(), text.Trim().Trim('"', '\''), StringComparison.Ordinal);
            case AttributeProto.Types.AttributeType.Ints:
                return Numbers(text) is { } ints && ints.SequenceEqual(a.Ints.Select(v => (double)v));
            case AttributeProto.Types.AttributeType.Floats:
                return Numbers(text) is { } floats && floats.Length == a.Floats.Count
                    && floats.Zip(a.Floats).All(p => Math.Abs(p.First - p.Second) <= 1e-6 * Math.Max(1, Math.Abs(p.Second)));
            default:
                return false;
        }
    }

    private static double[]? Numbers(string text)
    {
        var parts = text.Trim().Trim('[', ']', '(', ')').Split(new[] { ',', ' ' }, StringSplitOptions.RemoveEmptyEntries);
        var result = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out result[i])) return null;
        return result;
    }

    private static string Describe(IReadOnlyDictionary<string, string>? attributes) =>
        attributes == null ? "{}" : "{" + string.Join(", ", attributes.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}")) + "}";
}
