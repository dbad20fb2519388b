namespace PotPowerShell.Core.Tests.Layering;

/// <summary>
/// The core's namespaces form layers that never reach up (ARCHITECTURE.md): each may use those of a lower rank, and
/// those of its own rank one way only. Read from the sources, so a new using directive that breaks it fails here.
/// </summary>
public sealed class LayeringTests
{
    private const string Core = NamespaceGraph.Root;

    /// <summary>Bottom to top.</summary>
    public static readonly IReadOnlyDictionary<string, int> Ranks = new Dictionary<string, int>
    {
        // PotException and PotProgress: what every layer reports errors and progress with.
        [Core] = 0,
        // Graph I/O and rewriting (and the generated protobuf classes).
        [Core + ".Onnx"] = 1,
        // Report file writing and JSON conventions (no other core namespace).
        [Core + ".Reports"] = 1,
        // Data sets, readers, image preprocessing.
        [Core + ".Data"] = 2,
        // The one place that talks to ONNX Runtime.
        [Core + ".Runtime"] = 3,
        // Statistics and range estimators; engines, adapters, metrics; POT configuration and the options it binds.
        [Core + ".Calibration"] = 4,
        [Core + ".Evaluation"] = 4,
        [Core + ".Config"] = 4,
        // Every result record the cmdlets return (and PotModelInspector): data that Evaluation (one way) and the layers above fill in.
        [Core + ".Results"] = 4,
        [Core + ".Quantization"] = 5,
        // Compare-PotModel's measurements: evaluation and runtime over two models.
        [Core + ".Comparison"] = 5,
        [Core + ".Quantization.AccuracyAware"] = 6,
        // The cmdlets' request path: requests resolved once, the pipelines that run them.
        [Core + ".Requests"] = 7,
    };

    /// <summary>Known upward edges, each with the date and the reason it is still there.</summary>
    public static readonly IReadOnlyList<(string From, string To, string Reason)> Exempt = Array.Empty<(string, string, string)>();

    private static string CoreSources =>
        Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "src", "PotPowerShell.Core"));

    [Fact]
    public void The_core_namespaces_never_use_a_layer_above_them_and_form_no_cycle()
    {
        var graph = NamespaceGraph.FromFolder(CoreSources);
        // The reader found the sources and the edges everyone knows of.
        Assert.True(graph.Namespaces.Values.Sum(f => f.Count) > 100, "too few source files read from " + CoreSources);
        Assert.Contains(Core + ".Onnx", graph.Edges[Core + ".Quantization"].Keys);
        Assert.Contains(Core + ".Evaluation", graph.Edges[Core + ".Quantization.AccuracyAware"].Keys);

        var violations = graph.Violations(Ranks, Exempt.Select(e => (e.From, e.To)).ToList());

        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }

    [Fact]
    public void Every_exempt_edge_still_exists()
    {
        // An exemption that is no longer needed must go, so the layering gets stricter as the code gets better.
        var graph = NamespaceGraph.FromFolder(CoreSources);
        foreach (var (from, to, _) in Exempt)
            Assert.True(graph.Edges.TryGetValue(from, out var targets) && targets.ContainsKey(to), $"{from} -> {to} is exempt but no longer used: remove the exemption.");
    }

    [Fact]
    public void Upward_uses_cycles_and_unranked_namespaces_are_reported_with_their_files()
    {
        var sources = new[]
        {
            ("Onnx/A.cs", "using PotPowerShell.Core.Data;\nnamespace PotPowerShell.Core.Onnx;\npublic class A { }"),
            ("Data/B.cs", "using PotPowerShell.Core.Onnx;\nnamespace PotPowerShell.Core.Data;\npublic class B { }"),
            // A relative qualified name of a declared type counts; a member access that looks the same does not.
            ("Runtime/C.cs", "namespace PotPowerShell.Core.Runtime;\npublic class C { object x = Results.R.Make(); int n = Data.Count; }"),
            ("Results/R.cs", "namespace PotPowerShell.Core.Results;\npublic record struct R;"),
            // Comments and strings are not uses.
            ("Data/D.cs", "namespace PotPowerShell.Core.Data;\n// PotPowerShell.Core.Results.R\npublic class D { string s = \"PotPowerShell.Core.Results.R\"; }"),
            ("Extra/E.cs", "namespace PotPowerShell.Core.Extra;\npublic class E { }"),
        };
        var graph = NamespaceGraph.FromSources(sources);
        var ranks = new Dictionary<string, int> { [Core + ".Onnx"] = 1, [Core + ".Data"] = 2, [Core + ".Runtime"] = 3, [Core + ".Results"] = 7 };

        var violations = graph.Violations(ranks, Array.Empty<(string, string)>());

        Assert.Equal(4, violations.Count);
        Assert.Contains(violations, v => v.StartsWith("namespace PotPowerShell.Core.Extra has no place", StringComparison.Ordinal));
        Assert.Contains($"{Core}.Onnx (rank 1) uses {Core}.Data (rank 2), which is above it: Onnx/A.cs", violations);
        Assert.Contains($"{Core}.Runtime (rank 3) uses {Core}.Results (rank 7), which is above it: Runtime/C.cs", violations);
        Assert.Contains($"cycle: {Core}.Data -> {Core}.Onnx -> {Core}.Data", violations);
        Assert.False(graph.Edges.ContainsKey(Core + ".Data") && graph.Edges[Core + ".Data"].ContainsKey(Core + ".Results"));

        // Exempting the edges leaves only the unranked namespace.
        var exempt = new[] { (Core + ".Onnx", Core + ".Data"), (Core + ".Runtime", Core + ".Results") };
        Assert.Single(graph.Violations(ranks, exempt));
    }
}
