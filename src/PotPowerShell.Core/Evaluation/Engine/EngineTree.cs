using System.Collections;
using System.Globalization;
using PotPowerShell.Core.Config;
using PathKind = PotPowerShell.Core.Config.PotConfigBinder.PathKind;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// The neutral tree an engine is read from: maps (IReadOnlyDictionary or IDictionary with string keys), lists (IList)
/// and scalars (text, bool, integer or floating-point numbers, null). Engine files and inline engines are read by the
/// config loader (<see cref="ConfigTree"/>, <see cref="DocumentKind.Engine"/>) and seen through <see cref="FromConfig"/>;
/// trees built in code (<see cref="EngineDefinition.FromTree"/>) come as they are.
/// </summary>
internal static class EngineTree
{
    /// <summary>
    /// Reads an engine file through the one config loader: YAML (JSON for a .json file) with the limits, syntax rules
    /// and wording of POT configs, errors named EngineInvalid, EngineTooDeep, EngineTooLarge, EngineTooManyKeys.
    /// </summary>
    public static (IReadOnlyDictionary<string, object?> Tree, Dictionary<string, int> Lines) Read(string full)
    {
        var format = ConfigFormats.FromExtension(full) == ConfigFormat.Json ? ConfigFormat.Json : ConfigFormat.Yaml;
        var loaded = new List<ConfigProblem>();
        var root = ConfigTree.Parse(File.ReadAllText(full), format, full, loaded, DocumentKind.Engine);
        var problems = new EngineProblems(full, "", null);
        foreach (var p in loaded) problems.Add(p);
        problems.ThrowIfAny();
        if (root is not ConfigMap map)
            throw new PotException("EngineInvalid", PotErrorCategory.InvalidData,
                $"The engine '{full}' must be a mapping (keys such as dataset:, adapter:, metrics:) at its top level, not {root.Describe()}.", full);
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        return (FromConfig(map, lines), lines);
    }

    /// <summary>
    /// An engine's reading of a config tree: every scalar is the text it was written with (a plain null, ~ or empty
    /// value is null), so <c>alphabet: 0123456789</c> stays "0123456789" and <c>label: yes</c> stays "yes"; each engine
    /// key turns text into the number or boolean it needs (<see cref="MapReader"/>). Records the line of every key path.
    /// </summary>
    public static IReadOnlyDictionary<string, object?> FromConfig(ConfigMap root, Dictionary<string, int> lines) =>
        (IReadOnlyDictionary<string, object?>)Convert(root, "", lines)!;

    private static object? Convert(ConfigNode node, string path, Dictionary<string, int> lines)
    {
        lines[path] = node.Line;
        switch (node)
        {
            case ConfigMap map:
                var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var (key, value) in map.Entries)
                {
                    string child = EngineProblems.Join(path, key);
                    dict[key] = Convert(value, child, lines);
                    lines[child] = map.KeyLine(key);
                }
                return dict;
            case ConfigList list:
                var items = new List<object?>(list.Count);
                for (int i = 0; i < list.Count; i++) items.Add(Convert(list.Items[i], EngineProblems.Index(path, i), lines));
                return items;
            default:
                var scalar = (ConfigScalar)node;
                return scalar.IsNull ? null : scalar.Written;
        }
    }

    public static bool IsMap(object? value) => value is IReadOnlyDictionary<string, object?> or IDictionary;

    public static IReadOnlyDictionary<string, object?>? AsMap(object? value) => value switch
    {
        IReadOnlyDictionary<string, object?> d => d,
        IDictionary d => d.Keys.Cast<object>().ToDictionary(k => k.ToString() ?? "", k => d[k], StringComparer.Ordinal),
        _ => null,
    };

    public static IReadOnlyList<object?>? AsList(object? value) => value switch
    {
        string => null,
        IReadOnlyList<object?> l => l,
        IList l => l.Cast<object?>().ToList(),
        _ => null,
    };

    /// <summary>How a value reads in a message.</summary>
    public static string Show(object? value) => value switch
    {
        null => "null",
        string s => $"'{s}'",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ when IsMap(value) => "a mapping",
        IList => "a list",
        _ => value.ToString() ?? "",
    };
}

/// <summary>
/// Typed reading of one mapping of the tree: each getter checks the type and range, and reports problems with the
/// key path instead of throwing. Keys that the section does not know are reported with a did-you-mean.
/// </summary>
internal sealed class MapReader
{
    private readonly IReadOnlyDictionary<string, object?> _map;
    private readonly EngineProblems _problems;

    public MapReader(IReadOnlyDictionary<string, object?> map, string path, EngineProblems problems, IReadOnlyCollection<string> allowedKeys)
    {
        _map = map;
        Path = path;
        _problems = problems;
        foreach (var key in map.Keys.OrderBy(k => k, StringComparer.Ordinal))
        {
            if (allowedKeys.Contains(key)) continue;
            problems.Add(EngineProblems.Join(path, key), $"unknown key.{EditDistance.Hint(key, allowedKeys)} Known keys here: {string.Join(", ", allowedKeys.OrderBy(k => k, StringComparer.Ordinal))}.");
        }
    }

    public string Path { get; }

    public EngineProblems Problems => _problems;

    public string KeyPath(string key) => EngineProblems.Join(Path, key);

    public bool Has(string key) => _map.TryGetValue(key, out var v) && v != null;

    public object? Raw(string key) => _map.TryGetValue(key, out var v) ? v : null;

    public void Problem(string key, string message) => _problems.Add(KeyPath(key), message);

    public string? String(string key, bool required = false, string? hint = null)
    {
        if (!_map.TryGetValue(key, out var v) || v == null)
        {
            if (required) Problem(key, $"is required.{(hint != null ? " " + hint : "")}");
            return null;
        }
        if (v is string s) return s;
        if (v is IConvertible c && v is not bool && !EngineTree.IsMap(v)) return c.ToString(CultureInfo.InvariantCulture);
        Problem(key, $"must be text, not {EngineTree.Show(v)}.");
        return null;
    }

    public int? Int(string key, int min, int max, bool required = false)
    {
        if (!_map.TryGetValue(key, out var v) || v == null)
        {
            if (required) Problem(key, "is required.");
            return null;
        }
        long? n = v switch
        {
            int i => i,
            long l => l,
            short s => s,
            byte b => b,
            double d when d == Math.Floor(d) && Math.Abs(d) < 1e15 => (long)d,
            decimal m when m == Math.Floor(m) => (long)m,
            string s when long.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long p) => p,
            _ => null,
        };
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
        if (!_map.TryGetValue(key, out var v) || v == null) return null;
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

    public static double? ToDouble(object? v) => v switch
    {
        double d => d,
        float f => f,
        int i => i,
        long l => l,
        decimal m => (double)m,
        string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double p) => p,
        _ => null,
    };

    public bool? Bool(string key)
    {
        if (!_map.TryGetValue(key, out var v) || v == null) return null;
        switch (v)
        {
            case bool b: return b;
            case string s when s.Trim().Equals("true", StringComparison.OrdinalIgnoreCase) || s.Trim().Equals("yes", StringComparison.OrdinalIgnoreCase): return true;
            case string s when s.Trim().Equals("false", StringComparison.OrdinalIgnoreCase) || s.Trim().Equals("no", StringComparison.OrdinalIgnoreCase): return false;
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
        if (!_map.TryGetValue(key, out var v) || v == null) return null;
        var m = EngineTree.AsMap(v);
        if (m == null)
        {
            Problem(key, $"must be a mapping of keys, not {EngineTree.Show(v)}.");
            return null;
        }
        return new MapReader(m, KeyPath(key), _problems, allowedKeys);
    }

    public IReadOnlyList<object?>? List(string key)
    {
        if (!_map.TryGetValue(key, out var v) || v == null) return null;
        var l = EngineTree.AsList(v);
        if (l == null) Problem(key, $"must be a list, not {EngineTree.Show(v)}.");
        return l;
    }

    /// <summary>A list of numbers, or one number (returned as a one-element array).</summary>
    public float[]? Numbers(string key)
    {
        if (!_map.TryGetValue(key, out var v) || v == null) return null;
        if (EngineTree.AsList(v) is { } list)
        {
            var result = new float[list.Count];
            for (int i = 0; i < list.Count; i++)
            {
                double? d = ToDouble(list[i]);
                if (d == null)
                {
                    _problems.Add(EngineProblems.Index(KeyPath(key), i), $"must be a number, not {EngineTree.Show(list[i])}.");
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
