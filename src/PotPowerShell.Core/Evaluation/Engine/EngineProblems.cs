namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// Collects every problem of an engine definition, each with its key path, so that one EngineInvalid error lists them
/// all at once (as config validation does).
/// </summary>
internal sealed class EngineProblems(string source, string prefix, IReadOnlyDictionary<string, int>? lines)
{
    private readonly List<string> _items = new();

    public string Source { get; } = source;

    public int Count => _items.Count;

    /// <summary>Full key path: the caller's prefix (e.g. 'engine') joined with a path relative to the engine root.</summary>
    public string PathOf(string relative) =>
        prefix.Length == 0 ? relative : relative.Length == 0 ? prefix : relative.StartsWith('[') ? prefix + relative : prefix + "." + relative;

    public void Add(string relative, string message)
    {
        string where = PathOf(relative);
        if (where.Length == 0) where = "(engine)";
        string line = lines != null && lines.TryGetValue(relative, out int l) ? $" (line {l})" : "";
        _items.Add($"{where}{line}: {message}");
    }

    public void ThrowIfAny()
    {
        if (_items.Count == 0) return;
        string list = Config.TreeLimits.ListProblems(_items, _items.Count);
        var e = new PotException("EngineInvalid", PotErrorCategory.InvalidData,
            $"The engine '{Source}' has {_items.Count} problem{(_items.Count == 1 ? "" : "s")}:{Environment.NewLine}{list}", Source);
        e.Data["Problems"] = _items.ToArray();
        throw e;
    }

    public static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;

    public static string Index(string path, int i) => $"{path}[{i}]";
}
