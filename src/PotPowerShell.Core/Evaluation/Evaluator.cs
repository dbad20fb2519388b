using System.Diagnostics;
using PotPowerShell.Core.Data;
using System.Runtime.CompilerServices;

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
                _runners.Add(new CustomRunner(custom.Name, "custom", custom.Direction, null, custom.Metric));
            }
            _referenceSpecs = _runners.Select(r => r.Spec).OfType<MetricSpec>().Where(s => s.RequiresReference).ToList();
            if (_referenceSpecs.Count > 0 && _options.ReferenceModel == null)
                throw new PotException("ReferenceModelRequired", PotErrorCategory.InvalidArgument,
                    $"The metric '{_referenceSpecs[0].Name}' compares with the FP32 model's outputs (reference: fp32): give the original model as the reference (-ReferenceModelPath, or EvaluatorOptions.ReferenceModel).", _referenceSpecs[0].KeyPath);
            _hasCustom = _runners.OfType<CustomRunner>().Any();
            _needsPrediction = _hasCustom || _runners.OfType<TextRunner>().Any();
            Metrics = _runners.Select(r => new MetricDefinition(r.Name, r.Direction)).ToList();
            MetricTypes = _runners.Select(r => r.Type).ToList();
        }
        catch
        {
            _dataset.Dispose();
            throw;
        }
    }

    public EngineDefinition Engine { get; }

    public IReadOnlyList<MetricDefinition> Metrics { get; }

    /// <summary>The type word of each metric (accuracy, f1, script, custom...), aligned with <see cref="Metrics"/>.</summary>
    public IReadOnlyList<string> MetricTypes { get; }

    /// <summary>The engine's items, cached after their first read.</summary>
    public IDataset Data => _cache;

    /// <summary>How many items are held in memory and their approximate size.</summary>
    public (int Items, long Bytes) CacheUsage => (_cache.CachedItems, _cache.CachedBytes);

    public EvaluationResult Evaluate(byte[] model, IReadOnlyList<int>? items, CancellationToken cancellationToken, IProgress<PotProgress>? progress = null) =>
        Run(model, new EvaluationRequest { Items = items }, cancellationToken, progress);

    /// <summary>Evaluates a serialized model as <paramref name="request"/> says (items, warm-up, predictions).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public EvaluationResult Run(byte[] model, EvaluationRequest request, CancellationToken cancellationToken, IProgress<PotProgress>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        var items = ResolveItems(request.Items);
        cancellationToken.ThrowIfCancellationRequested();
        using var runner = new SessionRunner(model, request.ModelName, Threads, BatchSizeSetting, _dataset.InputNames, _dataset.Source);
        foreach (var a in _adapters) a.Bind(runner.ModelOutputs);
        runner.SelectOutputs(request.AllOutputs || _runners.Count == 0 || _hasCustom ? runner.ModelOutputs : NeededOutputs());
        if (_referenceSpecs.Count > 0) EnsureReferences(items, cancellationToken, progress);

        var outputs = runner.NewOutputs();
        var perItem = _runners.Select(_ => new double[items.Count]).ToArray();
        var aggregates = _runners.Select(r => r.NewAggregate()).ToArray();
        var predictions = request.KeepPredictions ? new object?[items.Count] : null;
        var annotations = request.KeepPredictions ? new object?[items.Count] : null;
        var batchMs = new List<double>();
        var batchItems = new List<int>();
        var view = new SampleView { References = _references };
        var batch = new List<CachedDataset.Entry>(runner.BatchSize);
        int batchSize = runner.BatchSize;
        bool fellBack = false;
        int lastPercent = -1;
        int nonFiniteItems = 0;
        int? firstNonFinite = null;

        for (int start = 0, b = 0; start < items.Count; b++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = Math.Min(batchSize, items.Count - start);
            batch.Clear();
            for (int k = 0; k < count; k++) batch.Add(_cache.Fetch(items[start + k]));
            double ms;
            try
            {
                if (start == 0)
                    for (int w = 0; w < request.WarmupRuns; w++) runner.Run(batch, _cache.Layout, outputs, cancellationToken);
                ms = runner.Run(batch, _cache.Layout, outputs, cancellationToken);
            }
            catch (PotException e) when (FallsBack(e, runner, count, cancellationToken))
            {
                // A graph that hard-codes batch 1 (e.g. Reshape to [1, -1]) behind a dynamic batch axis fails on several
                // items at once, as calibration finds too: run this batch again one item at a time, and the rest likewise.
                batchSize = 1;
                fellBack = true;
                b--;
                continue;
            }
            batchMs.Add(ms);
            batchItems.Add(count);
            foreach (var a in _adapters) a.Resolve(outputs);
            for (int k = 0; k < count; k++)
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
                view.NonFinite = !outputs.IsFinite(k);
                if (view.NonFinite && nonFiniteItems++ == 0) firstNonFinite = item.Index;
                view.Prediction = _needsPrediction || predictions != null ? view.Adapter.Predict(outputs, k) : null;
                if (predictions != null)
                {
                    predictions[start + k] = view.Prediction;
                    annotations![start + k] = item.Annotation;
                }
                for (int m = 0; m < _runners.Count; m++)
                    perItem[m][start + k] = _runners[m].Covers(dataset) ? _runners[m].Measure(view, aggregates[m]) : double.NaN;
            }
            start += count;
            int batches = b + 1 + (items.Count - start + batchSize - 1) / batchSize;
            int percent = PotProgress.Percent(b + 1, batches);
            if (progress != null && percent != lastPercent)
            {
                lastPercent = percent;
                progress.Report(new PotProgress("Evaluating " + request.ModelName, $"Batch {b + 1} of {batches} ({start} of {items.Count} items)", percent));
            }
        }

        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        var perItemByName = new Dictionary<string, double[]>(StringComparer.Ordinal);
        for (int m = 0; m < _runners.Count; m++)
        {
            values[_runners[m].Name] = aggregates[m].Result();
            perItemByName[_runners[m].Name] = perItem[m];
        }
        return new EvaluationResult(values, perItemByName, items, clock.Elapsed)
        {
            BatchSize = batchSize,
            BatchFallback = fellBack,
            Inferences = batchMs.Count,
            WarmupRuns = items.Count > 0 ? request.WarmupRuns : 0,
            SessionCreation = runner.CreationTime,
            BatchMilliseconds = batchMs,
            BatchItems = batchItems,
            Predictions = predictions,
            Annotations = annotations,
            NonFiniteItems = nonFiniteItems,
            FirstNonFiniteItem = firstNonFinite,
        };
    }

    /// <summary>
    /// True when ONNX Runtime refused a batch of several items on a model whose batch axis is dynamic, so the batch is
    /// run again item by item (a genuinely failing item then fails alone, with its own message).
    /// </summary>
    private static bool FallsBack(PotException e, SessionRunner runner, int count, CancellationToken cancellationToken) =>
        e.ErrorId == SessionRunner.RunFailedId && count > 1 && !runner.FixedBatch && !cancellationToken.IsCancellationRequested;

    /// <summary>ONNX Runtime intra-op threads used (0 = ORT's default).</summary>
    public int ThreadSetting => _options.Threads ?? Engine.Threads;

    private int Threads => ThreadSetting;

    private int? BatchSizeSetting => _options.BatchSize ?? Engine.BatchSize;

    private IReadOnlyList<int> ResolveItems(IReadOnlyList<int>? items)
    {
        if (items == null) return Enumerable.Range(0, _dataset.Count).ToArray();
        foreach (int i in items)
            if ((uint)i >= (uint)_dataset.Count)
                throw new PotException("EvaluationItemOutOfRange", PotErrorCategory.InvalidArgument,
                    $"Item {i} does not exist: the data of '{Engine.Source}' holds {_dataset.Count} items (0 to {_dataset.Count - 1}).", i);
        return items;
    }

    /// <summary>Outputs adapters and metrics read: ORT skips work that only other outputs need.</summary>
    private HashSet<string> NeededOutputs()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var a in _adapters)
            if (a.OutputName != null) names.Add(a.OutputName);
        foreach (var r in _runners)
            if (r.Spec?.Output is { } o) names.Add(o);
        return names;
    }

    /// <summary>Computes the FP32 outputs of items that have none yet, for the outputs the reference metrics compare.</summary>
    private void EnsureReferences(IReadOnlyList<int> items, CancellationToken cancellationToken, IProgress<PotProgress>? progress)
    {
        // Adapters are bound to the evaluated model, whose output names the reference model shares.
        _references ??= new ReferenceStore(_dataset.Count);
        foreach (var s in _referenceSpecs)
        {
            if (s.Output != null) _references.AddOutput(s.Output);
            else foreach (int d in s.Datasets) _references.AddOutput(_adapters[d].OutputName!);
        }
        var missing = items.Where(i => !_references.Has(i)).Distinct().OrderBy(i => i).ToList();
        if (missing.Count == 0) return;
        using var runner = new SessionRunner(_options.ReferenceModel!, _options.ReferenceSource, Threads, BatchSizeSetting, _dataset.InputNames, _dataset.Source);
        foreach (var name in _references.Outputs)
            if (!runner.ModelOutputs.Contains(name))
                throw new PotException("EngineOutputNotFound", PotErrorCategory.InvalidData,
                    $"The reference model '{_options.ReferenceSource}' has no output '{name}'. Its outputs: {string.Join(", ", runner.ModelOutputs)}.", _options.ReferenceSource);
        runner.SelectOutputs(_references.Outputs);
        var outputs = runner.NewOutputs();
        var batch = new List<CachedDataset.Entry>(runner.BatchSize);
        int batchSize = runner.BatchSize;
        for (int start = 0; start < missing.Count;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            batch.Clear();
            int count = Math.Min(batchSize, missing.Count - start);
            for (int k = 0; k < count; k++) batch.Add(_cache.Fetch(missing[start + k]));
            try
            {
                runner.Run(batch, _cache.Layout, outputs, cancellationToken);
            }
            catch (PotException e) when (FallsBack(e, runner, count, cancellationToken))
            {
                batchSize = 1; // as in Run: the reference model hard-codes batch 1
                continue;
            }
            foreach (var name in _references.Outputs)
            {
                int o = outputs.IndexOf(name);
                outputs.RequireBatchFirst(o, "the FP32 reference");
                for (int k = 0; k < count; k++) _references.Set(name, missing[start + k], outputs.Row(o, k).ToArray());
            }
            start += count;
            progress?.Report(new PotProgress("Computing FP32 reference outputs", $"{start} of {missing.Count} items", PotProgress.Percent(start, missing.Count)));
        }
    }

    public void Dispose() => _dataset.Dispose();
}
