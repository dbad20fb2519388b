using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace PotPowerShell.Core.Config;

/// <summary>
/// The resource limits of every YAML and JSON document the module reads (POT configs, engine files, inline engines):
/// nesting depth, nodes after alias expansion and keys per map. They are checked while the document is read, before
/// any recursive walk or conversion, so a hostile file ends in a clear error instead of a stack overflow or an
/// out-of-memory kill. The error ids are &lt;prefix&gt;TooDeep, &lt;prefix&gt;TooLarge and &lt;prefix&gt;TooManyKeys
/// (the prefix of the <see cref="DocumentKind"/>: Config or Engine); docs/en-US/about_PotPowerShell.md lists them under Limits.
/// </summary>
public static class TreeLimits
{
    /// <summary>Nested maps and lists (System.Text.Json's default depth, now the same for YAML).</summary>
    public const int MaxDepth = 128;

    /// <summary>Nodes (maps, lists and scalars) counted with every alias expanded.</summary>
    public const long MaxNodes = 1_000_000;

    /// <summary>Keys in one map.</summary>
    public const int MaxKeys = 10_000;

    /// <summary>Problems listed in one ConfigInvalid or EngineInvalid message; the rest are counted.</summary>
    public const int MaxListedProblems = 100;

    internal static PotException TooDeep(string prefix, string path, int line) =>
        new(prefix + "TooDeep", PotErrorCategory.InvalidData,
            $"'{path}'{At(line)} nests maps and lists more than {MaxDepth} levels deep, the limit for YAML and JSON documents. " +
            "Configs and engine files need only a few levels: check the file for runaway brackets or indentation.", path);

    internal static PotException TooLarge(string prefix, string path, int line) =>
        new(prefix + "TooLarge", PotErrorCategory.InvalidData,
            $"'{path}'{At(line)} holds more than {MaxNodes:N0} values once its YAML aliases (*name) are expanded, the limit for YAML and JSON documents. " +
            "Anchors and aliases that refer to each other multiply; write the values out, or keep large lists (labels, file names) in their own data files.", path);

    internal static PotException TooManyKeys(string prefix, string path, int line) =>
        new(prefix + "TooManyKeys", PotErrorCategory.InvalidData,
            $"'{path}'{At(line)} has a map with more than {MaxKeys:N0} keys, the limit for YAML and JSON documents. " +
            "No section of a config or engine has that many keys: check that the file is the one you meant.", path);

    private static string At(int line) => line > 0 ? $" (line {line})" : "";

    /// <summary>Appends "... and N more" when more than <see cref="MaxListedProblems"/> problems are listed.</summary>
    internal static string ListProblems(IEnumerable<string> lines, int count) =>
        string.Join(Environment.NewLine, lines.Take(MaxListedProblems).Select(p => "  - " + p)) +
        (count > MaxListedProblems ? $"{Environment.NewLine}  ... and {count - MaxListedProblems} more (fix these first)." : "");

    /// <summary>
    /// Walks the YAML events once, without recursion, and throws when the document breaks a limit. Aliases count
    /// with the size and height of what they stand for, so the check covers the tree every later reader expands.
    /// Syntax errors are left to the caller's reader (it throws YamlException as it would without this check).
    /// </summary>
    internal static void CheckYaml(string text, string path, string prefix)
    {
        var parser = new Parser(new StringReader(text));
        var anchors = new Dictionary<string, (long Size, int Height)>(StringComparer.Ordinal);
        var open = new Stack<Frame>();
        long total = 0;
        while (parser.MoveNext())
        {
            var e = parser.Current!;
            int line = (int)e.Start.Line;
            switch (e)
            {
                case AnchorAlias alias:
                    if (anchors.TryGetValue(alias.Value.Value, out var target))
                    {
                        total += target.Size;
                        if (total > MaxNodes) throw TooLarge(prefix, path, line);
                        if (open.Count + target.Height > MaxDepth) throw TooDeep(prefix, path, line);
                        Completed(open, target.Size, target.Height, prefix, path, line);
                    }
                    break;
                case Scalar scalar:
                    if (++total > MaxNodes) throw TooLarge(prefix, path, line);
                    if (!scalar.Anchor.IsEmpty) anchors[scalar.Anchor.Value] = (1, 0);
                    Completed(open, 1, 0, prefix, path, line);
                    break;
                case MappingStart or SequenceStart:
                    if (++total > MaxNodes) throw TooLarge(prefix, path, line);
                    if (open.Count >= MaxDepth) throw TooDeep(prefix, path, line);
                    var anchor = ((NodeEvent)e).Anchor;
                    open.Push(new Frame(e is MappingStart, anchor.IsEmpty ? null : anchor.Value));
                    break;
                case MappingEnd or SequenceEnd:
                    var done = open.Pop();
                    if (done.Anchor != null) anchors[done.Anchor] = (done.Size, done.Height);
                    Completed(open, done.Size, done.Height, prefix, path, line);
                    break;
            }
        }
    }

    private static void Completed(Stack<Frame> open, long size, int height, string prefix, string path, int line)
    {
        if (open.Count == 0) return;
        var parent = open.Peek();
        parent.Size += size;
        parent.Height = Math.Max(parent.Height, height + 1);
        // In a map, children alternate key, value.
        if (parent.IsMap && ++parent.Children > 2L * MaxKeys) throw TooManyKeys(prefix, path, line);
    }

    private sealed class Frame(bool isMap, string? anchor)
    {
        public bool IsMap { get; } = isMap;
        public string? Anchor { get; } = anchor;
        public long Size { get; set; } = 1;
        public int Height { get; set; } = 1;
        public long Children { get; set; }
    }
}
