using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Requests;

/// <summary>
/// Runs a <see cref="MeasurementRequest"/> in three steps, so that each error belongs where the error rule
/// (ARCHITECTURE.md, "Errors") puts it: <see cref="Open"/> resolves the engine (shared by every input),
/// <see cref="UseReference"/> reads the reference model an input names (a piped result's FP32 model belongs to that
/// input), <see cref="Prepare"/> builds the evaluator of an engine that no model changes (the engine's again). Then
/// <see cref="Measure"/> evaluates each model with one <see cref="Evaluator"/>, so items are read and preprocessed once.
/// </summary>
/// <remarks>
/// The fit rule (ARCHITECTURE.md, "Errors"), the same in every pipeline: a simplified engine over images, or a data
/// path whose .npy files the model tells apart, is fitted to the model it serves (<see cref="EngineFit"/>), here the
/// first model measured; a model the fit cannot read
/// is an error of that model (ModelNotFound, ModelCorrupt ... naming the file), never ignored and never the engine's,
/// and the engine is fitted to the next model instead.
/// </remarks>
public sealed class MeasurementPipeline : IDisposable
{
    private readonly EngineDefinition _engine;
    private byte[]? _reference;
    private Evaluator? _evaluator;

    private MeasurementPipeline(MeasurementRequest request, EngineDefinition engine)
    {
        Request = request;
        _engine = engine;
    }

    public MeasurementRequest Request { get; }

    /// <summary>The engine as resolved (before any fit to a model).</summary>
    public EngineDefinition Engine => _engine;

    /// <summary>The reference model read (null when none, or when no metric compares with a reference that came with the input).</summary>
    public string? ReferencePath { get; private set; }

    /// <summary>The evaluator of every model; null until <see cref="Prepare"/>, or for a simplified image engine until the first model is fitted.</summary>
    public Evaluator? Evaluator => _evaluator;

    /// <summary>
    /// The engine step: resolves the engine. Its errors concern every model the request serves; whether they stop the
    /// command is the cmdlet's error rule.
    /// </summary>
    /// <param name="warnings">Hears the engine's warnings (keys read without effect and the like).</param>
    public static MeasurementPipeline Open(MeasurementRequest request, IProgress<string>? warnings)
    {
        ArgumentNullException.ThrowIfNull(request);
        var engine = request.Engine.Resolve(warnings);
        return new MeasurementPipeline(request, engine);
    }

    /// <summary>
    /// The reference step of one input: reads the reference model <paramref name="input"/> names (a given one always; one
    /// that came with the input only when a metric compares with it), unless it is the one read already. Its errors
    /// (ModelNotFound ... naming the file) concern the inputs that name this reference: with
    /// <see cref="MeasurementRequest.ReferenceGiven"/> every input, else that input only.
    /// </summary>
    /// <returns>True when a reference was read (the evaluator made with the previous one, if any, is dropped).</returns>
    public bool UseReference(MeasurementRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        string? path = input.ReferenceModelPath;
        if (!input.ReferenceGiven && !_engine.Metrics.Any(m => m.RequiresReference)) path = null;
        // A request without a reference is served by the one read (see Serves).
        if (path == null || (ReferencePath != null && CanonicalPath.Same(ReferencePath, path))) return false;
        var bytes = ModelMeasurement.ReadModel(path);
        _evaluator?.Dispose();
        _evaluator = null;
        (_reference, ReferencePath) = (bytes, path);
        return true;
    }

    /// <summary>
    /// Builds the evaluator of an engine that no model changes, so that its errors are the engine's (every input's);
    /// a simplified image engine waits for the first model (see the class). Nothing when it exists already.
    /// </summary>
    public void Prepare()
    {
        if (_evaluator == null && !EngineFit.ReadsModel(_engine)) _evaluator = CreateEvaluator(_engine);
    }

    /// <summary>
    /// Whether this pipeline's evaluator serves <paramref name="next"/> too: the same engine source, and no other
    /// reference model (a request without one is served by any).
    /// </summary>
    public bool Serves(MeasurementRequest next) =>
        next.Engine.SameAs(Request.Engine)
        && (ReferencePath == null || next.ReferenceModelPath == null || CanonicalPath.Same(ReferencePath, next.ReferenceModelPath));

    /// <summary>Evaluates one model; its errors (the fit's included, see the class) concern that model only.</summary>
    public MeasurementResult Measure(string modelPath, IProgress<PotProgress>? progress, CancellationToken cancellationToken)
    {
        _evaluator ??= CreateEvaluator(EngineFit.ToModel(_engine, modelPath));
        return ModelMeasurement.Measure(_evaluator, modelPath, Request.PerSample, Request.Latency, Request.WarmupRuns, cancellationToken, progress);
    }

    /// <summary>The warning for an evaluator with no metric (only inference runs); null when it has metrics or does not exist yet.</summary>
    public string? NoMetricsWarning => _evaluator is { Metrics.Count: 0 }
        ? $"'{_engine.Source}' defines no metrics{(_engine.HasAnnotations ? "" : " and its data has no labels")}: only inference runs. Add labels and metrics to the engine, or a -Metric scriptblock."
        : null;

    /// <summary>
    /// The warning for a reference model with NaN or Inf outputs on some items (every model compared with it scores
    /// them at its worst value); null when it has none or no reference ran.
    /// </summary>
    public string? ReferenceWarning => _evaluator?.ReferenceWarning(ReferencePath ?? "");

    private Evaluator CreateEvaluator(EngineDefinition engine) => new(engine, new EvaluatorOptions
    {
        ReferenceModel = _reference,
        ReferenceSource = ReferencePath ?? "",
        CustomMetrics = Request.CustomMetrics,
        ScriptMetrics = Request.ScriptMetrics,
        Threads = Request.Threads,
        BatchSize = Request.BatchSize,
        // Latency is the time of one request with every thread, not of workers sharing the cores.
        Workers = Request.Latency ? 1 : null,
    });

    public void Dispose()
    {
        _evaluator?.Dispose();
        _evaluator = null;
    }
}
