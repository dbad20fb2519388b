using Onnx;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// Runs a candidate one layer away from a model evaluated before as the part of its model that layer changes
/// (<see cref="SuffixCut"/>), fed with that model's stored activations (<see cref="ActivationStore"/>). Every
/// candidate of a search step is one layer away from the current model, whose complete evaluation stored them, so each
/// infers only the layers from its own onwards. The results are the same bits (see <see cref="SuffixCut"/>), so the
/// search takes the same path.
/// </summary>
/// <param name="budgetBytes">Memory all stores may hold, the one being captured included: a capture first makes room by
/// dropping the least recently used stores (<see cref="MakeRoom"/>), and a capture that still passes it is not kept.</param>
internal sealed class ActivationReuse(int items, long budgetBytes)
{
    /// <summary>A suffix of more than this share of the nodes saves too little to be worth its own session.</summary>
    public const double MaxShare = 0.9;

    /// <summary>Stores kept: the current model's and the latest candidates' (least recently used dropped first).</summary>
    public const int MaxStores = 4;

    /// <summary>
    /// Candidates one layer away from a store that found no cut worth running, before any did, after which nothing
    /// more is stored: a model whose float tensors run from end to end (a transformer's residual stream) has no cut, and
    /// storing its activations would only cost.
    /// </summary>
    public const int TriesBeforeGivingUp = 8;

    /// <summary>The default budget: <see cref="Budget"/> of the memory the process may use and the machine's load at the last collection.</summary>
    public static long DefaultBudget()
    {
        var memory = GC.GetGCMemoryInfo(GCKind.Any);
        return Budget(memory.TotalAvailableMemoryBytes, memory.MemoryLoadBytes);
    }

    /// <summary>
    /// Half of <paramref name="total"/>, the memory the process may use, but no more than three quarters of what is
    /// free (<paramref name="load"/> is the memory in use; 0 = not known yet: a quarter of the total), and at least 1 GB.
    /// When stores held every cut tensor, a PaddleOCR recognizer's took about 3 MB per 48x320 line: on 1000 lines a
    /// quarter of 24 GB held two of them and the second ranking ran whole; half ran 128 of 151 evaluations from stores
    /// against 97, 246.8 s against 275.2 s, the same model (bench/Bench-AccuracyAware.ps1 NOTES).
    /// </summary>
    public static long Budget(long total, long load) =>
        Math.Max(1L << 30, load <= 0 ? total / 4 : Math.Min(total / 2, Math.Max(0, total - load) / 4 * 3));

    /// <summary>Captures in a row that passed the budget after making room: at <see cref="OverflowsBeforeGivingUp"/> nothing more is stored.</summary>
    public const int OverflowsBeforeGivingUp = 2;

    /// <summary>Most recently used last.</summary>
    private readonly List<ActivationStore> _stores = new();
    private bool _disabled;
    private int _misses;
    private int _overflows;

    public long BudgetBytes => budgetBytes;

    /// <summary>The most bytes the stores held at once, the one being captured included.</summary>
    public long PeakBytes { get; private set; }

    /// <summary>The memory captures copy into, recycled from released stores.</summary>
    public RowPool Pool { get; } = new();

    /// <summary>
    /// How one evaluation runs: the bytes given to the evaluator, the store it reads and the one it fills. The plan holds
    /// its target until <see cref="Finish"/>, and its source too when <see cref="Make"/> chose it: a store dropped while
    /// the plan waits (made ahead) keeps its rows until the plan ran.
    /// </summary>
    /// <param name="Whole">The whole model's bytes, for a plan that exchanges activations: what runs if ONNX Runtime refuses its model.</param>
    public sealed record Plan(byte[] Bytes, ActivationStore? Source, ActivationStore? Target, IReadOnlySet<string>? Produced, double Share, Func<byte[]>? Whole = null)
    {
        public Runtime.IActivationStore? Exchange => Source == null && Target == null ? null : ActivationStore.Exchange(Source, Target);

        /// <summary>True when the plan holds its source (see <see cref="Make"/>).</summary>
        public bool HoldsSource { get; init; }

        private int _finished;

        /// <summary>Releases what the plan holds (once): after it ran, or when it will not run (made ahead for another candidate, or the search ended).</summary>
        public void Finish()
        {
            if (Interlocked.Exchange(ref _finished, 1) != 0) return;
            if (HoldsSource) Source!.Release();
            Target?.Release();
        }
    }

    /// <summary>The stores as they are now, each held until the lease is disposed: a plan made from them later (ahead, on another thread) reads intact rows.</summary>
    public sealed class Lease(IReadOnlyList<ActivationStore> stores) : IDisposable
    {
        private int _disposed;
        public IReadOnlyList<ActivationStore> Stores => stores;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            foreach (var store in stores) store.Release();
        }
    }

    /// <summary>Evaluations that ran a suffix, and the sum of their node shares.</summary>
    public int Suffixes { get; private set; }
    public double ShareSum { get; private set; }

    /// <summary>
    /// The stores as they are now, most recently used first (taken on the search's thread, so that a plan made ahead
    /// on another thread depends only on the search's order).
    /// </summary>
    public IReadOnlyList<ActivationStore> Snapshot()
    {
        lock (_stores) return _stores.AsEnumerable().Reverse().ToList();
    }

    /// <summary>The <see cref="Snapshot"/>, held (see <see cref="Lease"/>).</summary>
    public Lease Take()
    {
        lock (_stores)
        {
            var stores = Snapshot();
            foreach (var store in stores) store.Hold();
            return new Lease(stores);
        }
    }

    /// <summary>
    /// The plan for <paramref name="candidate"/>: a suffix of the first store one layer away that gives one, else the
    /// whole model. On the full set (<paramref name="fullSet"/>) it also captures its cut tensors for a store of its
    /// own: those its suffix computes, or all of them.
    /// </summary>
    public Plan Make(ModelCandidate candidate, bool fullSet, IReadOnlyList<ActivationStore> stores, Func<ModelProto, byte[]> serialize)
    {
        var model = candidate.Build();
        if (ReadOnly) return Nearest(candidate, model, stores, serialize);
        bool capture = fullSet && !_disabled;
        // Plans are made one at a time in the search's order (ahead on another thread, or at the evaluation), so the
        // misses counted here, and what they decide, are the same in every run.
        bool nearby = false;
        foreach (var store in stores)
        {
            if (store.Candidate.Source.Tag != candidate.Source.Tag || !OneApart(store.Candidate, candidate)) continue;
            nearby = true;
            if (SuffixCut.Find(store.Model, model, store.Names, store.Declared, MaxShare, capture, capture ? Capturable(candidate.Source) : null) is not { } cut) continue;
            _misses = -1;
            return FromStore(store, cut, capture ? new ActivationStore(candidate, model, items, budgetBytes, Pool) : null, model, serialize);
        }
        if (nearby && _misses >= 0 && ++_misses >= TriesBeforeGivingUp) _disabled = true;
        if (!capture || SuffixCut.CutTensors(model.Graph).Where(Capturable(candidate.Source).Contains).ToList() is not { Count: > 0 } cuts)
            return new Plan(serialize(model), null, null, null, 1);
        return new Plan(serialize(SuffixCut.Capturing(model, cuts)), null, new ActivationStore(candidate, model, items, budgetBytes, Pool), null, 1, () => serialize(model));
    }

    /// <summary>Per source, the cut tensors worth storing (see <see cref="Capturable"/>).</summary>
    private readonly Dictionary<string, IReadOnlySet<string>> _capturable = new(StringComparer.Ordinal);

    /// <summary>
    /// The cut tensors worth storing: those the suffix of a layer reverted alone in the fully quantized model reads,
    /// within <see cref="MaxShare"/>. A reverted layer loses its input's QuantizeLinear, so its suffix grows back to
    /// where the float ops before it read quantized tensors; a layer's own quantized input is then mostly read by no
    /// suffix, and the first ones only by suffixes too long to run. PaddleOCR's recognizer's suffixes read 35 of its 79
    /// cut tensors: on 1000 lines the stores held at most 3.8 GB instead of 8.3 GB, and the run took 206.2 s instead
    /// of 227.2 s, the same model (bench/Bench-AccuracyAware.ps1 NOTES).
    /// </summary>
    private IReadOnlySet<string> Capturable(QuantizationSource source)
    {
        lock (_capturable)
        {
            if (_capturable.TryGetValue(source.Tag, out var known)) return known;
            var fully = ModelCandidate.FullyQuantized(source);
            var model = fully.Build();
            var cuts = SuffixCut.CutTensors(model.Graph).ToHashSet(StringComparer.Ordinal);
            // Only which tensors a cut reads matters here, not the shapes the suffix would declare. Each layer's
            // model is built and compared on its own, side by side: this runs before the fully quantized model's
            // evaluation, with the cores otherwise idle (ArcticXs, 48 layers: 0.7 s one at a time).
            var reads = new IEnumerable<string>[source.Builder.Layers.Count];
            Parallel.For(0, reads.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, k =>
            {
                try
                {
                    reads[k] = SuffixCut.Find(model, fully.With(source.Builder.Layers[k].Node).Build(), cuts, _ => AnyShape, MaxShare, capture: false)?.StoredInputs
                        ?? Array.Empty<string>();
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // A layer whose reverted model cannot be built: store every cut tensor. The search reports the
                    // failure if it ever reverts that layer; a run that never does must not fail here.
                    reads[k] = cuts;
                }
            });
            return _capturable[source.Tag] = reads.SelectMany(r => r).ToHashSet(StringComparer.Ordinal);
        }
    }

    private static readonly string[] AnyShape = { "" };

    /// <summary>
    /// A model whose store is dropped last (null: none): the best layer so far of a decided Metric ranking (see
    /// <see cref="RankingQueue.Decided"/>), whose model the search most likely goes on from.
    /// </summary>
    public ModelCandidate? Pinned { get; set; }

    /// <summary>
    /// True while the backward pass runs: candidates read the stores but add none. Its tries mostly miss the limit
    /// (stopped early, or measured and not kept), so what they captured would mostly be thrown away after costing the
    /// capture; the tries after one that kept the target differ from the search's model in more than one layer, and run
    /// from its store from the earliest layer they change (<see cref="Nearest"/>). OcrRec on 1000 lines
    /// (bench/Bench-AccuracyAware.ps1 NOTES): backward stage 87.7 s -> 77.2 s, the same model; PaddleOCR's classifier
    /// 15.4 s -> 9.4 s.
    /// </summary>
    public bool ReadOnly { get; set; }

    /// <summary>The smallest suffix any store of the candidate's source gives, however many layers apart, else the whole model; nothing captured.</summary>
    private static Plan Nearest(ModelCandidate candidate, ModelProto model, IReadOnlyList<ActivationStore> stores, Func<ModelProto, byte[]> serialize)
    {
        (SuffixCut Cut, ActivationStore Store)? nearest = null;
        foreach (var store in stores)
            if (store.Candidate.Source.Tag == candidate.Source.Tag
                && SuffixCut.Find(store.Model, model, store.Names, store.Declared, MaxShare, capture: false) is { } cut
                && (nearest == null || cut.NodeShare < nearest.Value.Cut.NodeShare))
                nearest = (cut, store);
        return nearest is { } n ? FromStore(n.Store, n.Cut, null, model, serialize) : new Plan(serialize(model), null, null, null, 1);
    }

    /// <summary>A plan that runs <paramref name="cut"/> (of <paramref name="model"/>) fed from <paramref name="store"/>, which it holds until it is finished.</summary>
    private static Plan FromStore(ActivationStore store, SuffixCut cut, ActivationStore? target, ModelProto model, Func<ModelProto, byte[]> serialize)
    {
        var bytes = serialize(cut.Model);
        store.Hold();
        return new Plan(bytes, store, target, cut.Produced, cut.NodeShare, () => serialize(model)) { HoldsSource = true };
    }

    /// <summary>Drops the stores and stores nothing more: ONNX Runtime refused a suffix or a capturing model, so later ones would fail too.</summary>
    public void Disable()
    {
        _disabled = true;
        lock (_stores)
        {
            foreach (var store in _stores) store.Release();
            _stores.Clear();
            Pool.Trim(0);
        }
    }

    /// <summary>
    /// Before <paramref name="plan"/> runs (on the search's thread, in its order): when its capture would not fit beside
    /// the stores held, drops the least recently used ones (never the store it reads, nor the pinned one) until it
    /// would, and lets it capture what the budget leaves. What it will capture is known closely beforehand: a suffix
    /// computes again the tensors of its store it produces; a whole model captures about what the largest store holds.
    /// A large validation set thus keeps the current model's store and its latest candidate's, where a full budget used
    /// to stop all storing: OcrRec on 1000 lines with Metric ranking (bench/Bench-AccuracyAware.ps1 NOTES) ran 69 of 79
    /// evaluations from stored activations against 35, 112.5 s against 150.7 s, the same model.
    /// </summary>
    public void MakeRoom(Plan plan)
    {
        if (plan.Target is not { } target) return;
        lock (_stores)
        {
            long expected = plan.Source != null && plan.Produced != null ? plan.Source.BytesOf(plan.Produced)
                : _stores.Count > 0 ? _stores.Max(s => s.BytesOf(s.Names)) : 0;
            while (Held() + expected > budgetBytes && _stores.FindIndex(s => s != plan.Source && s.Candidate.Key != Pinned?.Key) is >= 0 and var oldest)
                Drop(oldest);
            target.Allow(budgetBytes - Held());
        }
    }

    /// <summary>After <paramref name="plan"/> ran: counts it, keeps its store when the evaluation was complete, and finishes it.</summary>
    public void Ran(Plan plan, bool complete)
    {
        try
        {
            Keep(plan, complete);
        }
        finally
        {
            plan.Finish();
            lock (_stores) Pool.Trim(budgetBytes - Held());
        }
    }

    private void Keep(Plan plan, bool complete)
    {
        if (plan.Source != null)
        {
            Suffixes++;
            ShareSum += plan.Share;
        }
        lock (_stores)
        {
            if (plan.Target is { } captured) PeakBytes = Math.Max(PeakBytes, Held() + captured.Bytes);
            // Used: the current model's store stays while its candidates come and go.
            bool sourceHeld = plan.Source != null && _stores.Remove(plan.Source);
            if (sourceHeld) _stores.Add(plan.Source!);
            if (plan.Target is not { } target || !complete) return;
            if (target.Overflowed)
            {
                // Not kept. Twice in a row: a store does not fit beside the ones that must stay, so stop capturing.
                if (++_overflows >= OverflowsBeforeGivingUp) _disabled = true;
                return;
            }
            _overflows = 0;
            target.Complete(plan.Source, plan.Produced);
            // Read from a store dropped meanwhile (a plan made ahead): what it took is held by this store alone now.
            if (plan.Source != null && !sourceHeld) target.Adopt();
            // Before the store it was cut from, which stays the most recently used: a candidate is kept less often
            // than the model it came from is used again.
            target.Hold();
            _stores.Insert(sourceHeld ? _stores.Count - 1 : _stores.Count, target);
            while ((_stores.Count > MaxStores || Held() > budgetBytes) && _stores.FindIndex(s => s.Candidate.Key != Pinned?.Key) is >= 0 and var oldest)
                Drop(oldest);
        }
    }

    private long Held() => _stores.Sum(s => s.Bytes);

    /// <summary>Drops a store; the stores that took tensors from it count them as their own from now on.</summary>
    private void Drop(int index)
    {
        var dropped = _stores[index];
        _stores.RemoveAt(index);
        foreach (var s in _stores)
            if (s.Base == dropped) s.Adopt();
        dropped.Release();
    }

    private static bool OneApart(ModelCandidate a, ModelCandidate b) =>
        Math.Abs(a.Reverted.Count - b.Reverted.Count) == 1 && (a.Reverted.Count < b.Reverted.Count ? a.Reverted.IsSubsetOf(b.Reverted) : b.Reverted.IsSubsetOf(a.Reverted));
}
