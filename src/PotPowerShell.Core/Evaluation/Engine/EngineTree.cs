using System.Globalization;
using PotPowerShell.Core.Config;
using PathKind = PotPowerShell.Core.Config.PotConfigBinder.PathKind;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// The tree an engine is read from: the config loader's <see cref="ConfigNode"/>s (<see cref="ConfigTree"/>,
/// <see cref="DocumentKind.Engine"/>), read by <see cref="MapReader"/> as the engine reads them: every scalar is the
/// text it was written with (a plain null, ~ or empty value is null), so <c>alphabet: 0123456789</c> stays
/// "0123456789" and <c>label: yes</c> stays "yes"; each engine key turns text into the number or boolean it needs.
/// Trees the module builds itself (a simplified engine, a data path, a translated Accuracy Checker file) are
/// <see cref="ConfigMap"/>s too, built with <see cref="Text"/> and <see cref="Map"/>.
/// </summary>
internal static class EngineTree
{
    /// <summary>
    /// Reads an engine file through the one config loader: YAML (JSON for a .json file) with the limits, syntax rules
    /// and wording of POT configs, errors named EngineInvalid, EngineTooDeep, EngineTooLarge, EngineTooManyKeys.
    /// </summary>
    public static ConfigMap Read(string full)
    {
        var format = ConfigFormats.FromExtension(full) == ConfigFormat.Json ? ConfigFormat.Json : ConfigFormat.Yaml;
        var loaded = new List<ConfigProblem>();
        var root = ConfigTree.Parse(File.ReadAllText(full), format, full, loaded, DocumentKind.Engine);
        var problems = new EngineProblems(full, "");
        foreach (var p in loaded) problems.Add(p);
        problems.ThrowIfAny();
        if (root is not ConfigMap map)
            throw new PotException("EngineInvalid", PotErrorCategory.InvalidData,
                $"The engine '{full}' must be a mapping (keys such as dataset:, adapter:, metrics:) at its top level, not {root.Describe()}.", full);
        return map;
    }

    /// <summary>The engine's reading of a scalar: its written text; null for a null, a map or a list.</summary>
    public static string? TextOf(ConfigNode? node) => node is ConfigScalar { IsNull: false } s ? s.Written : null;

    /// <summary>True for a value that is there: anything but a missing key or a null.</summary>
    public static bool IsValue(ConfigNode? node) => node is not (null or ConfigScalar { IsNull: true });

    /// <summary>A text scalar built in code (the engine reads it as written, like any other).</summary>
    public static ConfigScalar Text(string text, int line = 0) => ConfigScalar.From(text, line);

    /// <summary>A number built in code, written as its shortest round-trip text.</summary>
    public static ConfigScalar Number(double value, int line = 0) => ConfigScalar.From(value, line);

    /// <summary>A whole number built in code.</summary>
    public static ConfigScalar Number(long value, int line = 0) => ConfigScalar.From(value, line);

    /// <summary>A mapping built in code from key/value pairs, in order.</summary>
    public static ConfigMap Map(int line, params (string Key, ConfigNode Value)[] entries)
    {
        var map = new ConfigMap(line);
        foreach (var (key, value) in entries) map.Add(key, value);
        return map;
    }

    /// <summary>A list built in code.</summary>
    public static ConfigList List(IEnumerable<ConfigNode> items, int line = 0)
    {
        var list = new ConfigList(line);
        foreach (var item in items) list.Add(item);
        return list;
    }

    /// <summary>How a value reads in a message.</summary>
    public static string Show(ConfigNode? value) => value switch
    {
        null or ConfigScalar { IsNull: true } => "null",
        ConfigScalar s => $"'{s.Written}'",
        ConfigMap => "a mapping",
        _ => "a list",
    };
}

/// <summary>
/// Typed reading of one mapping of the tree: each getter reads the written text of a scalar, checks the type and
/// range, and reports problems with the key path and line instead of throwing. Keys that the section does not know
/// are reported with the did-you-mean of every reader (<see cref="EditDistance.UnknownKey"/>).
/// </summary>
internal sealed class MapReader
{
    private readonly ConfigMap _map;
    private readonly EngineProblems _problems;

    public MapReader(ConfigMap map, string path, EngineProblems problems, IReadOnlyCollection<string> allowedKeys)
    {
        _map = map;
        Path = path;
        _problems = problems;
        foreach (var key in map.Keys.OrderBy(k => k, StringComparer.Ordinal))
        {
            if (allowedKeys.Contains(key)) continue;
            problems.Add(EngineProblems.Join(path, key), EditDistance.UnknownKey(key, problems.PathOf(path), allowedKeys), map.KeyLine(key));
        }
    }

    public string Path { get; }

    public ConfigMap Node => _map;

    public EngineProblems Problems => _problems;

    public string KeyPath(string key) => EngineProblems.Join(Path, key);

    public bool Has(string key) => EngineTree.IsValue(_map[key]);

    /// <summary>The node of a key; null when the key is missing or null.</summary>
    public ConfigNode? Raw(string key) => EngineTree.IsValue(_map[key]) ? _map[key] : null;

    /// <summary>A problem of a key, at the line of the key (0 when it is missing).</summary>
    public void Problem(string key, string message) => _problems.Add(KeyPath(key), message, _map.KeyLine(key));

    public string? String(string key, bool required = false, string? hint = null)
    {
        var v = Raw(key);
        if (v == null)
        {
            if (required) Problem(key, $"is required.{(hint != null ? " " + hint : "")}");
            return null;
        }
        if (EngineTree.TextOf(v) is { } s) return s;
        Problem(key, $"must be text, not {EngineTree.Show(v)}.");
        return null;
    }

    public int? Int(string key, int min, int max, bool required = false)
    {
        var v = Raw(key);
        if (v == null)
        {
            if (required) Problem(key, "is required.");
            return null;
        }
        long? n = EngineTree.TextOf(v) is { } s && long.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long p) ? p : null;
        if (n == null)
        {
            Problem(key, $"must be a whole number, not {EngineTree.Show(v)}.");
            return null;
        }
        if (n < min || n > max)
        {
            Problem(key, $"{n} is out of range: use a value from {min} to {(max == int.MaxValue ? "any larger number" : max.ToString(CultureInfo.InvariantCulture))}.");
            return null;
        }
        return (int)n;
    }

    public double? Double(string key, double min = double.MinValue, double max = double.MaxValue, bool exclusiveMin = false)
    {
        var v = Raw(key);
        if (v == null) return null;
        double? d = ToDouble(v);
        if (d == null || double.IsNaN(d.Value))
        {
            Problem(key, $"must be a number, not {EngineTree.Show(v)}.");
            return null;
        }
        if (d < min || d > max || (exclusiveMin && d == min))
        {
            Problem(key, $"{d.Value.ToString(CultureInfo.InvariantCulture)} is out of range: it must be {(exclusiveMin ? "greater than" : "at least")} {min.ToString(CultureInfo.InvariantCulture)}{(max < double.MaxValue ? $" and at most {max.ToString(CultureInfo.InvariantCulture)}" : "")}.");
            return null;
        }
        return d;
    }

    /// <summary>A scalar's written text read as a number; null for anything else.</summary>
    public static double? ToDouble(ConfigNode? v) =>
        EngineTree.TextOf(v) is { } s && double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double p) ? p : null;

    public bool? Bool(string key)
    {
        var v = Raw(key);
        if (v == null) return null;
        switch (EngineTree.TextOf(v)?.Trim())
        {
            case { } s when s.Equals("true", StringComparison.OrdinalIgnoreCase) || s.Equals("yes", StringComparison.OrdinalIgnoreCase): return true;
            case { } s when s.Equals("false", StringComparison.OrdinalIgnoreCase) || s.Equals("no", StringComparison.OrdinalIgnoreCase): return false;
            default:
                Problem(key, $"must be true or false, not {EngineTree.Show(v)}.");
                return null;
        }
    }

    /// <summary>One of fixed words (case-insensitive); reports the allowed words and a did-you-mean.</summary>
    public T? Choice<T>(string key, IReadOnlyDictionary<string, T> words, bool required = false) where T : struct
    {
        string? s = String(key, required);
        if (s == null) return null;
        foreach (var (word, value) in words)
            if (word.Equals(s.Trim(), StringComparison.OrdinalIgnoreCase)) return value;
        Problem(key, $"'{s}' is not one of: {string.Join(", ", words.Keys)}.{EditDistance.Hint(s, words.Keys)}");
        return null;
    }

    public MapReader? Map(string key, IReadOnlyCollection<string> allowedKeys)
    {
        var v = Raw(key);
        if (v == null) return null;
        if (v is not ConfigMap m)
        {
            Problem(key, $"must be a mapping of keys, not {EngineTree.Show(v)}.");
            return null;
        }
        return new MapReader(m, KeyPath(key), _problems, allowedKeys);
    }

    public ConfigList? List(string key)
    {
        var v = Raw(key);
        if (v == null) return null;
        if (v is not ConfigList l) Problem(key, $"must be a list, not {EngineTree.Show(v)}.");
        return v as ConfigList;
    }

    /// <summary>A list of numbers, or one number (returned as a one-element array).</summary>
    public float[]? Numbers(string key)
    {
        var v = Raw(key);
        if (v == null) return null;
        if (v is ConfigList list)
        {
            var result = new float[list.Count];
            for (int i = 0; i < list.Count; i++)
            {
                double? d = ToDouble(list.Items[i]);
                if (d == null)
                {
                    _problems.Add(EngineProblems.Index(KeyPath(key), i), $"must be a number, not {EngineTree.Show(list.Items[i])}.", list.Items[i].Line);
                    return null;
                }
                result[i] = (float)d.Value;
            }
            return result;
        }
        double? one = ToDouble(v);
        if (one == null)
        {
            Problem(key, $"must be a number or a list of numbers, not {EngineTree.Show(v)}.");
            return null;
        }
        return new[] { (float)one.Value };
    }

    /// <summary>
    /// Numbers written as a list, or in one text as Accuracy Checker writes them ('10,13, 16,30', '(123.675, 116.28,
    /// 103.53)'); null when there are none or any is not a number.
    /// </summary>
    public static double[]? NumberList(ConfigNode? raw)
    {
        switch (raw)
        {
            case ConfigScalar { IsNull: false } s:
                var parts = s.Written.Trim().Replace("(", "", StringComparison.Ordinal).Replace(")", "", StringComparison.Ordinal)
                    .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var parsed = new double[parts.Length];
                for (int i = 0; i < parts.Length; i++)
                    if (!double.TryParse(parts[i], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out parsed[i])) return null;
                return parsed.Length == 0 ? null : parsed;
            case ConfigList list:
                var numbers = list.Items.Select(ToDouble).ToList();
                return numbers.Count == 0 || numbers.Any(n => n == null) ? null : numbers.Select(n => n!.Value).ToArray();
            default:
                return null;
        }
    }

    /// <summary>A path (the one path rule of config and engine files, <see cref="PotConfigBinder.ResolvePath"/>) that must exist as <paramref name="kind"/> says.</summary>
    public string? ExistingPath(string key, string baseFolder, PathKind kind, bool required = false, string? hint = null)
    {
        string? raw = String(key, required, hint);
        if (raw == null) return null;
        if (raw.Trim().Length == 0)
        {
            Problem(key, "is empty: give a path.");
            return null;
        }
        string? full = PotConfigBinder.ResolvePath(raw.Trim(), baseFolder, kind, out string? problem);
        if (problem != null) Problem(key, problem);
        return full;
    }
}
