using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// Ranks the quantized layers of a candidate by how much reverting each one alone helps, on the ranking subset.
/// Metric (POT): revert each layer and measure the real metric. OutputError (ours): one instrumented pass scores every
/// layer by its output error (<see cref="LayerError"/>), then the real metric confirms only the top few.
/// Layers are single weighted ops: on ONNX Runtime a reverted op keeps its neighbours INT8 (see the QDQ emitter), so
/// per-op reverting is both finer and cheaper than POT's blocks of quantizers.
/// </summary>
internal sealed class LayerRanker
{
    private readonly EvaluationSession _session;
    private readonly AccuracyAwareOptions _options;
    private readonly Func<ILayerOutputProbe> _probe;
    private readonly Func<byte[]> _floatModel;
    private readonly Action<string, int, int> _report;

    /// <param name="report">Progress: (status, done, total).</param>
    public LayerRanker(EvaluationSession session, AccuracyAwareOptions options, Func<ILayerOutputProbe> probe, Func<byte[]> floatModel, Action<string, int, int> report)
    {
        _session = session;
        _options = options;
        _probe = probe;
        _floatModel = floatModel;
        _report = report;
    }

    /// <param name="only">Rank these layers only; null = every layer still quantized in <paramref name="current"/>.</param>
    public LayerRanking Rank(ModelCandidate current, RankingItems subset, MetricCriterion metric, MetricCriteria criteria, RankingMethod method,
        IReadOnlyCollection<string>? only = null)
    {
        int evaluationsBefore = _session.Evaluations;
        long inferencesBefore = _session.Inferences;
        var layers = current.Source.Builder.Layers.Where(l => !current.Reverted.Contains(l.Node) && (only == null || only.Contains(l.Node))).ToList();
        _session.InRanking = true;
        try
        {
            var ranked = method switch
            {
                RankingMethod.Metric => RankByMetric(current, layers, subset, metric, criteria, RankingMethod.Metric),
                RankingMethod.Signal => RankByMetric(current, layers, subset, metric, criteria, RankingMethod.Signal),
                _ => RankByOutputError(current, layers, subset.Items, metric, criteria),
            };
            return new LayerRanking(
                ranked.Select((r, i) => r with { Rank = i + 1 }).ToList(),
                metric.Name, subset.Count,
                _session.Evaluations - evaluationsBefore,
                _session.Inferences - inferencesBefore,
                subset.Items);
        }
        finally
        {
            _session.InRanking = false;
        }
    }

    /// <summary>
    /// OutputError, later in a search: the next <see cref="AccuracyAwareOptions.ConfirmTopLayers"/> layers of a ranking
    /// (still in output-error order) are measured with the metric on <paramref name="current"/> and reordered by it;
    /// the rest keep their order. Cheaper than a new ranking: no instrumented pass, and the output errors of the
    /// remaining layers barely move when one other layer is reverted.
    /// </summary>
    public List<LayerRank> Confirm(ModelCandidate current, IReadOnlyList<LayerRank> remaining, IReadOnlyList<int> subset, MetricCriterion metric, MetricCriteria criteria)
    {
        _session.InRanking = true;
        try
        {
            int confirm = Math.Min(_options.ConfirmTopLayers, remaining.Count);
            var layers = current.Source.Builder.Layers.ToDictionary(l => l.Node, StringComparer.Ordinal);
            var errors = remaining.ToDictionary(r => r.Layer, r => r.OutputError, StringComparer.Ordinal);
            var confirmed = Measure(current, remaining.Take(confirm).Select(r => layers[r.Layer]).ToList(), new RankingItems(subset), metric, criteria, errors)
                .OrderByDescending(r => r.Score).ThenBy(r => r.Layer, StringComparer.Ordinal);
            return confirmed.Concat(remaining.Skip(confirm)).Select((r, i) => r with { Rank = i + 1 }).ToList();
        }
        finally
        {
            _session.InRanking = false;
        }
    }

    private List<LayerRank> RankByMetric(ModelCandidate current, IReadOnlyList<QuantizableLayer> layers, RankingItems subset, MetricCriterion metric, MetricCriteria criteria, RankingMethod method) =>
        Ordered(Measure(current, layers, subset, metric, criteria, outputErrors: null, method)).ToList();

    /// <summary>
    /// Reverts each layer alone and measures every metric on the subset. Score = gain of the driving metric (Metric), or
    /// the mean gain of its per-item signal, weighted by the subset's weights (Signal, see <see cref="EvaluationResult.Signals"/>;
    /// the oriented per-item value when the evaluator gives no signal).
    /// </summary>
    private List<LayerRank> Measure(ModelCandidate current, IReadOnlyList<QuantizableLayer> layers, RankingItems subset, MetricCriterion metric, MetricCriteria criteria,
        IReadOnlyDictionary<string, double>? outputErrors, RankingMethod method = RankingMethod.Metric)
    {
        var reference = _session.Evaluate(current, subset.Items, next: layers.Count > 0 ? current.With(layers[0].Node) : null);
        // A dataset-level metric (mAP) has no per-item signal: its layers are ranked by the metric on the subset.
        if (method == RankingMethod.Signal && !SignalOf(reference, metric).Any(double.IsFinite)) method = RankingMethod.Metric;
        var ranks = new List<LayerRank>(layers.Count);
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            _report($"Ranking: reverting {layer.Node}", i, layers.Count);
            var result = _session.Evaluate(current.With(layer.Node), subset.Items, next: i + 1 < layers.Count ? current.With(layers[i + 1].Node) : null);
            ranks.Add(RankOf(layer, reference, result, subset, metric, criteria, method,
                outputErrors != null && outputErrors.TryGetValue(layer.Node, out var e) ? e : double.NaN));
        }
        return ranks;
    }

    /// <summary>A layer's rank entry from its evaluation with it reverted and the reference's, on the same items (rank 0).</summary>
    public static LayerRank RankOf(QuantizableLayer layer, EvaluationResult reference, EvaluationResult result, RankingItems subset, MetricCriterion metric,
        MetricCriteria criteria, RankingMethod method, double outputError = double.NaN)
    {
        var deltas = new MetricValues();
        foreach (var m in criteria.Metrics) deltas[m.Name] = result.Values[m.Name] - reference.Values[m.Name];
        double score = method == RankingMethod.Signal ? SignalScore(reference, result, metric, subset) : metric.Sign * deltas.Of(metric.Name);
        return new LayerRank(0, layer.Node, layer.OpType, score, method, deltas, outputError);
    }

    /// <summary>Metric ranking's order: the largest gain first, ties by name.</summary>
    public static readonly Comparer<LayerRank> RankOrder = Comparer<LayerRank>.Create((a, b) =>
        b.Score.CompareTo(a.Score) is var byScore and not 0 ? byScore : string.CompareOrdinal(a.Layer, b.Layer));

    public static IOrderedEnumerable<LayerRank> Ordered(IEnumerable<LayerRank> ranks) => ranks.Order(RankOrder);

    /// <summary>
    /// Signal ranking's score: the metric's own mean per-item gain on the ranking items (weighted as they are), plus a
    /// thousandth of the signal's (<see cref="SignalGain"/>). The metric is what the search has to raise; the signal
    /// orders the layers whose metric gain is the same, which on 50 items is most of them for a 0/1 metric. Ranked by the
    /// signal alone, OcrRec's exact match reverted layers that bring lines closer without making one right: 5, 13, 9, 12
    /// and 12 layers for -Seed 0 to 4 against 5, 7, 9, 6 and 9 this way (POT-style: 6; bench/Bench-AccuracyAware.ps1
    /// NOTES). For a continuous metric the signal is the metric, and the order is the signal's.
    /// </summary>
    public static double SignalScore(EvaluationResult reference, EvaluationResult result, MetricCriterion metric, RankingItems? items = null) =>
        (reference.PerItem.TryGetValue(metric.Name, out var before) && result.PerItem.TryGetValue(metric.Name, out var after)
            ? WeightedGain(before.Select(v => metric.Sign * v).ToArray(), after.Select(v => metric.Sign * v).ToArray(), result, items) : 0)
        + SignalGain(reference, result, metric, items) / 1000;

    /// <summary>
    /// Mean per-item gain of the signal of <paramref name="metric"/> from <paramref name="reference"/> to
    /// <paramref name="result"/> (same items), each item weighted as <paramref name="items"/> says (null = equally).
    /// </summary>
    public static double SignalGain(EvaluationResult reference, EvaluationResult result, MetricCriterion metric, RankingItems? items = null) =>
        WeightedGain(SignalOf(reference, metric), SignalOf(result, metric), result, items);

    /// <summary>Mean of after - before over the items of <paramref name="result"/> (NaN skipped), each weighted as <paramref name="items"/> says.</summary>
    private static double WeightedGain(double[] before, double[] after, EvaluationResult result, RankingItems? items)
    {
        double sum = 0, weights = 0;
        for (int i = 0; i < before.Length && i < after.Length; i++)
        {
            double d = after[i] - before[i];
            if (double.IsNaN(d)) continue;
            double w = items?.WeightOf(result.Items[i]) ?? 1;
            sum += w * d;
            weights += w;
        }
        return weights == 0 ? 0 : sum / weights;
    }

    /// <summary>The per-item signal of a metric, higher = better: the evaluator's, else the oriented per-item value.</summary>
    public static double[] SignalOf(EvaluationResult result, MetricCriterion metric)
    {
        if (result.Signals.TryGetValue(metric.Name, out var signal)) return signal;
        return result.PerItem.TryGetValue(metric.Name, out var values) ? values.Select(v => metric.Sign * v).ToArray() : Array.Empty<double>();
    }

    private List<LayerRank> RankByOutputError(ModelCandidate current, IReadOnlyList<QuantizableLayer> layers, IReadOnlyList<int> subset, MetricCriterion metric, MetricCriteria criteria)
    {
        var added = OutputErrors(current, layers, subset);
        var byProxy = layers
            .Select(l => (Layer: l, Error: added[l.Node]))
            .OrderByDescending(x => double.IsNaN(x.Error) ? double.NegativeInfinity : x.Error)
            .ThenBy(x => x.Layer.Node, StringComparer.Ordinal)
            .ToList();
        int confirm = Math.Min(_options.ConfirmTopLayers, byProxy.Count);
        var confirmed = Measure(current, byProxy.Take(confirm).Select(x => x.Layer).ToList(), new RankingItems(subset), metric, criteria, added)
            .OrderByDescending(r => r.Score).ThenBy(r => r.Layer, StringComparer.Ordinal);
        var rest = byProxy.Skip(confirm).Select(x => new LayerRank(0, x.Layer.Node, x.Layer.OpType, x.Error, RankingMethod.OutputError,
            new MetricValues(), x.Error));
        return confirmed.Concat(rest).ToList();
    }

    /// <summary>
    /// One instrumented pass: FP32 and the candidate run on the subset with every quantized layer's output exposed, and
    /// a float copy of each layer next to it (see <see cref="LayerError"/>). NaN when the candidate does not expose the
    /// layer's output.
    /// </summary>
    private Dictionary<string, double> OutputErrors(ModelCandidate current, IReadOnlyList<QuantizableLayer> layers, IReadOnlyList<int> subset)
    {
        _session.CheckBudget();
        _report("Ranking: output-error pass", 0, layers.Count);
        var probe = _probe();
        var errors = probe.MeasureLayers(_floatModel(), current.BuildBytes(), current.Source.Builder.FloatModel, layers, subset, _session.Cancellation);
        _session.CountInferences((long)subset.Count * probe.InferencesPerItem);
        return layers.ToDictionary(l => l.Node, l => errors.TryGetValue(l.Node, out var e) ? e.Score : double.NaN, StringComparer.Ordinal);
    }

    /// <summary>Serialized FP32 model, built once.</summary>
    public static Func<byte[]> FloatBytes(IQuantizedModelBuilder builder)
    {
        byte[]? bytes = null;
        return () => bytes ??= builder.FloatModel.ToByteArray();
    }
}
