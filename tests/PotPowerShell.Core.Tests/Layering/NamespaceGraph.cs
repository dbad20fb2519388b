using System.Text.RegularExpressions;

namespace PotPowerShell.Core.Tests.Layering;

/// <summary>
/// Which namespace of the core uses which, read from the sources as a reader sees them: using directives (plain,
/// static, alias, global) and qualified names, either full (PotPowerShell.Core.Data.TensorData) or relative to the
/// core (Results.QuantizationResult, counted only when the core declares that type in that namespace). A namespace
/// always sees its enclosing ones without a using, so a child's use of its parent is not an edge.
/// </summary>
public sealed partial class NamespaceGraph
{
    public const string Root = "PotPowerShell.Core";

    /// <summary>The protobuf classes generated from onnx.proto (Onnx/Generated) belong to the Onnx layer.</summary>
    private const string GeneratedOnnx = "Onnx";

    private readonly Dictionary<string, Dictionary<string, SortedSet<string>>> _edges = new(StringComparer.Ordinal);

    /// <summary>Namespaces declared by the sources, with the files that declare them.</summary>
    public SortedDictionary<string, SortedSet<string>> Namespaces { get; } = new(StringComparer.Ordinal);

    /// <summary>From → (to → the files of 'from' that use 'to').</summary>
    public IReadOnlyDictionary<string, Dictionary<string, SortedSet<string>>> Edges => _edges;

    /// <summary>Reads every .cs file below <paramref name="folder"/> except bin/, obj/ and generated code.</summary>
    public static NamespaceGraph FromFolder(string folder) =>
        FromSources(Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories)
            .Where(f => !Regex.IsMatch(Path.GetRelativePath(folder, f), @"(^|[\\/])(bin|obj|Generated)[\\/]"))
            .Select(f => (Path.GetRelativePath(folder, f).Replace('\\', '/'), File.ReadAllText(f))));

    public static NamespaceGraph FromSources(IEnumerable<(string Path, string Text)> sources)
    {
        var graph = new NamespaceGraph();
        var files = sources.Select(s => (s.Path, Code: StripComments(s.Text))).ToList();
        // Types each namespace declares, to tell a relative qualified name (Results.PotModel) from a member access.
        var declared = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var fileNamespace = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (path, code) in files)
        {
            var match = NamespaceDeclaration().Match(code);
            if (!match.Success) throw new InvalidDataException($"{path} declares no namespace.");
            string ns = match.Groups[1].Value;
            fileNamespace[path] = ns;
            if (!graph.Namespaces.TryGetValue(ns, out var declaring)) graph.Namespaces[ns] = declaring = new SortedSet<string>(StringComparer.Ordinal);
            declaring.Add(path);
            if (!declared.TryGetValue(ns, out var types)) declared[ns] = types = new HashSet<string>(StringComparer.Ordinal);
            foreach (Match t in TypeDeclaration().Matches(code)) types.Add(t.Groups[1].Value);
        }
        foreach (var (path, code) in files)
        {
            string from = fileNamespace[path];
            foreach (Match u in UsingDirective().Matches(code))
            {
                string name = u.Groups[1].Value;
                if (name == GeneratedOnnx || name.StartsWith(GeneratedOnnx + ".", StringComparison.Ordinal)) graph.Add(from, Root + ".Onnx", path);
                else if (Resolve(graph, name) is { } target) graph.Add(from, target, path);
            }
            foreach (Match q in FullyQualifiedName().Matches(code))
                if (Resolve(graph, q.Value) is { } target) graph.Add(from, target, path);
            foreach (Match q in RelativeQualifiedName().Matches(code))
            {
                string ns = Root + "." + q.Groups[1].Value;
                if (declared.TryGetValue(ns, out var types) && types.Contains(q.Groups[2].Value)) graph.Add(from, ns, path);
            }
        }
        return graph;
    }

    /// <summary>The longest declared namespace that <paramref name="name"/> is or starts with, or null outside the core.</summary>
    private static string? Resolve(NamespaceGraph graph, string name)
    {
        for (string candidate = name; candidate.Length > 0; candidate = candidate.Contains('.') ? candidate[..candidate.LastIndexOf('.')] : "")
            if (graph.Namespaces.ContainsKey(candidate)) return candidate;
        return null;
    }

    private void Add(string from, string to, string path)
    {
        // Same namespace, or an enclosing one (visible without a using): not an edge.
        if (from == to || from.StartsWith(to + ".", StringComparison.Ordinal)) return;
        if (!_edges.TryGetValue(from, out var targets)) _edges[from] = targets = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        if (!targets.TryGetValue(to, out var files)) targets[to] = files = new SortedSet<string>(StringComparer.Ordinal);
        files.Add(path);
    }

    /// <summary>
    /// Edges that break the layering: a use of a namespace of a higher rank, or of one that has no rank, and every cycle
    /// (namespaces of one rank may use each other one way only). Exempted edges are left out of both checks.
    /// </summary>
    public IReadOnlyList<string> Violations(IReadOnlyDictionary<string, int> ranks, IReadOnlyCollection<(string From, string To)> exempt)
    {
        var problems = new List<string>();
        foreach (var ns in Namespaces.Keys.Where(n => !ranks.ContainsKey(n)))
            problems.Add($"namespace {ns} has no place in the layering ({string.Join(", ", Namespaces[ns])}): give it a rank.");
        var kept = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var (from, targets) in _edges.OrderBy(e => e.Key, StringComparer.Ordinal))
            foreach (var (to, files) in targets.OrderBy(t => t.Key, StringComparer.Ordinal))
            {
                if (exempt.Contains((from, to))) continue;
                if (!kept.TryGetValue(from, out var set)) kept[from] = set = new SortedSet<string>(StringComparer.Ordinal);
                set.Add(to);
                if (ranks.TryGetValue(from, out int a) && ranks.TryGetValue(to, out int b) && b > a)
                    problems.Add($"{from} (rank {a}) uses {to} (rank {b}), which is above it: {string.Join(", ", files)}");
            }
        foreach (var cycle in Cycles(kept))
            problems.Add("cycle: " + string.Join(" -> ", cycle));
        return problems;
    }

    /// <summary>One cycle per strongly connected component of more than one namespace (Tarjan), closed on its first node.</summary>
    private static IEnumerable<IReadOnlyList<string>> Cycles(SortedDictionary<string, SortedSet<string>> edges)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var components = new List<List<string>>();
        IEnumerable<string> Next(string n) => edges.TryGetValue(n, out var s) ? s : Enumerable.Empty<string>();

        void Visit(string n)
        {
            index[n] = low[n] = index.Count;
            stack.Push(n);
            onStack.Add(n);
            foreach (var m in Next(n))
            {
                if (!index.ContainsKey(m)) { Visit(m); low[n] = Math.Min(low[n], low[m]); }
                else if (onStack.Contains(m)) low[n] = Math.Min(low[n], index[m]);
            }
            if (low[n] != index[n]) return;
            var component = new List<string>();
            string x;
            do { x = stack.Pop(); onStack.Remove(x); component.Add(x); } while (x != n);
            if (component.Count > 1) components.Add(component);
        }

        foreach (var n in edges.Keys.Concat(edges.Values.SelectMany(v => v)).Distinct().OrderBy(n => n, StringComparer.Ordinal))
            if (!index.ContainsKey(n)) Visit(n);

        foreach (var component in components)
        {
            // The shortest way from the component's first namespace back to itself (breadth first).
            var members = component.ToHashSet(StringComparer.Ordinal);
            string start = component.Min(StringComparer.Ordinal)!;
            var parent = new Dictionary<string, string>(StringComparer.Ordinal);
            var queue = new Queue<string>(new[] { start });
            string? last = null;
            while (last == null && queue.Count > 0)
            {
                string n = queue.Dequeue();
                foreach (var m in Next(n).Where(members.Contains))
                {
                    if (m == start) { last = n; break; }
                    if (parent.TryAdd(m, n)) queue.Enqueue(m);
                }
            }
            var path = new List<string> { start };
            for (string? n = last; n != null && n != start; n = parent.GetValueOrDefault(n)) path.Insert(1, n);
            path.Add(start);
            yield return path;
        }
    }

    /// <summary>Drops // and /* */ comments and the text of string literals, so prose never counts as a use.</summary>
    private static string StripComments(string text) =>
        CommentsAndStrings().Replace(text, m => m.Value[0] switch { '/' => " ", '\'' => "' '", _ => "\"\"" });

    [GeneratedRegex(@"^\s*namespace\s+([\w.]+)", RegexOptions.Multiline)]
    private static partial Regex NamespaceDeclaration();

    [GeneratedRegex(@"\b(?:class|record(?:\s+(?:struct|class))?|struct|interface|enum|delegate\s+\w+)\s+(\w+)")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"^\s*(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?([\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex UsingDirective();

    [GeneratedRegex(@"(?<![\w.])PotPowerShell\.Core(?:\.\w+)+")]
    private static partial Regex FullyQualifiedName();

    [GeneratedRegex(@"(?<![\w.])(Quantization\.AccuracyAware|Onnx|Data|Runtime|Calibration|Evaluation|Config|Quantization|Results)\.([A-Z]\w*)")]
    private static partial Regex RelativeQualifiedName();

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/|'(?:[^'\\\n]|\\.)'|@""(?:[^""]|"""")*""|\$?""(?:[^""\\\n]|\\.)*""", RegexOptions.Singleline)]
    private static partial Regex CommentsAndStrings();
}
