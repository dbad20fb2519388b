using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// Collects every problem of an engine definition as <see cref="ConfigProblem"/>s (key path, line, message: the one
/// problem type of configuration and engine files), so that one EngineInvalid error lists them all at once, worded
/// as configuration problems are.
/// </summary>
/// <param name="notes">Said after the problems, when there are any: where values came from (a dataset definitions
/// file, an environment variable), which their key paths and lines do not tell.</param>
internal sealed class EngineProblems(string source, string prefix, IReadOnlyList<string>? notes = null)
{
    private readonly List<ConfigProblem> _items = new();

    public string Source { get; } = source;

    public int Count => _items.Count;

    /// <summary>Full key path: the caller's prefix (e.g. 'engine') joined with a path relative to the engine root.</summary>
    public string PathOf(string relative) =>
        prefix.Length == 0 ? relative : relative.Length == 0 ? prefix : relative.StartsWith('[') ? prefix + relative : prefix + "." + relative;

    /// <param name="line">The line of the key or value in the file (a node's <see cref="ConfigNode.Line"/>); 0 when unknown.</param>
    public void Add(string relative, string message, int line) =>
        _items.Add(new ConfigProblem(PathOf(relative), null, message, line) { Whole = "(engine)" });

    /// <summary>A problem the loader found (a duplicate key), already with its path and line.</summary>
    public void Add(ConfigProblem problem) => _items.Add(problem with { KeyPath = PathOf(problem.KeyPath), Whole = "(engine)" });

    public void ThrowIfAny()
    {
        if (_items.Count == 0) return;
        var texts = _items.Select(p => p.ToString()).ToArray();
        string list = TreeLimits.ListProblems(texts, texts.Length);
        string noted = notes is { Count: > 0 } ? Environment.NewLine + string.Join(Environment.NewLine, notes) : "";
        var e = new PotException("EngineInvalid", PotErrorCategory.InvalidData,
            $"The engine '{Source}' has {_items.Count} problem{(_items.Count == 1 ? "" : "s")}:{Environment.NewLine}{list}{noted}", Source);
        e.Data["Problems"] = texts;
        ConfigErrors.AttachProblems(e, _items.ToArray());
        throw e;
    }

    public static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;

    public static string Index(string path, int i) => $"{path}[{i}]";
}
