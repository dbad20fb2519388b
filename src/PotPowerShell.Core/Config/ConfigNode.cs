using System.Globalization;
using System.Numerics;

namespace PotPowerShell.Core.Config;

/// <summary>What a scalar in a config file is, after YAML/JSON typing rules.</summary>
public enum ScalarKind
{
    Null,
    Boolean,
    Integer,
    Float,
    String,
}

/// <summary>
/// A format-neutral config tree: what the JSON and YAML readers produce and what validation and binding read.
/// Equality is structural (kind and canonical text of scalars, keys in order); source line numbers do not take part.
/// </summary>
public abstract class ConfigNode : IEquatable<ConfigNode>
{
    private protected ConfigNode(int line) => Line = line;

    /// <summary>1-based line in the source file; 0 when the node was built in code.</summary>
    public int Line { get; }

    public abstract bool Equals(ConfigNode? other);

    public override bool Equals(object? obj) => obj is ConfigNode n && Equals(n);

    public abstract override int GetHashCode();

    /// <summary>Short description for messages: the scalar's text, or "a map"/"a list".</summary>
    public abstract string Describe();
}

/// <summary>
/// A scalar value. <see cref="Kind"/> and <see cref="Text"/> are what POT's typing rules make of it (<see cref="Text"/>
/// is canonical: integers in decimal, floats round-trippable, booleans lower case); <see cref="Written"/> and
/// <see cref="Quoted"/> keep it as the file wrote it, so a reader that wants text gets the exact text:
/// <c>alphabet: 0123456789</c> is the integer 123456789 to POT's rules and the text "0123456789" as written.
/// </summary>
public sealed class ConfigScalar : ConfigNode
{
    /// <param name="written">The text as the file wrote it (after unquoting); the canonical text when null.</param>
    /// <param name="quoted">Written in quotes (YAML quotes or block scalars, JSON strings); when null, true for strings.</param>
    public ConfigScalar(ScalarKind kind, string text, int line = 0, string? written = null, bool? quoted = null) : base(line)
    {
        Kind = kind;
        Text = Canonical(kind, text);
        Written = written ?? Text;
        Quoted = quoted ?? kind == ScalarKind.String;
    }

    public static ConfigScalar Null(int line = 0) => new(ScalarKind.Null, "null", line);

    public static ConfigScalar From(string value, int line = 0) => new(ScalarKind.String, value, line);

    public static ConfigScalar From(bool value, int line = 0) => new(ScalarKind.Boolean, value ? "true" : "false", line);

    public static ConfigScalar From(long value, int line = 0) => new(ScalarKind.Integer, value.ToString(CultureInfo.InvariantCulture), line);

    public static ConfigScalar From(double value, int line = 0) => new(ScalarKind.Float, value.ToString("R", CultureInfo.InvariantCulture), line);

    public ScalarKind Kind { get; }

    public string Text { get; }

    /// <summary>The text as written in the file (quotes removed, escapes resolved); equal to <see cref="Text"/> for values built in code.</summary>
    public string Written { get; }

    /// <summary>True when the file wrote the value in quotes (or as a YAML block scalar, or a JSON string).</summary>
    public bool Quoted { get; }

    public bool IsNull => Kind == ScalarKind.Null;

    public bool IsNumber => Kind is ScalarKind.Integer or ScalarKind.Float;

    /// <summary>The value as a double (integers and floats).</summary>
    public double AsDouble() => Kind switch
    {
        ScalarKind.Float => ParseFloat(Text),
        ScalarKind.Integer => (double)BigInteger.Parse(Text, CultureInfo.InvariantCulture),
        _ => throw new InvalidOperationException($"'{Text}' is not a number."),
    };

    public override bool Equals(ConfigNode? other) => other is ConfigScalar s && s.Kind == Kind && s.Text == Text;

    public override int GetHashCode() => HashCode.Combine(Kind, Text);

    public override string Describe() => Kind switch
    {
        ScalarKind.String => "\"" + Text + "\"",
        _ => Text,
    };

    public override string ToString() => Text;

    internal static double ParseFloat(string text) => text switch
    {
        ".inf" or "+.inf" => double.PositiveInfinity,
        "-.inf" => double.NegativeInfinity,
        ".nan" => double.NaN,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    private static string Canonical(ScalarKind kind, string text) => kind switch
    {
        ScalarKind.Null => "null",
        ScalarKind.Boolean => text.ToLowerInvariant(),
        ScalarKind.Integer => BigInteger.Parse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture),
        ScalarKind.Float => FormatFloat(ParseFloat(text)),
        _ => text,
    };

    private static string FormatFloat(double d) =>
        double.IsPositiveInfinity(d) ? ".inf" : double.IsNegativeInfinity(d) ? "-.inf" : double.IsNaN(d) ? ".nan"
        : d.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>A mapping with keys in file order (order is kept so that export and messages follow the source).</summary>
public sealed class ConfigMap : ConfigNode
{
    private readonly List<KeyValuePair<string, ConfigNode>> _entries = new();
    // Lookup by key in constant time: a file with many keys reads in linear time.
    private readonly Dictionary<string, ConfigNode> _index = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _keyLines = new(StringComparer.Ordinal);

    public ConfigMap(int line = 0) : base(line) { }

    public IReadOnlyList<KeyValuePair<string, ConfigNode>> Entries => _entries;

    public IEnumerable<string> Keys => _entries.Select(e => e.Key);

    public int Count => _entries.Count;

    public ConfigNode? this[string key] => _index.GetValueOrDefault(key);

    public bool ContainsKey(string key) => _index.ContainsKey(key);

    /// <summary>Adds an entry; returns false (and keeps the first value) when the key is already there.</summary>
    /// <param name="keyLine">1-based line of the key in the file (a map value starts on a later line); 0 when unknown.</param>
    public bool Add(string key, ConfigNode value, int keyLine = 0)
    {
        if (!_index.TryAdd(key, value)) return false;
        _entries.Add(new(key, value));
        if (keyLine > 0) _keyLines[key] = keyLine;
        return true;
    }

    /// <summary>The line of the key (the line of its value when the key's own is unknown; 0 for a missing key).</summary>
    public int KeyLine(string key) => _keyLines.TryGetValue(key, out int line) ? line : this[key]?.Line ?? 0;

    public override bool Equals(ConfigNode? other) =>
        other is ConfigMap m && m._entries.Count == _entries.Count &&
        _entries.Zip(m._entries).All(p => p.First.Key == p.Second.Key && p.First.Value.Equals(p.Second.Value));

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var e in _entries) { h.Add(e.Key); h.Add(e.Value); }
        return h.ToHashCode();
    }

    public override string Describe() => "a map";

    public override string ToString() => "{" + string.Join(", ", _entries.Select(e => e.Key + ": " + e.Value)) + "}";
}

/// <summary>A sequence.</summary>
public sealed class ConfigList : ConfigNode
{
    private readonly List<ConfigNode> _items = new();

    public ConfigList(int line = 0) : base(line) { }

    public IReadOnlyList<ConfigNode> Items => _items;

    public int Count => _items.Count;

    public void Add(ConfigNode item) => _items.Add(item);

    public override bool Equals(ConfigNode? other) =>
        other is ConfigList l && l._items.Count == _items.Count && _items.Zip(l._items).All(p => p.First.Equals(p.Second));

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var i in _items) h.Add(i);
        return h.ToHashCode();
    }

    public override string Describe() => "a list";

    public override string ToString() => "[" + string.Join(", ", _items) + "]";
}
