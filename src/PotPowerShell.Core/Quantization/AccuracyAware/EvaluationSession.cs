using System.Diagnostics;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>Thrown inside the search when MaxEvaluations or TimeLimit is reached; the search then returns the best model so far.</summary>
internal sealed class BudgetExhaustedException(string reason) : Exception(reason);

/// <summary>
/// Runs every evaluation of one accuracy-aware run: caches results per (model, items) so a model is never evaluated
/// twice, counts evaluations and inferences (in total and for ranking), and enforces the budgets.
/// </summary>
internal sealed class EvaluationSession
{
    private readonly IEvaluator _evaluator;
    private readonly Dictionary<string, EvaluationResult> _cache = new(StringComparer.Ordinal);
    private readonly int? _maxEvaluations;
    private readonly TimeSpan? _timeLimit;
    private readonly Func<TimeSpan> _clock;
    private readonly IProgress<PotProgress>? _progress;
    private readonly CancellationToken _cancellation;
    private byte[]? _floatBytes;
    private readonly HashSet<string> _refused = new(StringComparer.Ordinal);

    public EvaluationSession(IEvaluator evaluator, AccuracyAwareOptions options, Func<TimeSpan> clock, IProgress<PotProgress>? progress, CancellationToken cancellation)
    {
        _evaluator = evaluator;
        _maxEvaluations = options.MaxEvaluations;
        _timeLimit = options.TimeLimit;
        _clock = clock;
        _progress = progress == null ? null : new ChildProgress(progress);
        _cancellation = cancellation;
    }

    public IEvaluator Evaluator => _evaluator;
    public CancellationToken Cancellation => _cancellation;
    public int Evaluations { get; private set; }
    public long Inferences { get; private set; }
    public int RankingEvaluations { get; private set; }
    public long RankingInferences { get; private set; }

    /// <summary>True while layer ranking runs, so its cost is counted separately.</summary>
    public bool InRanking { get; set; }

    public int ItemCount => _evaluator.Data.Count;

    /// <summary>Sessions the evaluator runs side by side (1 for evaluators that do not say).</summary>
    public int Workers => _evaluator is Evaluator e ? e.Workers : 1;

    /// <summary>
    /// Items per inference of the last evaluation run (a model with a fixed batch axis runs at that size), or the
    /// evaluator's setting before any ran (0 for evaluators that do not say).
    /// </summary>
    public int BatchSize => _ranBatchSize > 0 ? _ranBatchSize : _evaluator is Evaluator e ? e.BatchSize : 0;

    private int _ranBatchSize;

    /// <summary>
    /// Lets the evaluator measure the batch size of the evaluations to come on <paramref name="candidate"/> (see
    /// <see cref="IEvaluator.ChooseBatchSize"/>): no evaluation, and no result changes, except for a model that mixes
    /// the items of a batch, which is evaluated one item at a time from then on: the results so far are forgotten, as
    /// their items changed each other's outputs.
    /// </summary>
    public BatchSizeChoice? ChooseBatchSize(ModelCandidate candidate)
    {
        var choice = _evaluator.ChooseBatchSize(Serialize(candidate), _cancellation);
        if (choice is { MixesItems: true, Chosen: 1 }) _cache.Clear();
        return choice;
    }

    /// <summary>The evaluator's shared initializers (<see cref="IEvaluator.ShareInitializers"/>); null = models are serialized whole.</summary>
    public SharedInitializers? Shared { get; init; }

    /// <summary>The candidate as the evaluator gets it: without the initializers its sessions are given.</summary>
    private byte[] Serialize(ModelCandidate candidate) => Serialize(candidate.Build());

    private byte[] Serialize(global::Onnx.ModelProto model) => Shared is { } shared ? shared.Serialize(model) : model.ToByteArray();

    /// <summary>Runs candidates from the activations of models one layer away (see <see cref="ActivationReuse"/>); null = every model whole.</summary>
    public ActivationReuse? Reuse { get; init; }

    /// <summary>
    /// How <paramref name="candidate"/> is evaluated on the full set (<paramref name="fullSet"/>) or a subset: whole, or
    /// as a suffix from the stores of <paramref name="stores"/> (leased on the search's thread: see
    /// <see cref="ActivationReuse.Take"/>), which it releases.
    /// </summary>
    private ActivationReuse.Plan Plan(ModelCandidate candidate, bool fullSet, ActivationReuse.Lease? stores)
    {
        if (Reuse is not { } reuse || stores == null) return Whole(Serialize(candidate));
        using (stores) return reuse.Make(candidate, fullSet, stores.Stores, Serialize);
    }

    private static ActivationReuse.Plan Whole(byte[] bytes) => new(bytes, null, null, null, 1);

    /// <summary>Throws <see cref="BudgetExhaustedException"/> when a budget is used up.</summary>
    public void CheckBudget()
    {
        _cancellation.ThrowIfCancellationRequested();
        if (_maxEvaluations is int max && Evaluations >= max)
            throw new BudgetExhaustedException($"MaxEvaluations ({max}) reached");
        if (_timeLimit is TimeSpan limit && _clock() >= limit)
            throw new BudgetExhaustedException($"TimeLimit ({limit}) reached");
    }

    /// <summary>Evaluates the FP32 model.</summary>
    public EvaluationResult EvaluateFloat(IQuantizedModelBuilder builder, IReadOnlyList<int>? items, bool mandatory) =>
        Evaluate("fp32", () => Whole(_floatBytes ??= builder.BaselineModel.ToByteArray()), Normalize(items), mandatory);

    /// <param name="next">The candidate the caller evaluates after this one, on the same items, if it knows: it is built
    /// and its session created while this one is evaluated (see <see cref="Prefetch"/>).</param>
    public EvaluationResult Evaluate(ModelCandidate candidate, IReadOnlyList<int>? items, bool mandatory = false, ModelCandidate? next = null)
    {
        items = Normalize(items);
        var result = Refused(candidate, Evaluate(candidate.Key, Bytes(candidate, items, next), items, mandatory));
        if (items == null) FullSetEvaluated?.Invoke(candidate, result);
        return result;
    }

    /// <summary>
    /// The run's checkpoint: evaluations it recorded are replayed instead of inferred (the search asks for them in the
    /// same order), every new one is recorded.
    /// </summary>
    public SearchCheckpoint? Checkpoint { get; init; }

    /// <summary>Where the session reports refused candidates (the run's log).</summary>
    public Action<string>? Log { get; set; }

    /// <summary>
    /// A quantized model with NaN or ±Inf outputs is broken, however few items show it: every metric becomes its worst
    /// value, so the candidate never meets the target nor beats a finite one.
    /// </summary>
    private EvaluationResult Refused(ModelCandidate candidate, EvaluationResult result)
    {
        if (result.NonFiniteItems == 0) return result;
        if (_refused.Add(candidate.Key))
            Log?.Invoke($"Refused the {candidate.Source.Tag} model with {candidate.Reverted.Count} layer(s) reverted: its outputs hold NaN or Inf on " +
                $"{result.NonFiniteItems} of {result.Items.Count} items (first item {result.FirstNonFiniteItem}).");
        var worst = _evaluator.Metrics.ToDictionary(m => m.Name,
            m => m.Direction == MetricDirection.HigherBetter ? double.NegativeInfinity : double.PositiveInfinity, StringComparer.Ordinal);
        return result with { Values = worst };
    }

    /// <summary>
    /// Evaluates a candidate on the full set (or on <paramref name="subset"/>), stopping as soon as
    /// <paramref name="stopWhen"/> says its outcome is decided (see <see cref="DecidedEarly"/>). A stopped result covers
    /// the items measured first only: it is neither cached nor offered to the best-model tracker, and the items it
    /// skipped are counted in <see cref="InferencesSaved"/>.
    /// </summary>
    /// <param name="order">Every item (of the subset), in the order to measure them (<see cref="DecidedEarly.Order"/>);
    /// null = index order. A complete result is given back in the order of the set (the subset's own), with each
    /// item-mean metric summed in that order, so it is the result an evaluation in that order gives.</param>
    /// <param name="subset">The items to evaluate, in their order (a ranking subset); null = the full set.</param>
    public EvaluationResult EvaluateUntilDecided(ModelCandidate candidate, Func<int, IReadOnlyDictionary<string, double[]>, bool>? stopWhen, ModelCandidate? next = null,
        IReadOnlyList<int>? order = null, IReadOnlyList<int>? subset = null)
    {
        subset = Normalize(subset);
        if (stopWhen == null) return Evaluate(candidate, subset, next: next);
        var result = Refused(candidate, Evaluate(candidate.Key, Bytes(candidate, subset, next), subset, mandatory: false, stopWhen, order));
        if (result.StoppedEarly)
        {
            DecidedEarly++;
            InferencesSaved += (subset?.Count ?? ItemCount) - result.Items.Count;
        }
        else if (subset == null) FullSetEvaluated?.Invoke(candidate, result);
        return result;
    }

    /// <summary>The complete evaluation of <paramref name="candidate"/> on every item made so far, or null.</summary>
    public EvaluationResult? Cached(ModelCandidate candidate) => _cache.GetValueOrDefault(CacheKey(candidate.Key, null));

    /// <summary>
    /// Takes up an evaluation <see cref="EvaluateUntilDecided"/> stopped in <paramref name="order"/>: measures only the
    /// items it skipped (a subset evaluation, so nothing is stored for the candidate), until <paramref name="stopWhen"/>
    /// decides again (a result stopped further on) or to the end. The complete result is the one an evaluation in that
    /// order gives, in index order (see <see cref="InIndexOrder"/>): an item's values do not depend on the items it is
    /// measured with (<see cref="DecidedEarly.BatchIndependent"/>). The items measured are no longer counted as saved.
    /// </summary>
    /// <param name="subset">The items <see cref="EvaluateUntilDecided"/> evaluated, in their order; null = the full set.</param>
    /// <param name="stopWhen">As <see cref="EvaluateUntilDecided"/>'s, asked with every item measured so far (those of
    /// <paramref name="stopped"/> first); null = complete it.</param>
    /// <param name="next">The candidate likely taken up after this one, built ahead (see <see cref="Prefetch"/>).</param>
    public EvaluationResult Resume(ModelCandidate candidate, EvaluationResult stopped, IReadOnlyList<int> order, IReadOnlyList<int>? subset = null,
        Func<int, IReadOnlyDictionary<string, double[]>, bool>? stopWhen = null, ModelCandidate? next = null)
    {
        subset = Normalize(subset);
        if (_cache.GetValueOrDefault(CacheKey(candidate.Key, subset)) is { } cached) return cached;
        if (!stopped.StoppedEarly) throw new ArgumentException("Only an evaluation stopped early can be resumed.", nameof(stopped));
        // The items measured, in the order they were (the evaluator may have grouped them by shape: ShapeGroups).
        var measured = stopped.Items.ToHashSet();
        var rest = order.Where(i => !measured.Contains(i)).ToArray();
        var tail = Evaluate(candidate.Key, Bytes(candidate, rest, next), rest, mandatory: false, AfterHead(stopped.PerItem, stopWhen));
        InferencesSaved -= tail.Items.Count;
        static Dictionary<string, double[]> Joined(IReadOnlyDictionary<string, double[]> head, IReadOnlyDictionary<string, double[]> tail) =>
            head.ToDictionary(p => p.Key, p => p.Value.Concat(tail[p.Key]).ToArray(), StringComparer.Ordinal);
        var joined = tail with
        {
            PerItem = Joined(stopped.PerItem, tail.PerItem),
            Signals = Joined(stopped.Signals, tail.Signals),
            Fragility = Joined(stopped.Fragility, tail.Fragility),
            Items = stopped.Items.Concat(tail.Items).ToArray(),
            Elapsed = stopped.Elapsed + tail.Elapsed,
            NonFiniteItems = stopped.NonFiniteItems + tail.NonFiniteItems,
            FirstNonFiniteItem = stopped.FirstNonFiniteItem ?? tail.FirstNonFiniteItem,
        };
        if (tail.StoppedEarly)
        {
            DecidedEarly++;
            return Refused(candidate, joined with { Values = Means(joined.PerItem, joined.Values) });
        }
        var whole = InIndexOrder(joined with { StoppedEarly = false }, subset);
        _cache[CacheKey(candidate.Key, subset)] = whole;
        var result = Refused(candidate, whole);
        if (subset == null) FullSetEvaluated?.Invoke(candidate, result);
        return result;
    }

    /// <summary>
    /// <paramref name="complete"/>, an evaluation of every item, on <paramref name="items"/> only, as evaluating those
    /// items gives it where an item's values do not depend on the items it is measured with
    /// (<see cref="DecidedEarly.BatchIndependent"/>) and every metric is an item mean: per-item values, signals and means
    /// in the order of <paramref name="items"/>. Null when <paramref name="complete"/> does not cover every item or
    /// holds non-finite outputs (which items is not kept).
    /// </summary>
    public static EvaluationResult? OnItems(EvaluationResult complete, IReadOnlyList<int> items)
    {
        if (complete.StoppedEarly || complete.NonFiniteItems > 0) return null;
        var position = new Dictionary<int, int>(complete.Items.Count);
        for (int k = 0; k < complete.Items.Count; k++) position[complete.Items[k]] = k;
        if (!items.All(position.ContainsKey)) return null;
        Dictionary<string, double[]> Picked(IReadOnlyDictionary<string, double[]> values) =>
            values.ToDictionary(p => p.Key, p => items.Select(i => p.Value[position[i]]).ToArray(), StringComparer.Ordinal);
        var perItem = Picked(complete.PerItem);
        return new EvaluationResult(Means(perItem, complete.Values), perItem, items, TimeSpan.Zero)
        {
            Signals = Picked(complete.Signals),
            Fragility = Picked(complete.Fragility),
            BatchSize = complete.BatchSize,
        };
    }

    /// <summary>A stop rule for the items after <paramref name="head"/>'s, asking <paramref name="stopWhen"/> with head's values in front.</summary>
    private static Func<int, IReadOnlyDictionary<string, double[]>, bool>? AfterHead(IReadOnlyDictionary<string, double[]> head,
        Func<int, IReadOnlyDictionary<string, double[]>, bool>? stopWhen)
    {
        if (stopWhen == null) return null;
        int measured = head.Values.FirstOrDefault()?.Length ?? 0;
        var whole = new Dictionary<string, double[]>(StringComparer.Ordinal);
        int copied = 0; // tail items already in the buffers (the rule is asked after each one)
        return (count, tail) =>
        {
            if (count < copied) copied = 0;
            foreach (var (name, values) in tail)
            {
                if (!head.TryGetValue(name, out var first)) continue;
                if (!whole.TryGetValue(name, out var buffer) || buffer.Length < measured + values.Length)
                {
                    whole[name] = buffer = new double[measured + values.Length];
                    first.CopyTo(buffer, 0);
                    Array.Copy(values, 0, buffer, measured, copied);
                }
                Array.Copy(values, copied, buffer, measured + copied, count - copied);
            }
            copied = count;
            return stopWhen(measured + count, whole);
        };
    }

    /// <summary>The candidate being built on another thread (with its session), and the serialized model it gives.</summary>
    private (string Key, Task<ActivationReuse.Plan> Plan, StrongBox<long> BuiltAt)? _next;

    /// <summary>
    /// Of the current evaluation's wait for its prefetched candidate, the part after the candidate was built: its session
    /// was still being created (counted as <see cref="SessionTime"/>, not <see cref="BuildTime"/>).
    /// </summary>
    private TimeSpan _sessionWait;

    /// <summary>
    /// The serialized <paramref name="candidate"/>, taken from <see cref="Prefetch"/> when it built it; then starts
    /// prefetching <paramref name="next"/>, so that building it and creating its session overlap with the evaluation
    /// that follows. Evaluations happen one at a time, in the caller's order; the prefetch only changes when the same
    /// work is done, never what it gives.
    /// </summary>
    private Func<ActivationReuse.Plan> Bytes(ModelCandidate candidate, IReadOnlyList<int>? items, ModelCandidate? next) => () =>
    {
        var prefetched = _next;
        _next = null;
        ActivationReuse.Plan? plan = null;
        if (prefetched is { } p)
        {
            // Wait for it in any case: the evaluator's prepared session must be settled before the next evaluation.
            long waitFrom = Stopwatch.GetTimestamp();
            try
            {
                var built = p.Plan.GetAwaiter().GetResult();
                if (p.Key == candidate.Key) plan = built;
                else built.Finish();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Building it again below reports the failure where it belongs.
            }
            long builtAt = Volatile.Read(ref p.BuiltAt.Value);
            if (builtAt != 0) _sessionWait = Stopwatch.GetElapsedTime(Math.Max(waitFrom, builtAt));
        }
        plan ??= Plan(candidate, items == null, Reuse?.Take());
        if (next != null) Prefetch(next, items);
        return plan;
    };

    /// <summary>
    /// Starts building <paramref name="candidate"/> and creating its evaluation session on a thread-pool thread (not
    /// while a checkpoint is replayed or when the evaluation is cached: nothing would run). A session that fails to load
    /// is not reported here: the evaluation creates it again and reports it.
    /// </summary>
    public void Prefetch(ModelCandidate candidate, IReadOnlyList<int>? items)
    {
        if (!Prefetching || Checkpoint?.Replaying == true || _cache.ContainsKey(CacheKey(candidate.Key, Normalize(items)))) return;
        var evaluator = _evaluator;
        var builtAt = new StrongBox<long>();
        var stores = Reuse?.Take();
        _next = (candidate.Key, Task.Run(() =>
        {
            var plan = Plan(candidate, items == null, stores);
            Volatile.Write(ref builtAt.Value, Stopwatch.GetTimestamp());
            try
            {
                evaluator.PrepareSession(plan.Bytes);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The evaluation creates the session again and reports the failure.
            }
            return plan;
        }), builtAt);
        Prefetches++;
    }

    /// <summary>
    /// Waits for a candidate still being built ahead (the search ended before evaluating it), so that no session is
    /// being created once the run is over; the evaluator disposes the session it prepared.
    /// </summary>
    public void Settle()
    {
        var pending = _next;
        _next = null;
        if (pending is { } p)
            try
            {
                p.Plan.GetAwaiter().GetResult().Finish();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Never evaluated: its failure concerns no result.
            }
    }

    /// <summary>False = build every candidate when it is evaluated (tests compare both ways).</summary>
    public bool Prefetching { get; init; } = true;

    /// <summary>Candidates built ahead of their evaluation (tests read this).</summary>
    public int Prefetches { get; private set; }

    /// <summary>Evaluations stopped once their outcome was decided.</summary>
    public int DecidedEarly { get; private set; }

    /// <summary>Items those evaluations did not need to infer (less those measured when a stopped evaluation was resumed).</summary>
    public long InferencesSaved { get; private set; }

    /// <summary>Called after every full-set evaluation of a candidate (cached or not), so no model seen escapes the best-model tracker.</summary>
    public Action<ModelCandidate, EvaluationResult>? FullSetEvaluated { get; set; }

    /// <summary>A subset that is the whole set in order is the whole set: one cache entry, one evaluation.</summary>
    private IReadOnlyList<int>? Normalize(IReadOnlyList<int>? items)
    {
        if (items == null || items.Count != _evaluator.Data.Count) return items;
        for (int i = 0; i < items.Count; i++)
            if (items[i] != i) return items;
        return null;
    }

    /// <summary>
    /// Evaluates a model on all items (null) or some. Mandatory evaluations (the FP32 baseline and the fully quantized
    /// model) run whatever the budget; every other one checks it first, and is stopped within one batch when the time
    /// limit passes while it runs (its partial result is dropped).
    /// </summary>
    /// <param name="order">All items in the order to evaluate them (only with <paramref name="items"/> null): see
    /// <see cref="EvaluateUntilDecided"/>.</param>
    private EvaluationResult Evaluate(string modelKey, Func<ActivationReuse.Plan> model, IReadOnlyList<int>? items, bool mandatory,
        Func<int, IReadOnlyDictionary<string, double[]>, bool>? stopWhen = null, IReadOnlyList<int>? order = null)
    {
        string key = CacheKey(modelKey, items);
        if (_cache.TryGetValue(key, out var cached)) return cached;
        if (!mandatory) CheckBudget();
        _cancellation.ThrowIfCancellationRequested();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_cancellation);
        if (!mandatory && _timeLimit is TimeSpan limit)
        {
            var left = limit - _clock();
            deadline.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }
        EvaluationResult result;
        if (Checkpoint == null || !Checkpoint.TryReplay(key, out result))
        {
            try
            {
                var build = Stopwatch.StartNew();
                _sessionWait = TimeSpan.Zero;
                var plan = model();
                BuildTime += build.Elapsed - _sessionWait;
                SessionTime += _sessionWait;
                result = Run(plan, items, stopWhen, order, deadline.Token);
                if (order != null && !result.StoppedEarly) result = InIndexOrder(result, items);
                SessionTime += result.SessionCreation;
                InferenceTime += result.Elapsed - result.SessionCreation;
                if (result.BatchSize > 0) _ranBatchSize = result.BatchSize;
            }
            catch (OperationCanceledException) when (!_cancellation.IsCancellationRequested)
            {
                throw new BudgetExhaustedException($"TimeLimit ({_timeLimit}) reached during an evaluation");
            }
            Checkpoint?.Record(key, result, _cancellation);
        }
        Evaluations++;
        long count = result.StoppedEarly ? result.Items.Count : items?.Count ?? _evaluator.Data.Count;
        Inferences += count;
        if (InRanking)
        {
            RankingEvaluations++;
            RankingInferences += count;
        }
        if (!result.StoppedEarly) _cache[key] = result;
        return result;
    }

    /// <summary>
    /// Runs the evaluation <paramref name="plan"/> describes. A suffix or capturing model that ONNX Runtime refuses is run
    /// whole instead, and nothing more is stored: the whole model gives the same results, or its own error.
    /// </summary>
    private EvaluationResult Run(ActivationReuse.Plan plan, IReadOnlyList<int>? items, Func<int, IReadOnlyDictionary<string, double[]>, bool>? stopWhen,
        IReadOnlyList<int>? order, CancellationToken cancellation)
    {
        EvaluationResult Whole(byte[] bytes) => stopWhen == null ? _evaluator.Evaluate(bytes, items, cancellation, _progress)
            : _evaluator.Evaluate(bytes, order ?? items, stopWhen, cancellation, _progress);
        if (plan.Exchange is not { } exchange) return Whole(plan.Bytes);
        EvaluationResult result;
        try
        {
            Reuse!.MakeRoom(plan);
            // A plan exchanges activations only when the run has a Reuse, which SearchContext gives only to an Evaluator.
            result = ((Evaluator)_evaluator).Run(plan.Bytes, new EvaluationRequest { Items = stopWhen == null ? items : order ?? items, StopWhen = stopWhen, Activations = exchange },
                cancellation, _progress);
        }
        catch (PotException e) when (plan.Whole != null)
        {
            Reuse!.Disable();
            plan.Finish();
            Log?.Invoke($"Candidates run whole from here: ONNX Runtime refused a model fed with stored activations ({e.Message})");
            return Whole(plan.Whole());
        }
        Reuse!.Ran(plan, complete: items == null && !result.StoppedEarly);
        return result;
    }

    /// <summary>
    /// A complete evaluation made in another order (its <see cref="EvaluationResult.Items"/>), as an evaluation in the
    /// set's order gives it (index order, or the order of <paramref name="subset"/>): per-item values and signals in that
    /// order, and each metric the mean of its per-item values summed in that order (NaN items skipped), as the
    /// evaluator's item-mean aggregate sums them (only item-mean metrics are evaluated out of order, see
    /// <see cref="DecidedEarly.Order"/>).
    /// </summary>
    private static EvaluationResult InIndexOrder(EvaluationResult result, IReadOnlyList<int>? subset = null)
    {
        Dictionary<int, int>? position = subset?.Select((item, k) => (item, k)).ToDictionary(p => p.item, p => p.k);
        double[] Sorted(double[] values)
        {
            var sorted = new double[values.Length];
            for (int k = 0; k < values.Length; k++) sorted[position == null ? result.Items[k] : position[result.Items[k]]] = values[k];
            return sorted;
        }
        var perItem = result.PerItem.ToDictionary(p => p.Key, p => Sorted(p.Value), StringComparer.Ordinal);
        return result with
        {
            Values = Means(perItem, result.Values),
            PerItem = perItem,
            Signals = result.Signals.ToDictionary(p => p.Key, p => Sorted(p.Value), StringComparer.Ordinal),
            Fragility = result.Fragility.ToDictionary(p => p.Key, p => Sorted(p.Value), StringComparer.Ordinal),
            Items = subset ?? Enumerable.Range(0, result.Items.Count).ToArray(),
        };
    }

    /// <summary>Each metric of <paramref name="perItem"/> as the mean of its values summed in their order (NaN skipped), over <paramref name="values"/>.</summary>
    private static Dictionary<string, double> Means(IReadOnlyDictionary<string, double[]> perItem, IReadOnlyDictionary<string, double> values)
    {
        var means = new Dictionary<string, double>(values, StringComparer.Ordinal);
        foreach (var (name, v) in perItem) means[name] = MeanAggregate.Of(v);
        return means;
    }

    /// <summary>
    /// Where evaluation time went: building and serializing candidate models, creating their ONNX Runtime sessions, and
    /// the rest of the evaluations (inference, metrics). A candidate prefetched while the previous one ran counts only
    /// the time its evaluation waited for it: for building until it was built, then for its session.
    /// </summary>
    public TimeSpan BuildTime { get; private set; }
    public TimeSpan SessionTime { get; private set; }
    public TimeSpan InferenceTime { get; private set; }

    /// <summary>Counts inferences run outside the evaluator (the output-error pass).</summary>
    public void CountInferences(long count)
    {
        Inferences += count;
        if (InRanking) RankingInferences += count;
    }

    private static string CacheKey(string modelKey, IReadOnlyList<int>? items) =>
        modelKey + "#" + (items == null ? "all" : string.Join(",", items));

    /// <summary>Evaluation progress shown as a child of the run's progress bar.</summary>
    private sealed class ChildProgress(IProgress<PotProgress> parent) : IProgress<PotProgress>
    {
        public void Report(PotProgress value) => parent.Report(value with { Id = Math.Max(value.Id, 1) });
    }
}
