using PotPowerShell.Core.Comparison;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Requests;

/// <summary>
/// Runs a <see cref="ComparisonRequest"/>: <see cref="Open"/> resolves the engine (shared by every input),
/// <see cref="UseReference"/> reads an FP32 model and fits the engine to it, <see cref="Compare"/> compares a candidate
/// with it. One <see cref="ModelComparer"/> per reference: reference: fp32 metrics compare with it, and its evaluation
/// is cached.
/// </summary>
/// <remarks>
/// The fit rule (see <see cref="MeasurementPipeline"/>): the engine is fitted to the reference, which the candidates
/// share; a reference the fit cannot read is an error of that reference (ModelNotFound ... naming the file).
/// </remarks>
public sealed class ComparisonPipeline : IDisposable
{
    private readonly EngineDefinition _engine;
    private ModelComparer? _comparer;

    private ComparisonPipeline(ComparisonRequest request, EngineDefinition engine)
    {
        Request = request;
        _engine = engine;
    }

    public ComparisonRequest Request { get; }

    /// <summary>The engine as resolved (before the fit to a reference).</summary>
    public EngineDefinition Engine => _engine;

    /// <summary>The reference compared with; null before <see cref="UseReference"/>.</summary>
    public string? ReferencePath => _comparer?.ReferencePath;

    /// <summary>The evaluator of the current reference; null before <see cref="UseReference"/>.</summary>
    public Evaluator? Evaluator => _comparer?.Evaluator;

    /// <summary>Resolves the engine: its errors concern every input.</summary>
    /// <param name="warnings">Hears the engine's warnings (keys read without effect and the like).</param>
    public static ComparisonPipeline Open(ComparisonRequest request, IProgress<string>? warnings)
    {
        ArgumentNullException.ThrowIfNull(request);
        var engine = request.Engine.Resolve(warnings, againstReference: true);
        return new ComparisonPipeline(request, engine);
    }

    /// <summary>
    /// Compares with <paramref name="referencePath"/> from now on (nothing is read when it is the current one). Its
    /// errors concern the inputs that use this reference.
    /// </summary>
    /// <returns>True when a new reference was read.</returns>
    public bool UseReference(string referencePath)
    {
        if (_comparer != null && _comparer.ReferencePath == referencePath) return false;
        _comparer?.Dispose();
        _comparer = null;
        var engine = EngineFit.ToModel(_engine, referencePath);
        var evaluatorOptions = new EvaluatorOptions { ScriptMetrics = Request.ScriptMetrics, Threads = Request.Threads, BatchSize = Request.BatchSize };
        _comparer = new ModelComparer(engine, evaluatorOptions, referencePath, Request.Comparison);
        return true;
    }

    /// <summary>The warning for a reference's evaluator with no metric; null when it has metrics or no reference is set.</summary>
    public string? NoMetricsWarning => _comparer?.Evaluator is { Metrics.Count: 0 }
        ? $"'{_engine.Source}' defines no metrics{(_engine.HasAnnotations ? "" : " and its data has no labels")}: only agreement, latency and size are compared. Add labels and metrics to the engine."
        : null;

    /// <summary>See <see cref="Evaluator.ReferenceWarning"/>: null before a comparison computed the reference's outputs.</summary>
    public string? ReferenceWarning => _comparer is { } c ? c.Evaluator.ReferenceWarning(c.ReferencePath) : null;

    /// <summary>Compares one candidate with the reference; its errors concern that candidate only.</summary>
    public ComparisonResult Compare(string modelPath, IProgress<PotProgress>? progress, CancellationToken cancellationToken) =>
        (_comparer ?? throw new InvalidOperationException("Call UseReference before Compare.")).Compare(modelPath, cancellationToken, progress);

    public void Dispose()
    {
        _comparer?.Dispose();
        _comparer = null;
    }
}
