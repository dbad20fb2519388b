using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Results;
using System.Runtime.CompilerServices;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Evaluation;

/// <summary>Settings of an <see cref="Evaluator"/> beyond its engine.</summary>
public sealed record EvaluatorOptions
{
    /// <summary>The FP32 (original) model, needed by metrics with reference: fp32 (e.g. cosine_similarity).</summary>
    public byte[]? ReferenceModel { get; init; }

    /// <summary>Names the reference model in messages.</summary>
    public string ReferenceSource { get; init; } = "the FP32 reference model";

    /// <summary>Metrics given in code, evaluated on every dataset after the engine's metrics.</summary>
    public IReadOnlyList<CustomMetric> CustomMetrics { get; init; } = Array.Empty<CustomMetric>();

    /// <summary>Runs 'type: script' metrics of the engine (the PowerShell layer supplies it).</summary>
    public ScriptMetricFactory? ScriptMetrics { get; init; }

    /// <summary>Overrides the engine's threads (0 = ORT's default).</summary>
    public int? Threads { get; init; }

    /// <summary>Overrides the engine's batch_size (used when the model's batch axis is dynamic).</summary>
    public int? BatchSize { get; init; }

    /// <summary>Overrides the engine's cache_mb.</summary>
    public int? CacheMegabytes { get; init; }

    /// <summary>FP32 reference rows held in memory before the rest go to a temporary file (tests set a small one).</summary>
    internal long ReferenceMemoryBytes { get; init; } = ReferenceStore.DefaultMemoryBytes;

    /// <summary>
    /// Workers that evaluate side by side on one ONNX Runtime session (POT's eval_requests_number); null or 0 =
    /// automatic (<see cref="Evaluator.Workers"/>). Results are the same for every count: metrics see the batches in item order.
    /// </summary>
    public int? Workers { get; init; }
}

/// <summary>What one <see cref="Evaluator.Run"/> call does.</summary>
public sealed record EvaluationRequest
{
    /// <summary>Items to evaluate (data-set indices), or null for all.</summary>
    public IReadOnlyList<int>? Items { get; init; }

    /// <summary>Untimed runs of the first batch before timing (latency measurements).</summary>
    public int WarmupRuns { get; init; }

    /// <summary>Fetch every model output even if no metric reads it, so the whole model runs (latency measurements).</summary>
    public bool AllOutputs { get; init; }

    /// <summary>Return each item's prediction and annotation (per-sample tables).</summary>
    public bool KeepPredictions { get; init; }

    /// <summary>Names the model in messages and progress.</summary>
    public string ModelName { get; init; } = "model";

    /// <summary>
    /// Asked after each item with the number of items measured so far (the first items of Items, in order, or of Items
    /// grouped by shape where the data set's items differ in shape: <see cref="ShapeGroups"/>) and the per-item values
    /// by metric name (filled up to that count, in the order measured): true stops the evaluation there, and the result
    /// then covers those items only, in that order (<see cref="EvaluationResult.StoppedEarly"/>).
    /// </summary>
    public Func<int, IReadOnlyDictionary<string, double[]>, bool>? StopWhen { get; init; }

    /// <summary>
    /// The store a suffix model reads its stored inputs from and a capturing model gives its captured outputs to (see
    /// <see cref="Onnx.SuffixCut"/>); null = captured outputs are not fetched.
    /// </summary>
    public IActivationStore? Activations { get; init; }
}

/// <summary>
/// Evaluates models on an engine's data: one ONNX Runtime session per call (ORT_ENABLE_ALL, OrtValues over pinned
/// buffers, batched), adapters, per-item and aggregate metrics. Preprocessed items are cached up to the engine's
/// cache_mb; FP32 reference outputs are computed once per item and kept. Not thread-safe: call from one thread.
/// </summary>
public sealed class Evaluator : IEvaluator, IDisposable
{
    private readonly EngineDataset _dataset;
    private readonly CachedDataset _cache;
    private readonly List<MetricRunner> _runners = new();
    private readonly Adapter[] _adapters;
    private readonly DatasetDefinition[] _definitions;
    private readonly EvaluatorOptions _options;
    private readonly List<MetricSpec> _referenceSpecs;
    private ReferenceStore? _references;
    private readonly bool _needsPrediction;
    private readonly bool _hasCustom;

    public Evaluator(EngineDefinition engine, EvaluatorOptions? options = null)
    {
        Engine = engine;
        _options = options ?? new EvaluatorOptions();
        _dataset = engine.OpenDataset();
        try
        {
            _cache = new CachedDataset(_dataset, (long)(_options.CacheMegabytes ?? engine.CacheMegabytes) << 20);
            _adapters = engine.Datasets.Select(d => Adapter.Create(d.Adapter)).ToArray();
            _definitions = engine.Datasets.ToArray();
            foreach (var spec in engine.Metrics) _runners.Add(MetricRunner.Create(spec, _options.ScriptMetrics));
            foreach (var custom in _options.CustomMetrics)
            {
                if (_runners.Any(r => r.Name == custom.Name))
                    throw new PotException("MetricNameDuplicate", PotErrorCategory.InvalidArgument,
                        $"The custom metric name '{custom.Name}' is already a metric of the engine '{engine.Source}': give it another name.", custom.Name);
                if (custom.RequiresAnnotation && !engine.HasAnnotations)
                    throw new PotException("EngineHasNoAnnotations", PotErrorCategory.InvalidArgument,
                        $"The custom metric '{custom.Name}' needs annotations, but the data of '{engine.Source}' has none.", engine.Source);
                _runners.Add(custom.DatasetMetric != null
                    ? new DatasetCustomRunner(custom.Name, "custom", custom.Direction, null, custom.DatasetMetric)
                    : new CustomRunner(custom.Name, "custom", custom.Direction, null, custom.Metric!));
            }
            _referenceSpecs = _runners.Select(r => r.Spec).OfType<MetricSpec>().Where(s => s.RequiresReference).ToList();
            if (_referenceSpecs.Count > 0 && _options.ReferenceModel == null)
                throw new PotException("ReferenceModelRequired", PotErrorCategory.InvalidArgument,
                    $"The metric '{_referenceSpecs[0].Name}' compares with the FP32 model's outputs (reference: fp32), but no FP32 model was given. Pass it with -ReferenceModelPath, or pipe the result of Invoke-DefaultQuantization or Invoke-AccuracyAwareQuantization, which carries it.", _referenceSpecs[0].KeyPath);
            _hasCustom = _runners.Any(r => r is CustomRunner or DatasetCustomRunner);
            _needsPrediction = _hasCustom || _runners.Any(r => r is TextRunner or DetectionRunner or SegmentationRunner or ReidRunner or QuestionAnsweringRunner or NerRunner or QuestionEmbeddingRunner);
            Metrics = _runners.Select(r => new MetricDefinition(r.Name, r.Direction) { Type = r.Type }).ToList();
            MetricTypes = _runners.Select(r => r.Type).ToList();
            MetricIsItemMean = _runners.Select(r => r.NewAggregate() is MeanAggregate).ToList();
            MeanItemBounds = _runners.Where(r => r.MeanItemBounds != null).ToDictionary(r => r.Name, r => r.MeanItemBounds!.Value, StringComparer.Ordinal);
        }
        catch
        {
            _dataset.Dispose();
            throw;
        }
    }

    public EngineDefinition Engine { get; }

    public IReadOnlyList<MetricDefinition> Metrics { get; }

    public string NoValue(string metric, int items) =>
        _runners.FirstOrDefault(r => r.Name == metric)?.Spec is MetricSpec spec ? spec.NoValue(items) : MetricSpec.NoValueOf(metric, items);

    /// <summary>The type word of each metric (accuracy, f1, script, custom...), aligned with <see cref="Metrics"/>.</summary>
    public IReadOnlyList<string> MetricTypes { get; }

    /// <summary>
    /// True for each metric whose value is the mean of its per-item values (accuracy, similarity...), false for those
    /// aggregated otherwise (F1 over a confusion matrix); aligned with <see cref="Metrics"/>.
    /// </summary>
    public IReadOnlyList<bool> MetricIsItemMean { get; }

    /// <summary>The engine's items, cached after their first read.</summary>
    public IDataset Data => _cache;

    /// <summary>How many items are held in memory and their approximate size.</summary>
    public (int Items, long Bytes) CacheUsage => (_cache.CachedItems, _cache.CachedBytes);

    public EvaluationResult Evaluate(byte[] model, IReadOnlyList<int>? items, CancellationToken cancellationToken, IProgress<PotProgress>? progress = null) =>
        Run(model, new EvaluationRequest { Items = items }, cancellationToken, progress);

    public EvaluationResult Evaluate(byte[] model, IReadOnlyList<int>? items, Func<int, IReadOnlyDictionary<string, double[]>, bool>? stopWhen,
        CancellationToken cancellationToken, IProgress<PotProgress>? progress = null) =>
        Run(model, new EvaluationRequest { Items = items, StopWhen = stopWhen }, cancellationToken, progress);

    public IReadOnlyDictionary<string, (double Min, double Max)> MeanItemBounds { get; }

    /// <summary>Evaluates a serialized model as <paramref name="request"/> says (items, warm-up, predictions).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public EvaluationResult Run(byte[] model, EvaluationRequest request, CancellationToken cancellationToken, IProgress<PotProgress>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        var items = ResolveItems(request.Items);
        ReadShapes(progress, cancellationToken);
        _ = ItemShapes;
        var prepared = TakePrepared(model, request.ModelName);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            int workers = Math.Min(Workers, Math.Max(1, items.Count));
            if (workers > 1)
            {
                // RunParallel owns the prepared session from here (and disposes it), also when it returns null.
                var owned = prepared;
                prepared = null;
                if (RunParallel(model, request, items, workers, clock, cancellationToken, progress, owned) is { } result) return result;
            }
        }
        catch
        {
            prepared?.Dispose();
            throw;
        }
        return RunSequential(model, request, items, clock, cancellationToken, progress, prepared);
    }

    private readonly object _preparedGate = new();
    private (byte[] Model, SessionRunner Runner)? _prepared;

    /// <summary>
    /// Creates the ONNX Runtime session of <paramref name="model"/> now, for the next <see cref="Run"/> of the same array:
    /// called on another thread while the current model is evaluated, its creation (graph optimization) overlaps with
    /// that evaluation. It is the session Run would create (same options, batch size and threads per worker), so results
    /// are the same; with several <see cref="Workers"/> they all run it. A prepared session that the next Run does not
    /// use is disposed there. Safe to call from another thread than Run's.
    /// </summary>
    public void PrepareSession(byte[] model)
    {
        var runner = NewRunner(model, DefaultModelName, ThreadsPerWorker(Workers));
        lock (_preparedGate)
        {
            _prepared?.Runner.Dispose();
            _prepared = (model, runner);
        }
    }

    /// <summary>The model name of requests that name none (<see cref="EvaluationRequest.ModelName"/>).</summary>
    private const string DefaultModelName = "model";

    /// <summary>The prepared session of <paramref name="model"/> (the same array), or null; any other prepared session is disposed.</summary>
    private SessionRunner? TakePrepared(byte[] model, string modelName)
    {
        lock (_preparedGate)
        {
            var prepared = _prepared;
            _prepared = null;
            // Prepared before the batch size changed (ReadShapes), it is not the session Run would create.
            if (prepared is { } p && ReferenceEquals(p.Model, model) && modelName == DefaultModelName && (p.Runner.FixedBatch || p.Runner.BatchSize == BatchSize)) return p.Runner;
            prepared?.Runner.Dispose();
            return null;
        }
    }

    private SessionRunner NewRunner(byte[] model, string modelName, int threads)
    {
        Interlocked.Increment(ref _sessionsCreated);
        var shared = _shared;
        try
        {
            return new(model, modelName, threads, BatchSize, _dataset.InputNames, _dataset.Source, shared, ItemShapes);
        }
        catch (PotException e) when (e.ErrorId == "ModelNotLoadable" && shared?.Whole(model) is { } whole)
        {
            // A graph optimization read a shared initializer after all: load this model whole, as it would be without them.
            Interlocked.Increment(ref _wholeLoads);
            return new(whole, modelName, threads, BatchSize, _dataset.InputNames, _dataset.Source, itemShapes: ItemShapes);
        }
    }

    private IReadOnlyDictionary<string, long[]>? _itemShapes;
    private readonly object _itemShapesGate = new();

    /// <summary>
    /// The shape of each data array of the first item, from which a session tells a model input without a batch axis
    /// (SessionRunner.NoBatchAxis). Read by <see cref="Run"/> before any session is created, so that sessions prepared
    /// on another thread (<see cref="PrepareSession"/>) find it read while the item cache serves the evaluation.
    /// </summary>
    private IReadOnlyDictionary<string, long[]> ItemShapes
    {
        get
        {
            lock (_itemShapesGate)
                return _itemShapes ??= _cache.Count == 0 ? new Dictionary<string, long[]>()
                    : _cache.Shapes(_cache.Fetch(0)).Where(s => s.Shape != null).ToDictionary(s => s.Name, s => s.Shape!, StringComparer.Ordinal);
        }
    }

    private SharedInitializers? _shared;
    private int _wholeLoads;

    /// <summary>Models of the shared initializers that ONNX Runtime could load only whole (tests read this).</summary>
    internal int WholeLoads => Volatile.Read(ref _wholeLoads);

    /// <summary>
    /// Finds the initializers of <paramref name="model"/> worth sharing and gives them to the sessions of every model
    /// they serialize (see <see cref="SharedInitializers"/>) until the next call or <see cref="Dispose"/>, which free them.
    /// </summary>
    public SharedInitializers? ShareInitializers(global::Onnx.ModelProto model)
    {
        var shared = SharedInitializers.Find(model);
        SharedInitializers? previous;
        lock (_preparedGate)
        {
            // A prepared session may hold the previous ones.
            _prepared?.Runner.Dispose();
            _prepared = null;
            previous = _shared;
            _shared = shared;
        }
        previous?.Dispose();
        return shared;
    }

    private int _sessionsCreated;

    /// <summary>ONNX Runtime sessions created for evaluated models, prepared ones included (tests read this).</summary>
    internal int SessionsCreated => Volatile.Read(ref _sessionsCreated);

    /// <param name="prepared">A session <see cref="PrepareSession"/> created for this model, or null to create one here.</param>
    private EvaluationResult RunSequential(byte[] model, EvaluationRequest request, IReadOnlyList<int> items, Stopwatch clock, CancellationToken cancellationToken,
        IProgress<PotProgress>? progress, SessionRunner? prepared = null)
    {
        // A prepared session was created while another model ran: its creation time is not part of this evaluation's.
        var creation = prepared != null ? TimeSpan.Zero : (TimeSpan?)null;
        using var runner = prepared ?? NewRunner(model, request.ModelName, ThreadsPerWorker(1));
        runner.Activations = request.Activations;
        bool selfReference = IsOwnReference(model, request, items);
        Prepare(runner, request, items, cancellationToken, progress, selfReference);
        var outputs = runner.NewOutputs();
        int batchSize = runner.BatchSize;
        var (ordered, positions, batches) = Plan(items, batchSize, progress, cancellationToken);
        var tally = new Tally(this, request, ordered, items, positions);
        var batch = new List<CachedDataset.Entry>(batchSize);
        string? fallback = Scattered(runner);

        for (int b = 0; b < batches.Count; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (start, count) = batches[b];
            batch.Clear();
            for (int k = 0; k < count; k++) batch.Add(_cache.Fetch(ordered[start + k]));
            double ms;
            try
            {
                if (b == 0)
                    for (int w = 0; w < request.WarmupRuns; w++) runner.Run(batch, _cache.Layout, outputs, cancellationToken);
                ms = runner.Run(batch, _cache.Layout, outputs, cancellationToken);
            }
            catch (PotException e) when (FallsBack(e, runner, count, cancellationToken))
            {
                // Items of two shapes: this batch and the rest again, split where the shape changes. Else a graph that
                // hard-codes batch 1 (e.g. Reshape to [1, -1]) behind a dynamic batch axis fails on several items at
                // once, as calibration finds too: run this batch again one item at a time, and the rest likewise.
                Refused(batch);
                if (MixesShapes(batch)) batches = ShapeGroups.ByShapeRuns(batches, b, ShapeAt(ordered));
                else
                {
                    batchSize = 1;
                    fallback = e.Message;
                    batches = ShapeGroups.OneByOne(batches, b);
                }
                b--;
                continue;
            }
            if (selfReference) StoreReferences(batch, outputs);
            if (Measure(tally, batch, outputs, ms, b, batches.Count, progress)) break;
        }
        return tally.Result(clock, batchSize, fallback, creation ?? runner.CreationTime, progress, cancellationToken);
    }

    /// <summary>
    /// eval_requests_number: <paramref name="workers"/> threads run one ONNX Runtime session of the model, created with a
    /// share of the intra-op threads, batches side by side (worker w runs batches w, w + workers, ...), while this thread
    /// measures the batches strictly in order, so metrics (also script metrics) see exactly what one worker would give
    /// them. One session for all: creating a session per worker multiplied the graph optimization, which every candidate
    /// pays (bench/Bench-AccuracyAware.ps1, NOTES). Null when ONNX Runtime refuses a batch of several items (a graph that hard-codes batch 1):
    /// the caller then runs everything again in one session, item by item, from fresh aggregates.
    /// </summary>
    /// <param name="prepared">A session <see cref="PrepareSession"/> created for this model, or null; disposed here.</param>
    private EvaluationResult? RunParallel(byte[] model, EvaluationRequest request, IReadOnlyList<int> items, int workers, Stopwatch clock, CancellationToken cancellationToken,
        IProgress<PotProgress>? progress, SessionRunner? prepared)
    {
        var first = prepared ?? NewRunner(model, request.ModelName, ThreadsPerWorker(workers));
        first.Activations = request.Activations;
        // A prepared session was created while another model ran: its creation time is not part of this evaluation's.
        var creation = prepared != null ? TimeSpan.Zero : first.CreationTime;
        var runners = new List<SessionRunner> { first };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = new List<Task>();
        try
        {
            int batchSize = first.BatchSize;
            var (ordered, positions, plan) = Plan(items, batchSize, progress, cancellationToken);
            int batches = plan.Count;
            workers = Math.Min(workers, batches);
            bool selfReference = IsOwnReference(model, request, items);
            Prepare(first, request, items, cancellationToken, progress, selfReference);
            // Forked after Prepare, so they fetch the outputs it selected.
            for (int w = 1; w < workers; w++) runners.Add(first.Fork());
            var lanes = runners.Select(r => new Lane(r, r.NewOutputs())).ToArray();
            var fetchGate = new object();
            for (int w = 0; w < workers; w++)
            {
                var lane = lanes[w];
                int firstBatch = w;
                tasks.Add(Task.Run(() =>
                {
                    try
                    {
                        for (int b = firstBatch; b < batches; b += lanes.Length)
                        {
                            lane.Free.Wait(stop.Token);
                            var (start, count) = plan[b];
                            lane.Batch.Clear();
                            lock (fetchGate)
                                for (int k = start; k < start + count; k++) lane.Batch.Add(_cache.Fetch(ordered[k]));
                            if (b == 0)
                                for (int r = 0; r < request.WarmupRuns; r++) lane.Runner.Run(lane.Batch, _cache.Layout, lane.Outputs, stop.Token);
                            lane.Milliseconds = lane.Runner.Run(lane.Batch, _cache.Layout, lane.Outputs, stop.Token);
                            lane.Ready.Release();
                        }
                    }
                    catch (Exception e)
                    {
                        lane.Failure = e;
                        lane.Ready.Release();
                    }
                }));
            }
            // After Prepare, which creates the reference store its view reads.
            var tally = new Tally(this, request, ordered, items, positions);
            for (int b = 0; b < batches; b++)
            {
                var lane = lanes[b % lanes.Length];
                lane.Ready.Wait(cancellationToken);
                if (lane.Failure != null)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (lane.Failure is PotException e && FallsBack(e, lane.Runner, lane.Batch.Count, cancellationToken))
                    {
                        Refused(lane.Batch);
                        return null;
                    }
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(lane.Failure).Throw();
                }
                if (selfReference) StoreReferences(lane.Batch, lane.Outputs);
                if (Measure(tally, lane.Batch, lane.Outputs, lane.Milliseconds, b, batches, progress)) break;
                lane.Free.Release();
            }
            return tally.Result(clock, batchSize, Scattered(first), creation, progress, cancellationToken);
        }
        finally
        {
            stop.Cancel();
            try
            {
                Task.WaitAll(tasks.ToArray());
            }
            catch (AggregateException)
            {
                // Failures were taken from the lanes above; the rest were stopped on purpose.
            }
            // Forks first: the first runner disposes the session they share.
            for (int r = runners.Count - 1; r >= 0; r--) runners[r].Dispose();
        }
    }

    /// <summary>
    /// The order to measure <paramref name="items"/> in (and each one's position among them; null when they are the
    /// same) and its batches: the items of one shape together where the data set's items differ in shape (see
    /// <see cref="ShapeGroups"/>), else the items as asked, every <paramref name="batchSize"/> a batch.
    /// </summary>
    private (IReadOnlyList<int> Ordered, int[]? Positions, List<(int Start, int Count)> Batches) Plan(IReadOnlyList<int> items, int batchSize,
        IProgress<PotProgress>? progress, CancellationToken cancellationToken)
    {
        var groups = GroupsFor(batchSize, progress, cancellationToken);
        var positions = groups is { KeepsOrder: false } ? groups.Order(items) : null;
        IReadOnlyList<int> ordered = positions == null ? items : positions.Select(p => items[p]).ToArray();
        return (ordered, positions, ShapeGroups.Batches(ordered, groups, batchSize));
    }

    private ShapeGroups? _groups;
    private bool _shapesRead;

    /// <summary>
    /// Where the data set's items differ in shape and are not grouped, why: they then run one item per inference from
    /// the start (<see cref="BatchSize"/> 1), as a batch of several would be refused, instead of falling back after a
    /// refused batch to lone items run as pairs (SessionRunner.Run).
    /// </summary>
    private string? _scattered;

    /// <summary>
    /// Reads the data set's shapes once (<see cref="ShapeGroups.Find"/>): its groups, where its items differ in shape
    /// and every metric is a mean of per-item values (an aggregate such as F1 or mAP is left to see the items in the
    /// order asked for); else <see cref="_scattered"/> where they differ. Before any session is created for a run.
    /// </summary>
    private void ReadShapes(IProgress<PotProgress>? progress, CancellationToken cancellationToken)
    {
        if ((_shapesRead && !_shapesDiffer) || ConfiguredBatchSize <= 1) return;
        _groups = ShapeGroups.Find(_cache, !MetricIsItemMean.Contains(false), _shapesDiffer, progress, cancellationToken, out _scattered);
        // Token items (SQuAD's windows, CoNLL's sentences) differ in length only where padding is off.
        if (_scattered != null && Engine.Datasets.Any(d => d.Squad is { Padding: false } || d.Conll is { Padding: false }))
            _scattered += " The token items are not padded (padding: false); padded (padding: true, the default) they share one length.";
        _shapesRead = true;
        _shapesDiffer = false;
    }

    /// <summary>Set when a batch was refused for items of several shapes though the first items shared one: the next run reads every item's shape.</summary>
    private bool _shapesDiffer;

    /// <summary>
    /// After a refused batch: where its items differ in shape though the data set's first items share one (a few items
    /// of other sizes further on), the runs after this one read every item's shape first (<see cref="ReadShapes"/>), so
    /// that they batch items of one shape together, or run one item per inference from the start, instead of falling
    /// back again.
    /// </summary>
    private void Refused(IReadOnlyList<CachedDataset.Entry> batch)
    {
        if (_shapesRead && _groups == null && _scattered == null && batch.Select(_cache.ShapeKey).Distinct(StringComparer.Ordinal).Count() > 1) _shapesDiffer = true;
    }

    private bool MixesShapes(IReadOnlyList<CachedDataset.Entry> batch) => batch.Select(_cache.ShapeKey).Distinct(StringComparer.Ordinal).Skip(1).Any();

    /// <summary>The shape key of the item at each position of <paramref name="items"/>, each read once.</summary>
    private Func<int, string> ShapeAt(IReadOnlyList<int> items)
    {
        var known = new Dictionary<int, string>();
        return k => known.TryGetValue(k, out var key) ? key : known[k] = _cache.ShapeKey(_cache.Fetch(items[k]));
    }

    /// <summary>The data set's <see cref="ShapeGroups"/> for batches of <paramref name="batchSize"/>: null for one item per batch.</summary>
    private ShapeGroups? GroupsFor(int batchSize, IProgress<PotProgress>? progress, CancellationToken cancellationToken)
    {
        if (batchSize <= 1) return null;
        ReadShapes(progress, cancellationToken);
        return _groups;
    }

    /// <summary>True when every value item <paramref name="row"/> sees in every output is finite.</summary>
    private static bool IsFinite(BatchOutputs outputs, int row)
    {
        for (int o = 0; o < outputs.Names.Length; o++)
            if (PotPowerShell.Core.Calibration.SpanMath.FirstNonFinite(outputs.ItemValues(o, row)) >= 0) return false;
        return true;
    }

    /// <summary>One worker of <see cref="RunParallel"/>: its runner (input buffers on the shared session), output buffers and the batch they hold.</summary>
    private sealed class Lane(SessionRunner runner, BatchOutputs outputs)
    {
        public SessionRunner Runner { get; } = runner;
        public BatchOutputs Outputs { get; } = outputs;
        public List<CachedDataset.Entry> Batch { get; } = new();
        /// <summary>Released when the buffers may be refilled (their batch was measured).</summary>
        public SemaphoreSlim Free { get; } = new(1);
        /// <summary>Released when the batch ran (or failed).</summary>
        public SemaphoreSlim Ready { get; } = new(0);
        public double Milliseconds;
        public Exception? Failure;
    }

    /// <summary>Binds adapters, chooses the fetched outputs and computes missing FP32 references, before the first batch.</summary>
    /// <param name="selfReference">True when this run's outputs will be stored as the references (see <see cref="IsOwnReference"/>): none are computed here.</param>
    private void Prepare(SessionRunner runner, EvaluationRequest request, IReadOnlyList<int> items, CancellationToken cancellationToken, IProgress<PotProgress>? progress,
        bool selfReference = false)
    {
        foreach (var a in _adapters) a.Bind(runner.ModelOutputs, runner.DefaultOutput, runner.IntegerOutputs, runner.FirstInputDims);
        runner.SelectOutputs(FetchedOutputs(runner, request.AllOutputs));
        if (_referenceSpecs.Count == 0) return;
        if (!selfReference)
        {
            EnsureReferences(items, cancellationToken, progress);
            return;
        }
        foreach (var name in AddReferenceOutputs().Outputs)
            if (!runner.SelectedOutputs.Contains(name))
                throw new InvalidOperationException($"The reference output '{name}' is not among the evaluated model's fetched outputs.");
    }

    /// <summary>
    /// True when the FP32 references of <paramref name="items"/> are exactly this run's own outputs, so they need no run
    /// of their own: the evaluated model is the reference model (the same bytes), no item has a reference yet, the items
    /// come in ascending order (the batches <see cref="EnsureReferences"/> would run) and the run is one complete pass
    /// with the reference run's batch size (its workers do not matter: outputs are the same for every count).
    /// AccuracyAware's FP32 baseline is such a run: it then infers the FP32 model once instead of twice.
    /// </summary>
    private bool IsOwnReference(byte[] model, EvaluationRequest request, IReadOnlyList<int> items)
    {
        if (_referenceSpecs.Count == 0 || request.StopWhen != null || items.Count == 0) return false;
        for (int k = 1; k < items.Count; k++)
            if (items[k] <= items[k - 1]) return false;
        if (_references != null && items.Any(_references.HasAny)) return false;
        return model.AsSpan().SequenceEqual(_options.ReferenceModel);
    }

    /// <summary>Stores the reference outputs of a batch the reference model itself just ran (<see cref="IsOwnReference"/>).</summary>
    private void StoreReferences(List<CachedDataset.Entry> batch, BatchOutputs outputs) => StoreReferences(_references!, batch, outputs);

    /// <summary>
    /// Stores the references of the items of <paramref name="batch"/>, whose FP32 outputs <paramref name="outputs"/>
    /// holds: the rows the similarity metrics compare, and the predictions of the metrics that compare the FP32 model's
    /// detections or class maps.
    /// </summary>
    private void StoreReferences(ReferenceStore references, List<CachedDataset.Entry> batch, BatchOutputs outputs)
    {
        int count = batch.Count;
        foreach (var name in references.Rows)
        {
            int o = outputs.IndexOf(name);
            outputs.RequireBatchFirst(o, "the FP32 reference");
            for (int k = 0; k < count; k++) references.Set(name, batch[k].Index, outputs.Row(o, k).ToArray());
        }
        if (references.PredictedFrom.Count == 0) return;
        var sources = references.PredictedFrom.Select(outputs.IndexOf).ToArray();
        foreach (var a in _adapters) a.Resolve(outputs);
        for (int k = 0; k < count; k++)
        {
            var item = batch[k];
            bool finite = sources.All(o => Calibration.SpanMath.FirstNonFinite(outputs.ItemValues(o, k)) < 0);
            references.SetPrediction(item.Index, _adapters[_dataset.DatasetOf(item.Index)].Predict(outputs, k, item.Annotation)!, finite);
        }
    }

    /// <summary>The outputs the reference metrics compare, registered in the reference store (created on first use).</summary>
    private ReferenceStore AddReferenceOutputs()
    {
        // Adapters are bound to the evaluated model, whose output names the reference model shares.
        _references ??= new ReferenceStore(_dataset.Count, _options.ReferenceMemoryBytes);
        foreach (var s in _referenceSpecs)
        {
            if (s.ComparesPredictions)
            {
                // They compare with the FP32 model's predictions: its adapter's, from all its outputs.
                foreach (int d in s.Datasets)
                    foreach (var (_, name) in _adapters[d].OtherOutputs.Prepend(("output", _adapters[d].OutputName!))) _references.AddPredictionSource(name);
            }
            else if (s.Output != null) _references.AddOutput(s.Output);
            else foreach (int d in s.Datasets) _references.AddOutput(_adapters[d].OutputName!);
        }
        return _references;
    }

    /// <summary>
    /// Per-item values, aggregates and timings of one evaluation, filled batch by batch in the order measured
    /// (<see cref="Items"/>). Where that is not the order asked for (<see cref="Positions"/>), a complete result is given
    /// back in the order asked for, each metric (a mean of per-item values) summed in that order: the result an
    /// evaluation in that order gives.
    /// </summary>
    private sealed class Tally
    {
        private readonly Evaluator _owner;
        public readonly IReadOnlyList<int> Items;
        private readonly IReadOnlyList<int> _asked;
        /// <summary>For each item measured, its position in the order asked for; null when they are the same.</summary>
        public readonly int[]? Positions;
        public readonly EvaluationRequest Request;
        public readonly double[][] PerItem;
        public readonly double[][] Signals;
        public readonly double[][] Fragility;
        public readonly IAggregate[] Aggregates;
        public readonly object?[]? Predictions;
        public readonly object?[]? Annotations;
        public readonly List<double> BatchMs = new();
        public readonly List<int> BatchItems = new();
        public readonly SampleView View;
        public readonly Dictionary<string, double[]> ByName = new(StringComparer.Ordinal);
        public int Measured;
        public int NonFiniteItems;
        public int? FirstNonFinite;
        /// <summary>The position of <see cref="FirstNonFinite"/> in the order asked for.</summary>
        public int FirstNonFinitePosition = int.MaxValue;
        public int LastPercent = -1;

        public Tally(Evaluator owner, EvaluationRequest request, IReadOnlyList<int> items, IReadOnlyList<int> asked, int[]? positions)
        {
            _owner = owner;
            Items = items;
            _asked = asked;
            Positions = positions;
            Request = request;
            PerItem = owner._runners.Select(_ => new double[items.Count]).ToArray();
            Signals = owner._runners.Select(_ => new double[items.Count]).ToArray();
            Fragility = owner._runners.Select(_ => new double[items.Count]).ToArray();
            Aggregates = owner._runners.Select(r => r.NewAggregate()).ToArray();
            Predictions = request.KeepPredictions ? new object?[items.Count] : null;
            Annotations = request.KeepPredictions ? new object?[items.Count] : null;
            View = new SampleView { References = owner._references };
            for (int m = 0; m < owner._runners.Count; m++) ByName[owner._runners[m].Name] = PerItem[m];
        }

        public EvaluationResult Result(Stopwatch clock, int batchSize, string? fallback, TimeSpan sessionCreation, IProgress<PotProgress>? progress,
            CancellationToken cancellationToken)
        {
            bool stopped = Measured < Items.Count;
            var asked = stopped ? null : Positions;
            var values = new Dictionary<string, double>(StringComparer.Ordinal);
            var perItem = new Dictionary<string, double[]>(StringComparer.Ordinal);
            var signals = new Dictionary<string, double[]>(StringComparer.Ordinal);
            var fragility = new Dictionary<string, double[]>(StringComparer.Ordinal);
            for (int m = 0; m < _owner._runners.Count; m++)
            {
                perItem[_owner._runners[m].Name] = stopped ? PerItem[m][..Measured] : InAskedOrder(PerItem[m], asked);
                signals[_owner._runners[m].Name] = stopped ? Signals[m][..Measured] : InAskedOrder(Signals[m], asked);
                fragility[_owner._runners[m].Name] = stopped ? Fragility[m][..Measured] : InAskedOrder(Fragility[m], asked);
                if (asked == null && Aggregates[m] is ICancellableAggregate)
                    progress?.Report(new PotProgress("Evaluating " + Request.ModelName, $"Computing {_owner._runners[m].Name} over the {Measured} items", 100));
                values[_owner._runners[m].Name] = asked != null ? MeanAggregate.Of(perItem[_owner._runners[m].Name])
                    : Aggregates[m] is ICancellableAggregate slow ? slow.Result(cancellationToken) : Aggregates[m].Result();
            }
            return new EvaluationResult(values, perItem, stopped ? Items.Take(Measured).ToArray() : _asked, clock.Elapsed)
            {
                BatchSize = batchSize,
                BatchFallback = fallback != null,
                BatchFallbackReason = fallback,
                Inferences = BatchMs.Count,
                WarmupRuns = Items.Count > 0 ? Request.WarmupRuns : 0,
                SessionCreation = sessionCreation,
                BatchMilliseconds = BatchMs,
                BatchItems = BatchItems,
                Predictions = stopped ? Predictions?[..Measured] : InAskedOrder(Predictions, asked),
                Annotations = stopped ? Annotations?[..Measured] : InAskedOrder(Annotations, asked),
                StoppedEarly = stopped,
                NonFiniteItems = NonFiniteItems,
                FirstNonFiniteItem = FirstNonFinite,
                Signals = signals,
                Fragility = fragility,
                // The per-item parts go with the per-item predictions only (Compare-PotModel's evaluations): the search's
                // many evaluations would otherwise keep every item's detections alive.
                Weighted = Enumerable.Range(0, Aggregates.Length).Where(m => Request.KeepPredictions && Aggregates[m] is IWeightedAggregate)
                    .ToDictionary(m => _owner._runners[m].Name, m => (IWeightedAggregate)Aggregates[m], StringComparer.Ordinal),
            };
        }

        /// <summary><paramref name="values"/> (in the order measured) in the order asked for; as they are when <paramref name="positions"/> is null.</summary>
        [return: NotNullIfNotNull(nameof(values))]
        private static T[]? InAskedOrder<T>(T[]? values, int[]? positions)
        {
            if (values == null || positions == null) return values;
            var asked = new T[values.Length];
            for (int k = 0; k < values.Length; k++) asked[positions[k]] = values[k];
            return asked;
        }
    }

    /// <summary>
    /// Measures the next batch (the items after <see cref="Tally.Measured"/>), asking
    /// <see cref="EvaluationRequest.StopWhen"/> after each item, and reports progress. True = stop here.
    /// </summary>
    private bool Measure(Tally t, List<CachedDataset.Entry> batch, BatchOutputs outputs, double ms, int b, int batches, IProgress<PotProgress>? progress)
    {
        int start = t.Measured, count = batch.Count;
        t.BatchMs.Add(ms);
        t.BatchItems.Add(count);
        foreach (var a in _adapters) a.Resolve(outputs);
        var view = t.View;
        bool stop = false;
        for (int k = 0; k < count && !stop; k++)
        {
            var item = batch[k];
            int dataset = _dataset.DatasetOf(item.Index);
            view.Index = item.Index;
            view.Row = k;
            view.Annotation = item.Annotation;
            view.Dataset = dataset;
            view.Definition = _definitions[dataset];
            view.Outputs = outputs;
            view.Adapter = _adapters[dataset];
            view.NonFinite = !IsFinite(outputs, k);
            if (view.NonFinite)
            {
                t.NonFiniteItems++;
                int position = t.Positions?[start + k] ?? start + k;
                if (position < t.FirstNonFinitePosition) (t.FirstNonFinite, t.FirstNonFinitePosition) = (item.Index, position);
            }
            view.Prediction = _needsPrediction || t.Predictions != null ? view.Adapter.Predict(outputs, k, item.Annotation) : null;
            if (t.Predictions != null)
            {
                t.Predictions[start + k] = view.Prediction;
                t.Annotations![start + k] = item.Annotation;
            }
            for (int m = 0; m < _runners.Count; m++)
            {
                if (!_runners[m].Covers(dataset))
                {
                    t.PerItem[m][start + k] = t.Signals[m][start + k] = t.Fragility[m][start + k] = double.NaN;
                    continue;
                }
                double value = _runners[m].Measure(view, t.Aggregates[m]);
                t.PerItem[m][start + k] = value;
                double signal = double.IsNaN(value) ? double.NaN : _runners[m].Signal(view, value);
                t.Signals[m][start + k] = signal;
                t.Fragility[m][start + k] = double.IsNaN(value) ? double.NaN : _runners[m].Fragility(view, value, signal);
            }
            // Item by item, so where an evaluation stops does not depend on the batch size; the rest of the batch is
            // inferred but not measured.
            t.Measured = start + k + 1;
            stop = t.Measured < t.Items.Count && t.Request.StopWhen?.Invoke(t.Measured, t.ByName) == true;
        }
        int percent = PotProgress.Percent(b + 1, batches);
        if (progress != null && percent != t.LastPercent)
        {
            t.LastPercent = percent;
            progress.Report(new PotProgress("Evaluating " + t.Request.ModelName, $"Batch {b + 1} of {batches} ({t.Measured} of {t.Items.Count} items)", percent));
        }
        return stop;
    }

    /// <summary>
    /// True when ONNX Runtime refused a batch of several items on a model whose batch axis is dynamic, or the batch's
    /// items differ in shape (images of several sizes for a dynamic height and width), so the batch is run again item
    /// by item (a genuinely failing item then fails alone, with its own message).
    /// </summary>
    private static bool FallsBack(PotException e, SessionRunner runner, int count, CancellationToken cancellationToken) =>
        SessionRunner.RefusedBatch(e) && count > 1 && !runner.FixedBatch && !cancellationToken.IsCancellationRequested;

    /// <summary>ONNX Runtime intra-op threads used (0 = ORT's default).</summary>
    public int ThreadSetting => _options.Threads ?? Engine.Threads;

    private int Threads => ThreadSetting;

    /// <summary>
    /// Threads that run the evaluated model's session side by side (eval_requests_number), each with a share of the
    /// intra-op threads. Automatic: two where the thread setting (or, when it is automatic, the machine) allows two
    /// threads, else one. On a 2-core machine two workers of one thread each took 7 % (ResNet18), 21 % (MiniLM) and
    /// 13 % (OcrRec) less wall time for whole AccuracyAware runs than one worker with both threads, with the same model
    /// bytes (bench/Bench-AccuracyAware.ps1, variants 'new defaults' and 'one worker'). The gain is on the quantized
    /// candidates at small batches: one evaluation of the FP32 models at batch 32 took the same time either way. Not
    /// more than two: workers run ahead of the batch being measured, and an evaluation decided early discards their
    /// batches.
    /// </summary>
    public int Workers => _options.Workers is int w && w > 0 ? w : Math.Clamp(Threads > 0 ? Threads : Environment.ProcessorCount, 1, 2);

    /// <summary>One worker keeps the thread setting; several share the threads (or the cores when it is automatic), at least one each.</summary>
    private int ThreadsPerWorker(int workers) => workers <= 1 ? Threads : Math.Max(1, (Threads > 0 ? Threads : Environment.ProcessorCount) / workers);

    private int? BatchSizeSetting => _options.BatchSize ?? Engine.BatchSize ?? _chosenBatch;

    /// <summary>The batch size <see cref="ChooseBatchSize"/> measured; null until then.</summary>
    private int? _chosenBatch;

    /// <summary>Items a run infers at once when the model's batch axis is dynamic (1 where the items differ in shape and are not grouped).</summary>
    public int BatchSize => _scattered != null ? 1 : ConfiguredBatchSize;

    private int ConfiguredBatchSize => BatchSizeSetting ?? EngineDefinition.DefaultBatchSize;

    /// <summary><see cref="_scattered"/> when it made a run of <paramref name="runner"/> one item per inference; else null.</summary>
    private string? Scattered(SessionRunner runner) => _scattered != null && ConfiguredBatchSize > 1 && !runner.FixedBatch ? _scattered : null;

    /// <summary>
    /// Measures which batch size evaluates <paramref name="model"/> fastest and uses it from now on (see
    /// <see cref="BatchSizeProbe"/>), unless the engine or the options fix one or the model's batch axis is fixed (null)
    /// or the outputs change with the batch size (no <see cref="BatchSizeChoice.Chosen"/>): then nothing changes. For
    /// callers that evaluate many models like this one (AccuracyAware's candidates).
    /// A model that mixes the items of a batch (<see cref="BatchSizeChoice.MixesItems"/>) is evaluated one item at a
    /// time from now on when no batch size is given, and the reference outputs stored so far are dropped (their items
    /// changed each other's); with a batch size given, the choice only reports it.
    /// </summary>
    public BatchSizeChoice? ChooseBatchSize(byte[] model, CancellationToken cancellationToken)
    {
        int? given = _options.BatchSize ?? Engine.BatchSize;
        if (given == 1) return null;
        ReadShapes(null, cancellationToken);
        if (_scattered != null) return new BatchSizeChoice(1, Math.Min(ShapeGroups.Sample, _dataset.Count), Array.Empty<BatchSizeTiming>(), Workers: Workers) { Refusal = _scattered };
        var lanes = new List<SessionRunner> { NewRunner(model, DefaultModelName, ThreadsPerWorker(Workers)) };
        BatchSizeChoice? choice;
        try
        {
            var runner = lanes[0];
            if (runner.FixedBatch) return null;
            foreach (var a in _adapters) a.Bind(runner.ModelOutputs, runner.DefaultOutput, runner.IntegerOutputs, runner.FirstInputDims);
            runner.SelectOutputs(FetchedOutputs(runner, allOutputs: false));
            // Timed as the evaluations run: every worker on the one session.
            for (int w = 1; w < Workers; w++) lanes.Add(runner.Fork());
            // Items of one shape, as the evaluations batch them (ShapeGroups, read above).
            var indices = _groups?.LargestItems(BatchSizeProbe.Items) ?? Enumerable.Range(0, Math.Min(BatchSizeProbe.Items, _dataset.Count)).ToArray();
            choice = BatchSizeProbe.Measure(lanes, indices.Select(_cache.Fetch).ToList(), _cache.Layout, cancellationToken, time: given == null,
                _adapters.SelectMany(a => a.SharedOutputs).ToHashSet(StringComparer.Ordinal));
            if (choice != null) choice = choice with { OfOneShape = _groups != null };
        }
        finally
        {
            for (int r = lanes.Count - 1; r >= 0; r--) lanes[r].Dispose();
        }
        if (given != null) return choice?.MixesItems == true ? choice : null;
        if (choice?.MixesItems == true)
        {
            choice = choice with { Chosen = 1 };
            _references?.Dispose();
            _references = null;
        }
        if (choice?.Chosen is not int chosen) return choice;
        _chosenBatch = chosen;
        // A session prepared before the choice has the old batch size.
        lock (_preparedGate)
        {
            _prepared?.Runner.Dispose();
            _prepared = null;
        }
        return choice;
    }

    private IReadOnlyList<int> ResolveItems(IReadOnlyList<int>? items)
    {
        if (items == null) return Enumerable.Range(0, _dataset.Count).ToArray();
        foreach (int i in items)
            if ((uint)i >= (uint)_dataset.Count)
                throw new PotException("EvaluationItemOutOfRange", PotErrorCategory.InvalidArgument,
                    $"Item {i} does not exist: the data of '{Engine.Source}' holds {_dataset.Count} items (0 to {_dataset.Count - 1}).", i);
        return items;
    }

    /// <summary>The outputs a run fetches: all when asked or when a custom metric may read any, else <see cref="NeededOutputs"/>.</summary>
    private IEnumerable<string> FetchedOutputs(SessionRunner runner, bool allOutputs) =>
        allOutputs || _runners.Count == 0 || _hasCustom ? runner.ModelOutputs : NeededOutputs();

    /// <summary>Outputs adapters and metrics read: ORT skips work that only other outputs need.</summary>
    private HashSet<string> NeededOutputs()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var a in _adapters)
        {
            if (a.OutputName != null) names.Add(a.OutputName);
            foreach (var (_, name) in a.OtherOutputs) names.Add(name);
        }
        foreach (var r in _runners)
            if (r.Spec?.Output is { } o) names.Add(o);
        return names;
    }

    /// <summary>Items whose FP32 reference holds NaN or Inf, and the first of them (see <see cref="ReferenceStore.NonFinite"/>).</summary>
    public (int Count, int? First) NonFiniteReferences => _references?.NonFinite ?? (0, null);

    /// <summary>The outputs whose FP32 rows are kept (detection and segmentation metrics keep the FP32 predictions instead).</summary>
    internal IReadOnlyCollection<string> ReferenceRows => _references?.Rows ?? Array.Empty<string>();

    /// <summary>
    /// The warning for a reference model (<paramref name="reference"/> names it) with NaN or Inf outputs on some items:
    /// every model compared with it scores them at its worst value. Null when it has none, or none ran yet.
    /// </summary>
    public string? ReferenceWarning(string reference) => NonFiniteReferences is { Count: > 0 } bad
        ? $"The reference model '{reference}' gave NaN or Inf outputs on {bad.Count} items (first item {bad.First}): every metric compared with its outputs scores those items at its worst value, for every model. Check those items and the reference model."
        : null;

    /// <summary>Items the reference model has run for their FP32 references (not counting runs that were their own reference; tests read this).</summary>
    internal long ReferenceInferences { get; private set; }

    /// <summary>Computes the FP32 outputs of items that have none yet, for the outputs the reference metrics compare.</summary>
    private void EnsureReferences(IReadOnlyList<int> items, CancellationToken cancellationToken, IProgress<PotProgress>? progress)
    {
        var references = AddReferenceOutputs();
        var missing = items.Where(i => !references.Has(i)).Distinct().OrderBy(i => i).ToList();
        if (missing.Count == 0) return;
        using var runner = new SessionRunner(_options.ReferenceModel!, _options.ReferenceSource, Threads, BatchSize, _dataset.InputNames, _dataset.Source, itemShapes: ItemShapes);
        foreach (var name in references.Outputs)
            if (!runner.ModelOutputs.Contains(name))
                throw new PotException("EngineOutputNotFound", PotErrorCategory.InvalidData,
                    $"The reference model '{_options.ReferenceSource}' has no output '{name}'. Its outputs: {string.Join(", ", runner.ModelOutputs)}.", _options.ReferenceSource);
        runner.SelectOutputs(references.Outputs);
        var outputs = runner.NewOutputs();
        var batch = new List<CachedDataset.Entry>(runner.BatchSize);
        // The batches a run of the reference model itself on these items measures (IsOwnReference).
        var (ordered, _, batches) = Plan(missing, runner.BatchSize, progress, cancellationToken);
        for (int b = 0, done = 0; b < batches.Count; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (start, count) = batches[b];
            batch.Clear();
            for (int k = 0; k < count; k++) batch.Add(_cache.Fetch(ordered[start + k]));
            try
            {
                runner.Run(batch, _cache.Layout, outputs, cancellationToken);
            }
            catch (PotException e) when (FallsBack(e, runner, count, cancellationToken))
            {
                // As in Run: the items differ in shape, or the reference model hard-codes batch 1.
                Refused(batch);
                batches = MixesShapes(batch) ? ShapeGroups.ByShapeRuns(batches, b, ShapeAt(ordered)) : ShapeGroups.OneByOne(batches, b);
                b--;
                continue;
            }
            ReferenceInferences += count;
            StoreReferences(references, batch, outputs);
            done += count;
            progress?.Report(new PotProgress("Computing FP32 reference outputs", $"{done} of {missing.Count} items", PotProgress.Percent(done, missing.Count)));
        }
    }

    public void Dispose()
    {
        lock (_preparedGate)
        {
            _prepared?.Runner.Dispose();
            _prepared = null;
        }
        _shared?.Dispose();
        _shared = null;
        _references?.Dispose();
        _dataset.Dispose();
    }
}
