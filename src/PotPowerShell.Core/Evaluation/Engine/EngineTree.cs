using System.Collections;
using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// The neutral tree an engine is read from: maps (IReadOnlyDictionary or IDictionary with string keys), lists (IList)
/// and scalars (string, bool, integer or floating-point numbers, null). YAML files are converted to it; the config
/// loader hands its inline engine section over in the same shape.
/// </summary>
internal static class EngineTree
{
    /// <summary>Parses YAML into the tree, recording the line of every key path for messages.</summary>
    public static (IReadOnlyDictionary<string, object?> Tree, Dictionary<string, int> Lines) FromYaml(string text, string source)
    {
        var stream = new YamlStream();
        try
        {
            // Limits first: YamlStream.Load and Convert recurse, and Convert expands every alias.
            Config.TreeLimits.CheckYaml(text, source, "Engine");
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new PotException("EngineInvalid", PotErrorCategory.InvalidData,
                $"The engine '{source}' is not valid YAML (line {e.Start.Line}, column {e.Start.Column}): {e.InnerException?.Message ?? e.Message}", source, e);
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner throws this (without a position) on some unterminated flow collections.
            throw new PotException("EngineInvalid", PotErrorCategory.InvalidData,
                $"The engine '{source}' is not valid YAML: it ends inside an unclosed [ ], {{ }} or quote.", source, e);
        }
        catch (ArgumentException e)
        {
            // YamlDotNet reports a repeated key as an ArgumentException from its mapping dictionary.
            throw new PotException("EngineInvalid", PotErrorCategory.InvalidData,
                $"The engine '{source}' is not valid: {e.Message} Each key may appear once per section.", source, e);
        }
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        if (stream.Documents.Count == 0) return (new Dictionary<string, object?>(), lines);
        var root = stream.Documents[0].RootNode;
        if (root is not YamlMappingNode)
            throw new PotException("EngineInvalid", PotErrorCategory.InvalidData,
                $"The engine '{source}' must be a YAML mapping (keys such as dataset:, adapter:, metrics:) at its top level.", source);
        return ((IReadOnlyDictionary<string, object?>)Convert(root, "", lines)!, lines);
    }

    private static object? Convert(YamlNode node, string path, Dictionary<string, int> lines)
    {
        lines[path] = (int)node.Start.Line;
        switch (node)
        {
            case YamlMappingNode map:
                var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var (k, v) in map.Children)
                {
                    string key = k is YamlScalarNode s ? s.Value ?? "" : k.ToString();
                    string child = EngineProblems.Join(path, key);
                    dict[key] = Convert(v, child, lines);
                    lines[child] = (int)k.Start.Line;
                }
                return dict;
            case YamlSequenceNode seq:
                var list = new List<object?>();
                for (int i = 0; i < seq.Children.Count; i++) list.Add(Convert(seq.Children[i], EngineProblems.Index(path, i), lines));
                return list;
            case YamlScalarNode scalar:
                // A plain (unquoted) null, ~ or empty value is null; quoted text stays text.
                if (scalar.Style == YamlDotNet.Core.ScalarStyle.Plain && (scalar.Value is null or "" or "~" or "null" or "Null" or "NULL"))
                    return null;
                return scalar.Value ?? "";
            default:
                return null;
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

    private static readonly Regex EnvVar = new(@"\$\{(?<n>[A-Za-z_][A-Za-z0-9_]*)\}|%(?<n>[A-Za-z_][A-Za-z0-9_]*)%", RegexOptions.CultureInvariant);

    /// <summary>Expands ${NAME} and %NAME% from the environment (unknown names stay as written).</summary>
    public static string ExpandEnvironment(string value) =>
        EnvVar.Replace(value, m => Environment.GetEnvironmentVariable(m.Groups["n"].Value) ?? m.Value);
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
            string? near = Suggest.Closest(key, allowedKeys);
            problems.Add(EngineProblems.Join(path, key), $"unknown key.{(near != null ? $" Did you mean '{near}'?" : "")} Known keys here: {string.Join(", ", allowedKeys.OrderBy(k => k, StringComparer.Ordinal))}.");
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
        string? near = Suggest.Closest(s, words.Keys.ToList());
        Problem(key, $"'{s}' is not one of: {string.Join(", ", words.Keys)}.{(near != null ? $" Did you mean '{near}'?" : "")}");
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

    public enum PathKind { File, Folder, FileOrFolder }

    /// <summary>A path resolved against <paramref name="baseFolder"/> (environment variables expanded); checks that it exists.</summary>
    public string? ExistingPath(string key, string baseFolder, PathKind kind, bool required = false, string? hint = null)
    {
        string? raw = String(key, required, hint);
        if (raw == null) return null;
        if (raw.Trim().Length == 0)
        {
            Problem(key, "is empty: give a path.");
            return null;
        }
        string full = System.IO.Path.GetFullPath(System.IO.Path.Combine(baseFolder, EngineTree.ExpandEnvironment(raw.Trim())));
        bool ok = kind switch
        {
            PathKind.File => File.Exists(full),
            PathKind.Folder => Directory.Exists(full),
            _ => File.Exists(full) || Directory.Exists(full),
        };
        if (!ok)
        {
            string what = kind switch { PathKind.File => "file", PathKind.Folder => "folder", _ => "file or folder" };
            Problem(key, $"the {what} '{full}' does not exist (relative paths start at '{baseFolder}').");
            return null;
        }
        return full;
    }
}

/// <summary>Did-you-mean suggestions of engine files: <see cref="EditDistance.Suggest"/> over the candidates in ordinal order.</summary>
internal static class Suggest
{
    public static string? Closest(string word, IReadOnlyCollection<string> candidates) =>
        EditDistance.Suggest(word, candidates.OrderBy(c => c, StringComparer.Ordinal));
}
