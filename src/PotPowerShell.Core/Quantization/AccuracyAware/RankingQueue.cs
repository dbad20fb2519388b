using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// The layers of a ranking in the order <see cref="GreedySearch"/> reverts them. A Metric ranking (on the full set or a
/// ranking subset) is decided early (<see cref="Decided"/>): a layer's evaluation stops once it is certain to score
/// below the best layer measured completely so far, and such a layer is completed (on the items it skipped) only when
/// the search gets to where it could come next. The layers still come out in the order of the complete ranking
/// (largest gain, then name), so the search takes the path a complete ranking gives. A stopped layer is taken up only
/// until it is certain to come after the layer that would otherwise come next, and completed only when it could come
/// next itself. OcrRec with -RankingMethod Metric
/// (bench/Bench-AccuracyAware.ps1 NOTES) ran 24 % fewer ranking inferences than complete rankings on its table's lines
/// and 31 % fewer on other lines, for the same models.
/// </summary>
internal sealed class RankingQueue
{
    private readonly List<Entry> _pending;
    /// <summary>
    /// Measures a stopped layer further: until it is certain to come after the given leader (a tighter smallest drop),
    /// or completely (its rank entry and drop); null leader = completely. The third entry is the one likely measured next
    /// (built ahead). Null: a ranking measured completely, kept in its order.
    /// </summary>
    private readonly Action<Entry, Entry?, Entry?>? _advance;

    /// <summary>The driving metric of a decided ranking (null: a ranking measured completely).</summary>
    private readonly MetricCriterion? _metric;

    private RankingQueue(List<Entry> pending, Action<Entry, Entry?, Entry?>? advance = null, MetricCriterion? metric = null)
    {
        _pending = pending;
        _advance = advance;
        _metric = metric;
    }

    /// <summary>A ranking measured completely, in its order.</summary>
    public static RankingQueue Of(IEnumerable<LayerRank> ranked) => new(ranked.Select(r => new Entry(r.Layer, r, double.NaN)).ToList());

    /// <summary>
    /// Ranks the layers still quantized in <paramref name="current"/> by the driving metric on the full set, or on the
    /// ranking subset <paramref name="subset"/> (Metric, POT). <paramref name="order"/> measures first the items where
    /// the current model is short of the metric's best per-item value (<see cref="DecidedEarly.Order"/>): once those are
    /// measured, every remaining item at its best is where the current model already is, so the smallest drop the layer
    /// can still give is close to the one it will give. From there a layer's evaluation stops as soon as it is certain
    /// to come after the best layer measured completely so far (<see cref="After"/>), unless on the full set it could
    /// still meet the target (the best-model tracker sees every model that may).
    /// </summary>
    /// <param name="currentResult">The current model's complete evaluation on the same items.</param>
    /// <param name="rank">A layer's rank entry from its complete evaluation.</param>
    /// <param name="subset">The ranking subset in its order; null = the full set.</param>
    public static RankingQueue Decided(SearchContext ctx, ModelCandidate current, EvaluationResult currentResult, IReadOnlyList<QuantizableLayer> layers,
        MetricCriterion metric, IReadOnlyList<int> order, Func<QuantizableLayer, EvaluationResult, LayerRank> rank, IReadOnlyList<int>? subset = null)
    {
        var session = ctx.Session;
        var bounds = session.Evaluator.MeanItemBounds[metric.Name];
        double bestValue = metric.Direction == MetricDirection.HigherBetter ? bounds.Max : bounds.Min;
        int total = subset?.Count ?? session.ItemCount;
        // Only a full-set evaluation can meet the target.
        double mayMeet = subset == null ? metric.MaxDrop : double.NegativeInfinity;
        int shortItems = currentResult.PerItem[metric.Name].Count(v => double.IsFinite(v) && v != bestValue);
        var byName = layers.ToDictionary(l => l.Node, StringComparer.Ordinal);
        var entries = new List<Entry>(layers.Count);
        Entry? best = null;
        // Stops a layer's evaluation once it is certain to rank after the leader (none: never).
        Func<int, IReadOnlyDictionary<string, double[]>, bool> StopsAfter(string layer, Entry? leader) => (measured, perItem) =>
        {
            // Not before the short items are measured: a layer stopped sooner keeps a looser smallest drop, so more
            // stopped layers must be taken up again before the search can pass them (OcrRec: 30,265 inferences against
            // 25,338; the classifier, once taking up stopped layers stopped again: 979 evaluations against 661 for
            // about as many inferences, bench/Bench-AccuracyAware.ps1 NOTES).
            if (leader == null || measured < shortItems || !perItem.TryGetValue(metric.Name, out var values)) return false;
            double drop = DecidedEarly.MinimalDrop(metric, bounds, values, measured, total);
            return drop > mayMeet + Margin(metric) && After(metric, drop, layer, leader);
        };
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            ctx.Report($"Ranking: reverting {layer.Node}", PotProgress.Percent(i, layers.Count));
            var result = session.EvaluateUntilDecided(current.With(layer.Node), StopsAfter(layer.Node, best),
                i + 1 < layers.Count ? current.With(layers[i + 1].Node) : null, order, subset);
            var entry = new Entry(layer.Node, result.StoppedEarly ? null : rank(layer, result), DecidedEarly.Drop(ctx, metric, result, total)) { Stopped = result.StoppedEarly ? result : null };
            entries.Add(entry);
            if (entry.Rank != null && (best == null || Before(entry, best)))
            {
                best = entry;
                // The layer the search will most likely revert next: its store is the one the next ranking reads. Each
                // later layer measured completely stores its own, and the oldest would otherwise go first. (A subset
                // evaluation stores nothing.)
                if (session.Reuse is { } reuse && subset == null) reuse.Pinned = current.With(layer.Node);
            }
        }
        void Advance(Entry entry, Entry? leader, Entry? next)
        {
            using var _ = ctx.Stages.Stage("Ranking");
            bool inRanking = session.InRanking;
            session.InRanking = true;
            try
            {
                var result = session.Resume(current.With(entry.Layer), entry.Stopped!, order, subset, StopsAfter(entry.Layer, leader),
                    next == null ? null : current.With(next.Layer));
                entry.Drop = DecidedEarly.Drop(ctx, metric, result, total);
                entry.Stopped = result.StoppedEarly ? result : null;
                if (!result.StoppedEarly) entry.Rank = rank(byName[entry.Layer], result);
            }
            finally
            {
                session.InRanking = inRanking;
            }
        }
        return new RankingQueue(entries, Advance, metric);
    }

    /// <summary>Rounding: the evaluator's mean and the bound's sum may differ in the last bits, so a decision needs a clear margin.</summary>
    private static double Margin(MetricCriterion metric) => 1e-9 * metric.Scale;

    /// <summary>
    /// True when a layer whose drop can be no smaller than <paramref name="minimalDrop"/> is certain to rank after
    /// <paramref name="leader"/> (measured completely): a larger drop, or the same one (within rounding) and a later name.
    /// </summary>
    private static bool After(MetricCriterion metric, double minimalDrop, string layer, Entry leader) =>
        minimalDrop > leader.Drop + Margin(metric)
        || (minimalDrop >= leader.Drop - Margin(metric) && string.CompareOrdinal(layer, leader.Layer) > 0);

    /// <summary>The complete ranking's order of two layers measured completely: larger score first, ties by name.</summary>
    private static bool Before(Entry a, Entry b) => LayerRanker.RankOrder.Compare(a.Rank!, b.Rank!) < 0;

    public int Count => _pending.Count;

    /// <summary>Layers measured completely so far, in ranking order (for the log and the scores).</summary>
    public IEnumerable<LayerRank> Measured => LayerRanker.Ordered(_pending.Where(e => e.Rank != null).Select(e => e.Rank!));

    public LayerRank Peek()
    {
        Settle();
        return _pending[0].Rank!;
    }

    public LayerRank Dequeue()
    {
        Settle();
        var first = _pending[0];
        _pending.RemoveAt(0);
        return first.Rank!;
    }

    /// <summary>Empties the queue: the rest of the ranking in order, every layer measured completely.</summary>
    public List<LayerRank> DequeueAll()
    {
        var all = new List<LayerRank>();
        while (Count > 0) all.Add(Dequeue());
        return all;
    }

    /// <summary>Called with each layer measured completely after the ranking was made.</summary>
    public Action<LayerRank>? Completed { get; set; }

    /// <summary>
    /// Puts the next layer of the complete ranking first: the first layer measured completely in ranking order, once
    /// every layer stopped early is certain to come after it; else the stopped layer with the smallest possible drop is
    /// measured further, until it is certain to come after that layer or completely.
    /// </summary>
    private void Settle()
    {
        if (_pending.Count == 0) throw new InvalidOperationException("The ranking is used up.");
        while (_advance != null)
        {
            Entry? best = null;
            foreach (var e in _pending)
                if (e.Rank != null && (best == null || Before(e, best))) best = e;
            var open = _pending.Where(e => e.Rank == null && (best == null || !After(_metric!, e.Drop, e.Layer, best)))
                .OrderBy(e => e.Drop).ThenBy(e => e.Layer, StringComparer.Ordinal).Take(2).ToList();
            if (open.Count == 0)
            {
                _pending.Remove(best!);
                _pending.Insert(0, best!);
                return;
            }
            _advance(open[0], best, open.Count > 1 ? open[1] : null);
            if (open[0].Rank is { } completed) Completed?.Invoke(completed);
        }
    }

    /// <summary>A layer of the ranking: its rank entry once measured completely, and its drop (smallest possible while stopped early).</summary>
    private sealed class Entry(string layer, LayerRank? rank, double drop)
    {
        public string Layer { get; } = layer;
        public LayerRank? Rank { get; set; } = rank;
        public double Drop { get; set; } = drop;

        /// <summary>The evaluation that stopped early, until it is resumed.</summary>
        public EvaluationResult? Stopped { get; set; }
    }
}
