using System.Globalization;
using System.Numerics;

namespace PotPowerShell.Core.Config;

/// <summary>Collects problems and warnings while one file is bound; knows the file's folder for paths.</summary>
internal sealed class BindContext(string path)
{
    public string Path { get; } = path;
    public string BaseDirectory { get; } = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
    public List<ConfigProblem> Problems { get; } = new();
    public List<string> Warnings { get; } = new();

    public void Problem(string keyPath, ConfigNode? node, string message) =>
        Problems.Add(new ConfigProblem(keyPath, node?.Describe(), message, node?.Line ?? 0));

    public void Warn(string keyPath, string message) => Warnings.Add($"{keyPath}: {message}");
}

/// <summary>
/// Typed, validating access to one map of the tree. Every getter records the key as known, returns null when the key
/// is missing or null (null always means "the default") and records a problem (returning null) when the value has the
/// wrong type or range. <see cref="RejectUnknownKeys"/> then reports every key nobody asked for, with a did-you-mean.
/// </summary>
internal sealed class ConfigSection
{
    private readonly BindContext _context;
    private readonly ConfigMap _map;
    private readonly List<string> _known = new();
    private readonly Dictionary<string, string> _explained = new();

    public ConfigSection(BindContext context, ConfigMap map, string keyPath)
    {
        _context = context;
        _map = map;
        KeyPath = keyPath;
    }

    public string KeyPath { get; }

    public ConfigMap Map => _map;

    public BindContext Context => _context;

    public string PathOf(string key) => ConfigKeyPath.Child(KeyPath, key);

    /// <summary>The raw node (null when missing); marks the key as known.</summary>
    public ConfigNode? Raw(string key)
    {
        if (!_known.Contains(key)) _known.Add(key);
        return _map[key];
    }

    /// <summary>True when the key is present with a non-null value.</summary>
    public bool Has(string key) => Raw(key) is { } n && !(n is ConfigScalar { IsNull: true });

    public void Problem(string key, string message) => _context.Problem(PathOf(key), _map[key], message);

    public void Warn(string key, string message) => _context.Warn(PathOf(key), message);

    /// <summary>A key that exists elsewhere (another algorithm, another section): unknown here, with a specific hint.</summary>
    public void Explain(string key, string message) => _explained[key] = message;

    private ConfigNode? Value(string key, bool required, string what)
    {
        var node = Raw(key);
        if (node is null or ConfigScalar { IsNull: true })
        {
            if (required) _context.Problems.Add(new ConfigProblem(PathOf(key), node?.Describe(), $"is required: add {what}.", node?.Line ?? _map.Line));
            return null;
        }
        return node;
    }

    /// <summary>Text: a scalar exactly as written (<c>0123</c> stays "0123", <c>1e3</c> stays "1e3").</summary>
    public string? String(string key, bool required = false, string what = "a text value")
    {
        var node = Value(key, required, what);
        if (node is null) return null;
        if (node is ConfigScalar s && s.Kind != ScalarKind.Null)
        {
            if (s.Kind == ScalarKind.String && s.Text.Trim().Length == 0)
            {
                _context.Problem(PathOf(key), node, $"is empty: write {what}.");
                return null;
            }
            return s.Written;
        }
        _context.Problem(PathOf(key), node, $"must be {what}, not {node.Describe()}.");
        return null;
    }

    public bool? Bool(string key)
    {
        var node = Value(key, false, "");
        if (node is null) return null;
        if (node is ConfigScalar { Kind: ScalarKind.Boolean } s) return s.Text == "true";
        string hint = node is ConfigScalar { Kind: ScalarKind.String } str
            ? $" Write true or false without quotes{(str.Text.ToLowerInvariant() is "yes" or "no" or "on" or "off" ? " ('yes'/'no' are text in YAML 1.2)" : "")}."
            : " Write true or false.";
        _context.Problem(PathOf(key), node, "must be true or false." + hint);
        return null;
    }

    /// <summary>A whole number in [min, max].</summary>
    public int? Int(string key, long min = int.MinValue, long max = int.MaxValue, bool required = false)
    {
        var node = Value(key, required, "a whole number");
        if (node is null) return null;
        if (node is ConfigScalar { Kind: ScalarKind.Integer } s)
        {
            var v = BigInteger.Parse(s.Text, CultureInfo.InvariantCulture);
            if (v < min || v > max)
            {
                _context.Problem(PathOf(key), node, RangeText(min, max));
                return null;
            }
            return (int)v;
        }
        _context.Problem(PathOf(key), node, "must be a whole number" + QuoteHint(node) + ".");
        return null;
    }

    /// <summary>A number accepted by <paramref name="valid"/>; <paramref name="rule"/> says which (e.g. "must be >= 0").</summary>
    public double? Double(string key, Func<double, bool> valid, string rule)
    {
        var node = Value(key, false, "a number");
        if (node is null) return null;
        if (node is ConfigScalar { IsNumber: true } s)
        {
            double v = s.AsDouble();
            if (double.IsNaN(v) || double.IsInfinity(v) || !valid(v))
            {
                _context.Problem(PathOf(key), node, rule + ".");
                return null;
            }
            return v;
        }
        _context.Problem(PathOf(key), node, "must be a number" + QuoteHint(node) + ".");
        return null;
    }

    /// <summary>One of <paramref name="names"/> (matched without regard to case); other spellings get a did-you-mean.</summary>
    public T? Enum<T>(string key, IReadOnlyList<(string Name, T Value)> names, IReadOnlyDictionary<string, string>? refused = null) where T : struct
    {
        var node = Value(key, false, "");
        if (node is null) return null;
        string choices = string.Join(", ", names.Select(n => n.Name));
        if (node is not ConfigScalar { Kind: ScalarKind.String } s)
        {
            _context.Problem(PathOf(key), node, $"must be one of {choices}.");
            return null;
        }
        foreach (var (name, value) in names)
            if (string.Equals(name, s.Text, StringComparison.OrdinalIgnoreCase)) return value;
        if (refused is not null)
            foreach (var r in refused)
                if (string.Equals(r.Key, s.Text, StringComparison.OrdinalIgnoreCase))
                {
                    _context.Problem(PathOf(key), node, r.Value);
                    return null;
                }
        _context.Problem(PathOf(key), node, $"is not one of {choices}.{EditDistance.Hint(s.Text, names.Select(n => n.Name))}");
        return null;
    }

    public ConfigSection? Section(string key, bool required = false, string what = "a section")
    {
        var node = Value(key, required, what);
        if (node is null) return null;
        if (node is ConfigMap m) return new ConfigSection(_context, m, PathOf(key));
        _context.Problem(PathOf(key), node, $"must be a map of keys and values ({what}), not {node.Describe()}.");
        return null;
    }

    public ConfigList? List(string key, bool required = false, string what = "a list")
    {
        var node = Value(key, required, what);
        if (node is null) return null;
        if (node is ConfigList l) return l;
        _context.Problem(PathOf(key), node, $"must be a list ({what}), not {node.Describe()}.");
        return null;
    }

    /// <summary>
    /// The maps of a list key, each as a section at its item's key path, in order; an item that is not a map is a
    /// problem ("must be a map like <paramref name="example"/>") and is skipped. Read lazily, item by item, so each
    /// item's problems follow the previous item's.
    /// </summary>
    public IEnumerable<ConfigSection> Sections(string key, string example)
    {
        if (List(key, what: $"entries like {example}") is not { } list) yield break;
        for (int i = 0; i < list.Count; i++)
        {
            string path = ConfigKeyPath.Item(PathOf(key), i);
            if (list.Items[i] is ConfigMap map) yield return new ConfigSection(_context, map, path);
            else _context.Problem(path, list.Items[i], $"must be a map like {example}.");
        }
    }

    /// <summary>Reports every key that no getter asked for: explained keys with their hint, others with a did-you-mean.</summary>
    public void RejectUnknownKeys()
    {
        foreach (var (key, node) in _map.Entries)
        {
            if (_known.Contains(key)) continue;
            if (_explained.TryGetValue(key, out var why))
            {
                _context.Problem(PathOf(key), node, why);
                continue;
            }
            _context.Problems.Add(new ConfigProblem(PathOf(key), null, EditDistance.UnknownKey(key, KeyPath, _known), node.Line));
        }
    }

    private static string RangeText(long min, long max) =>
        max == int.MaxValue ? $"must be at least {min}." : min == int.MinValue ? $"must be at most {max}." : $"must be between {min} and {max}.";

    private static string QuoteHint(ConfigNode node) =>
        node is ConfigScalar { Kind: ScalarKind.String, Quoted: true } s && double.TryParse(s.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            ? " (it is quoted: remove the quotes)"
            : "";
}
