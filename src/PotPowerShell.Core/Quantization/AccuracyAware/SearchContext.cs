using System.Globalization;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>The state one accuracy-aware run shares between its stages.</summary>
internal sealed class SearchContext
{
    public const string Activity = "Accuracy-aware quantization";

    private readonly List<string> _log = new();
    private readonly IProgress<string>? _logSink;
    private readonly IProgress<PotProgress>? _progress;
    private readonly Func<ILayerOutputProbe> _probe;
    private EvaluationResult? _floatOnPool;

    public SearchContext(AccuracyAwareOptions options, IEvaluator evaluator, IQuantizedModelBuilder builder, ILayerOutputProbe? probe,
        IProgress<PotProgress>? progress, IProgress<string>? log, Func<TimeSpan> clock, CancellationToken cancellation, SearchCheckpoint? checkpoint = null,
        bool prefetch = true)
    {
        Options = options;
        Builder = builder;
        Clock = clock;
        Stages = new StageClock(clock);
        _progress = progress;
        _logSink = log;
        Session = new EvaluationSession(evaluator, options, clock, progress, cancellation) { Log = Log, Checkpoint = checkpoint, Prefetching = prefetch };
        FloatBytes = LayerRanker.FloatBytes(builder);
        ILayerOutputProbe? created = probe;
        _probe = () => created ??= new OrtLayerOutputProbe(evaluator.Data, options.Quantization.Threads);
        Ranker = new LayerRanker(Session, options, _probe, FloatBytes,
            (status, done, total) => Report(status, PotProgress.Percent(done, total)));
    }

    public AccuracyAwareOptions Options { get; }
    public IQuantizedModelBuilder Builder { get; }
    public EvaluationSession Session { get; }
    public LayerRanker Ranker { get; }
    public Func<byte[]> FloatBytes { get; }
    public Func<TimeSpan> Clock { get; }
    public StageClock Stages { get; }
    public MetricCriteria Criteria { get; set; } = null!;
    public BestModelTracker Best { get; set; } = null!;
    /// <summary>Items compared per item between FP32 and INT8: all, or the metric_subset_ratio sample when baselines are given.</summary>
    public IReadOnlyList<int> Pool { get; set; } = Array.Empty<int>();
    public List<AccuracyAwareIteration> Iterations { get; } = new();
    /// <summary>Per layer, how it scored when it was last picked for reverting.</summary>
    public Dictionary<string, RevertedLayer> Picks { get; } = new(StringComparer.Ordinal);
    /// <summary>Per layer, its score in the latest ranking (for a model picked up from a ranking evaluation).</summary>
    public Dictionary<string, LayerRank> Scores { get; } = new(StringComparer.Ordinal);
    public int Rankings { get; private set; }
    public int Seed => Options.Quantization.Seed;
    public IReadOnlyList<string> LogLines => _log;

    /// <summary>ranking_subset_size (<see cref="DefaultRankingSubsetSize"/> when not set), at most the pool.</summary>
    public int RankingSubsetSize => Math.Min(Options.RankingSubsetSize ?? DefaultRankingSubsetSize(Options.RankingMethod), Pool.Count);

    /// <summary>
    /// ranking_subset_size by default: 300 (POT) for Metric and OutputError ranking, 50 for Signal ranking, whose
    /// continuous per-item signal needs fewer items. 50 rather than 100: on both models of bench/Bench-AccuracyAware.ps1
    /// (ResNet18, MiniLM; 200 items) 50 items gave the same ranking order at the top, the same search path and the same
    /// model as 100, with half the ranking inferences.
    /// </summary>
    public static int DefaultRankingSubsetSize(RankingMethod method) => method == RankingMethod.Signal ? 50 : 300;

    /// <summary>Top-ranked reverts whose full-set drop was measured, and how many of them lowered it ("rank precision").</summary>
    public int RankTrials { get; set; }
    public int RankHits { get; set; }

    public void Log(string line)
    {
        _log.Add(line);
        _logSink?.Report(line);
    }

    /// <summary>A line for the verbose stream only, not the result's log (which stays reproducible): measured times.</summary>
    public void Notice(string line) => _logSink?.Report(line);

    public void Report(string status, int percent = -1) => _progress?.Report(new PotProgress(Activity, status, percent));

    /// <summary>Invariant, compact number formatting for the log (no culture, no time: the log is reproducible).</summary>
    public static string F(double value) => value.ToString("G6", CultureInfo.InvariantCulture);

    public string Describe(IReadOnlyDictionary<string, double> values) =>
        string.Join(", ", Criteria.Metrics.Select(m => $"{m.Name} {F(values[m.Name])} (drop {F(m.Drop(values[m.Name]))}, max {F(m.MaxDrop)})"));

    /// <summary>FP32 evaluated on the pool: from the baseline when it covered everything, else evaluated now (once).</summary>
    public EvaluationResult FloatOnPool()
    {
        if (_floatOnPool != null) return _floatOnPool;
        _floatOnPool = Session.EvaluateFloat(Builder, Pool.Count == Session.ItemCount ? null : Pool, mandatory: false);
        return _floatOnPool;
    }

    public void SetFloatOnPool(EvaluationResult result) => _floatOnPool = result;

    /// <summary>
    /// The ranking subset: the items of the pool where <paramref name="evaluated"/> is worst against FP32 on the
    /// driving metric. A metric without per-item values (mAP-like) falls back to the error of the model outputs, as POT
    /// does for its "special" metrics.
    /// </summary>
    public IReadOnlyList<int> RankingSubset(ModelCandidate evaluated, EvaluationResult result, MetricCriterion metric)
    {
        int size = RankingSubsetSize;
        if (size >= Pool.Count) return Pool;
        var reference = FloatOnPool();
        if (Options.RankingMethod == RankingMethod.Signal && ItemSelection.HasPerItem(result, metric.Name) && ItemSelection.HasPerItem(reference, metric.Name))
            return ItemSelection.HardestAndRandom(Pool, ItemSelection.Signal(reference, metric), ItemSelection.Signal(result, metric), size, Seed + Rankings);
        if (ItemSelection.HasPerItem(result, metric.Name) && ItemSelection.HasPerItem(reference, metric.Name))
            return ItemSelection.Hardest(Pool, ItemSelection.PerItem(reference, metric.Name), ItemSelection.PerItem(result, metric.Name), metric, size);

        Session.CheckBudget();
        var outputs = Builder.FloatModel.Graph.Output.Select(o => o.Name).ToList();
        var probe = _probe();
        var errors = probe.Compare(FloatBytes(), evaluated.BuildBytes(), outputs, Pool, Session.Cancellation);
        Session.CountInferences((long)Pool.Count * probe.InferencesPerItem);
        var perItem = new Dictionary<int, double>();
        for (int k = 0; k < Pool.Count; k++)
            perItem[Pool[k]] = errors.Values.Sum(e => double.IsNaN(e[k]) ? 0 : e[k]);
        Log($"Metric {metric.Name} has no per-item values: the ranking subset holds the {size} items with the largest output error.");
        return ItemSelection.Hardest(Pool, i => perItem[i], size);
    }

    /// <summary>Rankings the caller measured (Invoke-AccuracyAwareQuantization -Ranking): the search's first ranking, instead of measuring one.</summary>
    public IReadOnlyList<LayerRank>? GivenRanking { get; init; }

    /// <summary>Ranks the layers still quantized in <paramref name="current"/> on a subset picked from <paramref name="evaluated"/>'s per-item results.</summary>
    /// <param name="only">Rank these layers only (Get-LayerRanking -Layer); null = every layer still quantized.</param>
    public LayerRanking Rank(ModelCandidate current, ModelCandidate evaluated, EvaluationResult evaluatedResult, MetricCriterion metric, IReadOnlyCollection<string>? only = null)
    {
        using var _ = Stages.Stage("Ranking");
        var subset = RankingSubset(evaluated, evaluatedResult, metric);
        if (GivenRanking != null && Rankings == 0) return Given(current, subset, metric);
        var ranking = Ranker.Rank(current, subset, metric, Criteria, Options.RankingMethod, only);
        Rankings++;
        foreach (var r in ranking.Layers) Scores[r.Layer] = r;
        Log($"Ranking {Rankings} ({Options.RankingMethod}, metric {metric.Name}, {subset.Count} items): {ranking.Evaluations} evaluations, {ranking.Inferences} inferences; top: "
            + string.Join(", ", ranking.Layers.Take(3).Select(r => $"{r.Layer} {F(r.Score)}")));
        return ranking;
    }

    /// <summary>
    /// The given rankings as the first ranking: merged by score (best first, ties by name, NaN last), as shards ranked on
    /// other hosts come back; quantized layers they do not hold follow by name, unscored.
    /// </summary>
    private LayerRanking Given(ModelCandidate current, IReadOnlyList<int> subset, MetricCriterion metric)
    {
        var quantized = current.Source.Builder.Layers.Where(l => !current.Reverted.Contains(l.Node)).ToList();
        var names = quantized.Select(l => l.Node).ToHashSet(StringComparer.Ordinal);
        var given = GivenRanking!.Where(r => names.Contains(r.Layer))
            .OrderByDescending(r => double.IsNaN(r.Score) ? double.NegativeInfinity : r.Score).ThenBy(r => r.Layer, StringComparer.Ordinal)
            .DistinctBy(r => r.Layer).ToList();
        var ranked = given.Select(r => r.Layer).ToHashSet(StringComparer.Ordinal);
        var rest = quantized.Where(l => !ranked.Contains(l.Node)).OrderBy(l => l.Node, StringComparer.Ordinal)
            .Select(l => new LayerRank(0, l.Node, l.OpType, double.NaN, Options.RankingMethod, new SortedDictionary<string, double>(StringComparer.Ordinal), double.NaN)).ToList();
        var layers = given.Concat(rest).Select((r, i) => r with { Rank = i + 1 }).ToList();
        Rankings++;
        foreach (var r in layers) Scores[r.Layer] = r;
        Log($"Ranking {Rankings} (given, {given.Count} of {quantized.Count} layers ranked{(rest.Count > 0 ? $"; unranked, last: {string.Join(", ", rest.Select(r => r.Layer))}" : "")}); top: "
            + string.Join(", ", layers.Take(3).Select(r => $"{r.Layer} {F(r.Score)}")));
        return new LayerRanking(layers, metric.Name, subset.Count, 0, 0, subset);
    }

    /// <summary>Confirms the next layers of an OutputError ranking with the metric (see <see cref="LayerRanker.Confirm"/>).</summary>
    public List<LayerRank> Confirm(ModelCandidate current, IReadOnlyList<LayerRank> remaining, IReadOnlyList<int> subset, MetricCriterion metric)
    {
        using var _ = Stages.Stage("Ranking");
        int evaluations = Session.Evaluations;
        long inferences = Session.Inferences;
        var confirmed = Ranker.Confirm(current, remaining, subset, metric, Criteria);
        foreach (var r in confirmed) Scores[r.Layer] = r;
        Log($"Confirmed the next {Math.Min(Options.ConfirmTopLayers, remaining.Count)} layers with {metric.Name} ({Session.Evaluations - evaluations} evaluations, {Session.Inferences - inferences} inferences): "
            + string.Join(", ", confirmed.TakeWhile(r => r.Method == RankingMethod.Metric).Select(r => $"{r.Layer} {F(r.Score)}")));
        return confirmed;
    }
}
