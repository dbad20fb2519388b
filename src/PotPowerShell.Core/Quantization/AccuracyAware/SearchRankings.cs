using PotPowerShell.Core.Results;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// The layer rankings one stage of a run makes (the revert search; Get-LayerRanking's single ranking): how many so far,
/// which numbers their log lines and seeds each one's subset, and each layer's latest score. The first one is the
/// caller's given ranking (Invoke-AccuracyAwareQuantization -Ranking) when there is one.
/// </summary>
internal sealed class SearchRankings(SearchContext ctx, RunBaseline baseline)
{
    private readonly Dictionary<string, LayerRank> _scores = new(StringComparer.Ordinal);

    public int Count { get; private set; }

    /// <summary>Per layer, its score in the latest ranking.</summary>
    public IReadOnlyDictionary<string, LayerRank> Scores => _scores;

    /// <summary>ranking_subset_size (<see cref="DefaultSubsetSize"/> when not set), at most the pool.</summary>
    public int SubsetSize => Math.Min(ctx.Options.RankingSubsetSize ?? DefaultSubsetSize(ctx.Options.RankingMethod), baseline.Pool.Count);

    /// <summary>
    /// ranking_subset_size by default: 300 (POT) for Metric and OutputError ranking, 50 for Signal ranking, whose
    /// continuous per-item signal needs fewer items. 50 rather than 100: on both models of bench/Bench-AccuracyAware.ps1
    /// (ResNet18, MiniLM; 200 items) 50 items gave the same ranking order at the top, the same search path and the same
    /// model as 100, with half the ranking inferences.
    /// </summary>
    public static int DefaultSubsetSize(RankingMethod method) => method == RankingMethod.Signal ? 50 : 300;

    /// <summary>
    /// The subset the next ranking runs on: the items of the pool where <paramref name="evaluated"/> is worst against
    /// FP32 on the driving metric. A metric without per-item values (mAP-like) falls back to the error of the model
    /// outputs, as POT does for its "special" metrics.
    /// </summary>
    public RankingItems Subset(ModelCandidate evaluated, EvaluationResult result, MetricCriterion metric)
    {
        var pool = baseline.Pool;
        int size = SubsetSize;
        if (size >= pool.Count) return new RankingItems(pool);
        var reference = baseline.FloatOnPool();
        if (ctx.Options.RankingMethod == RankingMethod.Signal && ItemSelection.HasPerItem(result, metric.Name) && ItemSelection.HasPerItem(reference, metric.Name))
            return ItemSelection.HardestAndRandom(pool, ItemSelection.Signal(reference, metric), ItemSelection.Signal(result, metric), size, ctx.Seed + Count);
        if (ItemSelection.HasPerItem(result, metric.Name) && ItemSelection.HasPerItem(reference, metric.Name))
            return new RankingItems(ItemSelection.Hardest(pool, ItemSelection.PerItem(reference, metric.Name), ItemSelection.PerItem(result, metric.Name), metric, size));

        var session = ctx.Session;
        session.CheckBudget();
        var outputs = ctx.Builder.FloatModel.Graph.Output.Select(o => o.Name).ToList();
        var probe = ctx.Probe();
        var errors = probe.Compare(ctx.FloatBytes(), evaluated.BuildBytes(), outputs, pool, session.Cancellation);
        session.CountInferences((long)pool.Count * probe.InferencesPerItem);
        var perItem = new Dictionary<int, double>();
        for (int k = 0; k < pool.Count; k++)
            perItem[pool[k]] = errors.Values.Sum(e => double.IsNaN(e[k]) ? 0 : e[k]);
        ctx.Log($"Metric {metric.Name} has no per-item values: the ranking subset holds the {size} items with the largest output error.");
        return new RankingItems(ItemSelection.Hardest(pool, i => perItem[i], size));
    }

    /// <summary>Ranks the layers still quantized in <paramref name="current"/> on a subset picked from <paramref name="evaluated"/>'s per-item results.</summary>
    /// <param name="only">Rank these layers only (Get-LayerRanking -Layer); null = every layer still quantized.</param>
    public LayerRanking Rank(ModelCandidate current, ModelCandidate evaluated, EvaluationResult evaluatedResult, MetricCriterion metric, IReadOnlyCollection<string>? only = null)
    {
        using var _ = ctx.Stages.Stage("Ranking");
        var subset = Subset(evaluated, evaluatedResult, metric);
        if (ctx.GivenRanking != null && Count == 0) return Given(current, subset.Items, metric);
        var options = ctx.Options;
        var ranking = ctx.Ranker.Rank(current, subset, metric, baseline.Criteria, options.RankingMethod, only);
        Count++;
        foreach (var r in ranking.Layers) _scores[r.Layer] = r;
        ctx.Log($"Ranking {Count} ({options.RankingMethod}, metric {metric.Name}, {subset.Count} items): {ranking.Evaluations} evaluations, {ranking.Inferences} inferences; top: "
            + string.Join(", ", ranking.Layers.Take(3).Select(r => $"{r.Layer} {SearchContext.F(r.Score)}")));
        return ranking;
    }

    /// <summary>
    /// <see cref="Rank"/> for the search, as the queue it reverts from. A Metric ranking is decided early
    /// (<see cref="RankingQueue.Decided"/>) when decided-early evaluation applies to the driving metric: on every item
    /// when none is left out by ranking_subset_size or metric_subset_ratio, else on the subset <see cref="Subset"/> picks
    /// (POT's hardest items), where a layer stops once the items the current model gets wrong there are measured and it
    /// is certain to rank after the best layer so far. PaddleOCR's classifier on 1000 items ranks its layers nine times
    /// on 300 items of which the current model got 28 to 68 wrong: its rankings measured 70,127 items instead of 135,000
    /// (completions included), for the same model (bench/Bench-AccuracyAware.ps1 NOTES). The rest as <see cref="Rank"/>
    /// makes them.
    /// </summary>
    public (RankingQueue Queue, IReadOnlyList<int> Items) RankQueue(ModelCandidate current, ModelCandidate evaluated, EvaluationResult evaluatedResult,
        EvaluationResult currentResult, MetricCriterion metric)
    {
        var session = ctx.Session;
        bool everyItem = baseline.Pool.Count == session.ItemCount && SubsetSize >= baseline.Pool.Count;
        bool metricRanking = ctx.Options.RankingMethod == RankingMethod.Metric && !(ctx.GivenRanking != null && Count == 0);
        var everyItemOrder = metricRanking && everyItem ? DecidedEarly.Order(ctx, metric, currentResult) : null;
        if (!metricRanking || (everyItem ? everyItemOrder == null : !DecidedEarly.Applies(ctx, metric)))
        {
            var ranked = Rank(current, evaluated, evaluatedResult, metric);
            return (RankingQueue.Of(ranked.Layers), ranked.Items!);
        }
        using var _ = ctx.Stages.Stage("Ranking");
        int evaluations = session.Evaluations, decided = session.DecidedEarly;
        long inferences = session.Inferences;
        var layers = current.Source.Builder.Layers.Where(l => !current.Reverted.Contains(l.Node)).ToList();
        session.InRanking = true;
        RankingItems items;
        RankingQueue queue;
        try
        {
            // On a subset the candidates are compared with the current model on the same items, as Rank does: its
            // complete evaluation gives them, since decided-early evaluation applies (item means, batch-independent).
            items = everyItem ? new RankingItems(baseline.Pool) : Subset(evaluated, evaluatedResult, metric);
            var first = layers.Count > 0 ? current.With(layers[0].Node) : null;
            EvaluationResult reference;
            if (everyItem) reference = currentResult;
            else if (EvaluationSession.OnItems(currentResult, items.Items) is { } known)
            {
                reference = known;
                if (first != null) session.Prefetch(first, items.Items);
            }
            else reference = session.Evaluate(current, items.Items, next: first);
            var order = everyItemOrder ?? DecidedEarly.SubsetOrder(ctx, metric, reference);
            queue = RankingQueue.Decided(ctx, current, reference, layers, metric, order,
                (layer, result) => LayerRanker.RankOf(layer, reference, result, items, metric, baseline.Criteria, RankingMethod.Metric),
                everyItem ? null : items.Items);
        }
        finally
        {
            session.InRanking = false;
        }
        Count++;
        foreach (var r in queue.Measured) _scores[r.Layer] = r;
        queue.Completed = r => _scores[r.Layer] = r;
        var top = queue.Peek();
        ctx.Log($"Ranking {Count} (Metric, metric {metric.Name}, {items.Count} items, decided early): {session.Evaluations - evaluations} evaluations "
            + $"({session.DecidedEarly - decided} decided early), {session.Inferences - inferences} inferences; top: {top.Layer} {SearchContext.F(top.Score)}");
        return (queue, items.Items);
    }

    /// <summary>
    /// The given rankings as the first ranking: merged by score (best first, ties by name, NaN last), as shards ranked on
    /// other hosts come back; quantized layers they do not hold follow by name, unscored.
    /// </summary>
    private LayerRanking Given(ModelCandidate current, IReadOnlyList<int> subset, MetricCriterion metric)
    {
        var quantized = current.Source.Builder.Layers.Where(l => !current.Reverted.Contains(l.Node)).ToList();
        var names = quantized.Select(l => l.Node).ToHashSet(StringComparer.Ordinal);
        var given = ctx.GivenRanking!.Where(r => names.Contains(r.Layer))
            .OrderByDescending(r => double.IsNaN(r.Score) ? double.NegativeInfinity : r.Score).ThenBy(r => r.Layer, StringComparer.Ordinal)
            .DistinctBy(r => r.Layer).ToList();
        var ranked = given.Select(r => r.Layer).ToHashSet(StringComparer.Ordinal);
        var rest = quantized.Where(l => !ranked.Contains(l.Node)).OrderBy(l => l.Node, StringComparer.Ordinal)
            .Select(l => new LayerRank(0, l.Node, l.OpType, double.NaN, ctx.Options.RankingMethod, new MetricValues(), double.NaN)).ToList();
        var layers = given.Concat(rest).Select((r, i) => r with { Rank = i + 1 }).ToList();
        Count++;
        foreach (var r in layers) _scores[r.Layer] = r;
        ctx.Log($"Ranking {Count} (given, {given.Count} of {quantized.Count} layers ranked{(rest.Count > 0 ? $"; unranked, last: {string.Join(", ", rest.Select(r => r.Layer))}" : "")}); top: "
            + string.Join(", ", layers.Take(3).Select(r => $"{r.Layer} {SearchContext.F(r.Score)}")));
        return new LayerRanking(layers, metric.Name, subset.Count, 0, 0, subset);
    }

    /// <summary>Confirms the next layers of an OutputError ranking with the metric (see <see cref="LayerRanker.Confirm"/>).</summary>
    public List<LayerRank> Confirm(ModelCandidate current, IReadOnlyList<LayerRank> remaining, IReadOnlyList<int> subset, MetricCriterion metric)
    {
        using var _ = ctx.Stages.Stage("Ranking");
        var session = ctx.Session;
        int evaluations = session.Evaluations;
        long inferences = session.Inferences;
        var confirmed = ctx.Ranker.Confirm(current, remaining, subset, metric, baseline.Criteria);
        foreach (var r in confirmed) _scores[r.Layer] = r;
        ctx.Log($"Confirmed the next {Math.Min(ctx.Options.ConfirmTopLayers, remaining.Count)} layers with {metric.Name} ({session.Evaluations - evaluations} evaluations, {session.Inferences - inferences} inferences): "
            + string.Join(", ", confirmed.TakeWhile(r => r.Method == RankingMethod.Metric).Select(r => $"{r.Layer} {SearchContext.F(r.Score)}")));
        return confirmed;
    }
}
