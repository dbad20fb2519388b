using System.Buffers;
using Onnx;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Calibration;

/// <summary>
/// Where each calibrated tensor's values go: its range statistic and/or channel mean. Also decides which tensors ONNX
/// Runtime has to hand back. A requested tensor that is a Relu, Identity or Flatten of another fetched tensor is
/// computed here from that tensor instead of being fetched, so the graph has fewer extra outputs and ORT writes and
/// reorders less:
/// <list type="bullet">
/// <item>Relu: max(x, 0), taken on the fly where the statistic allows (min/max, channel means) and through a buffer
/// otherwise. The values equal ORT's Relu output, except that -0 and NaN inputs become +0.</item>
/// <item>Identity, and Flatten with axis &gt;= 1: the same values in the same order, with the output's shape.</item>
/// </list>
/// </summary>
internal sealed class TensorSinks
{
    private enum Transform { Relu, SameValues }

    private sealed record Derived(string Name, Transform Transform, int FlattenAxis);

    private readonly Dictionary<string, IRangeStatistic> _ranges;
    // Alternative estimator key -> tensor -> its statistic (the same tensors as _ranges).
    private readonly SortedDictionary<string, Dictionary<string, IRangeStatistic>> _alternatives = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ChannelMeanStatistic> _means;
    private readonly Dictionary<string, ChannelAbsMaxStatistic> _absMax;
    // Fetched (or graph input) tensor -> tensors computed from it, in name order.
    private readonly Dictionary<string, Derived[]> _derived;

    public TensorSinks(ModelProto model, CalibrationRequest request)
    {
        _ranges = request.RangeTensors.Distinct(StringComparer.Ordinal)
            .ToDictionary(n => n, _ => RangeStatistics.Create(request.Estimator, request.EstimatorOptions), StringComparer.Ordinal);
        PrimaryKey = RangeStatistics.Key(request.EstimatorOptions with { Kind = request.Estimator });
        foreach (var alternative in request.AlternativeEstimators)
        {
            string key = RangeStatistics.Key(alternative);
            var kind = alternative.EffectiveKind;
            if (key != PrimaryKey && !_alternatives.ContainsKey(key))
                _alternatives[key] = _ranges.Keys.ToDictionary(n => n, _ => RangeStatistics.Create(kind, alternative), StringComparer.Ordinal);
        }
        _means = request.ChannelMeanTensors.ToDictionary(kv => kv.Key, kv => new ChannelMeanStatistic(kv.Value), StringComparer.Ordinal);
        _absMax = request.ChannelAbsMaxTensors.Distinct(StringComparer.Ordinal).ToDictionary(n => n, _ => new ChannelAbsMaxStatistic(), StringComparer.Ordinal);
        Wanted = _ranges.Keys.Concat(_means.Keys).Concat(_absMax.Keys).Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToList();
        _derived = request.DeriveTensors ? Derivable(model, Wanted) : new Dictionary<string, Derived[]>(StringComparer.Ordinal);
        var derived = _derived.Values.SelectMany(v => v).Select(d => d.Name).ToHashSet(StringComparer.Ordinal);
        Fetched = Wanted.Where(n => !derived.Contains(n)).ToList();
        NonFinite = new NonFiniteValues(model, request.SkipNonFiniteValues);
    }

    /// <summary>Every requested tensor, in name order.</summary>
    public IReadOnlyList<string> Wanted { get; }

    /// <summary>The requested tensors whose values must come from the model (graph inputs or extra outputs), in name order.</summary>
    public IReadOnlyList<string> Fetched { get; }

    public IReadOnlyDictionary<string, IRangeStatistic> Ranges => _ranges;
    public IReadOnlyDictionary<string, ChannelMeanStatistic> Means => _means;
    public IReadOnlyDictionary<string, ChannelAbsMaxStatistic> AbsMax => _absMax;

    /// <summary><see cref="RangeStatistics.Key"/> of the main estimator.</summary>
    public string PrimaryKey { get; }

    /// <summary>The ranges of every estimator, the main one included, by estimator key and then tensor (both in name order).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, ActivationRange>> AllRanges()
    {
        var result = new SortedDictionary<string, IReadOnlyDictionary<string, ActivationRange>>(StringComparer.Ordinal) { [PrimaryKey] = Snapshot(_ranges) };
        foreach (var (key, statistics) in _alternatives) result[key] = Snapshot(statistics);
        return result;
    }

    /// <summary>Why each tensor got its range, by estimator key and then tensor, for estimators that say (<see cref="IExplainedRange"/>).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> AllChoices()
    {
        var result = new SortedDictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        void Add(string key, Dictionary<string, IRangeStatistic> statistics)
        {
            var choices = statistics.Where(kv => kv.Value is IExplainedRange).OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .ToDictionary(kv => kv.Key, kv => ((IExplainedRange)kv.Value).Choice, StringComparer.Ordinal);
            if (choices.Count > 0) result[key] = choices;
        }
        Add(PrimaryKey, _ranges);
        foreach (var (key, statistics) in _alternatives) Add(key, statistics);
        return result;
    }

    private static IReadOnlyDictionary<string, ActivationRange> Snapshot(Dictionary<string, IRangeStatistic> statistics) =>
        statistics.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value.Range, StringComparer.Ordinal);

    /// <summary>Bytes held by the accumulators (not the per-batch Relu buffer).</summary>
    public long StateBytes => _ranges.Values.Sum(s => s.StateBytes) + _alternatives.Values.Sum(a => a.Values.Sum(s => s.StateBytes))
        + _means.Values.Sum(m => m.StateBytes) + _absMax.Values.Sum(m => m.StateBytes);

    /// <summary>NaN and ±Inf seen so far (an error at the first one unless the request skips them).</summary>
    public NonFiniteValues NonFinite { get; }

    /// <summary>
    /// Adds a fetched tensor's values for <paramref name="items"/> items, and those of the tensors computed from it, after
    /// <see cref="NonFiniteValues.Check"/> gave <paramref name="allFinite"/> for them: an item with non-finite values
    /// (when they are skipped) gives only its finite values to the range statistics and nothing to the channel means.
    /// Reads and writes only this tensor's statistics and those of the tensors computed from it (each has one source), so
    /// different tensors may be added at the same time.
    /// </summary>
    public void Add(string tensor, ReadOnlySpan<float> values, long[] shape, int items, bool allFinite)
    {
        if (allFinite)
        {
            AddFinite(tensor, values, shape, items, means: true);
            return;
        }
        int length = values.Length / items;
        var itemShape = (long[])shape.Clone();
        if (itemShape.Length > 0 && itemShape[0] % items == 0) itemShape[0] /= items;
        float[]? finite = null;
        try
        {
            for (int i = 0; i < items; i++)
            {
                var item = values.Slice(i * length, length);
                if (SpanMath.FirstNonFinite(item) < 0)
                {
                    AddFinite(tensor, item, itemShape, 1, means: true);
                    continue;
                }
                finite ??= ArrayPool<float>.Shared.Rent(length);
                int n = 0;
                foreach (float v in item) if (float.IsFinite(v)) finite[n++] = v;
                if (n > 0) AddFinite(tensor, finite.AsSpan(0, n), new long[] { 1, n }, 1, means: false);
            }
        }
        finally
        {
            if (finite != null) ArrayPool<float>.Shared.Return(finite);
        }
    }

    /// <summary>In skip mode, a range tensor that never got a finite value is an error (its range would be [0, 0]).</summary>
    public void CheckSomethingFinite()
    {
        foreach (var (tensor, statistic) in _ranges.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            if (statistic.Items == 0) throw NonFinite.NothingFinite(tensor);
    }

    private void AddFinite(string tensor, ReadOnlySpan<float> values, long[] shape, int items, bool means)
    {
        AddTo(tensor, values, shape, items, means);
        if (!_derived.TryGetValue(tensor, out var derived)) return;
        foreach (var d in derived)
        {
            if (d.Transform == Transform.SameValues)
            {
                AddTo(d.Name, values, d.FlattenAxis > 0 ? Flattened(shape, d.FlattenAxis) : shape, items, means);
                continue;
            }
            var statistics = RangeStatisticsOf(d.Name).ToList();
            if (statistics.All(r => r is IReluStatistic) && !_absMax.ContainsKey(d.Name))
            {
                // Every statistic takes max(x, 0) on the fly: no buffer.
                foreach (var r in statistics) ((IReluStatistic)r).AddRelu(values, items);
                if (means && _means.TryGetValue(d.Name, out var mean)) mean.AddRelu(values, shape, items);
                continue;
            }
            var scratch = ArrayPool<float>.Shared.Rent(values.Length);
            try
            {
                var relu = scratch.AsSpan(0, values.Length);
                SpanMath.Relu(values, relu);
                AddTo(d.Name, relu, shape, items, means);
            }
            finally
            {
                ArrayPool<float>.Shared.Return(scratch);
            }
        }
    }

    private void AddTo(string tensor, ReadOnlySpan<float> values, long[] shape, int items, bool means)
    {
        foreach (var range in RangeStatisticsOf(tensor)) range.Add(values, items);
        if (means && _means.TryGetValue(tensor, out var mean)) mean.Add(values, shape, items);
        if (means && _absMax.TryGetValue(tensor, out var absMax)) absMax.Add(values, shape, items);
    }

    /// <summary>The tensor's range statistics: the main estimator's and the alternatives', in key order.</summary>
    private IEnumerable<IRangeStatistic> RangeStatisticsOf(string tensor)
    {
        if (_ranges.TryGetValue(tensor, out var range)) yield return range;
        foreach (var alternative in _alternatives.Values)
            if (alternative.TryGetValue(tensor, out var other)) yield return other;
    }

    /// <summary>ONNX Flatten's output shape: [prod(dims before axis), prod(dims from axis)].</summary>
    private static long[] Flattened(long[] shape, int axis)
    {
        long outer = 1, inner = 1;
        for (int d = 0; d < shape.Length; d++)
            if (d < axis) outer *= shape[d]; else inner *= shape[d];
        return new[] { outer, inner };
    }

    /// <summary>
    /// Requested outputs of Relu, Identity or Flatten (axis &gt;= 1, so the batch stays on the first axis) whose input is
    /// requested too and is not itself computed that way, grouped by input.
    /// </summary>
    private static Dictionary<string, Derived[]> Derivable(ModelProto model, IReadOnlyList<string> wanted)
    {
        var set = wanted.ToHashSet(StringComparer.Ordinal);
        var candidates = new Dictionary<string, (string Source, Derived Derived)>(StringComparer.Ordinal);
        foreach (var node in model.Graph.Node)
        {
            if (!OpCatalog.IsDefaultDomain(node.Domain) || node.Input.Count != 1 || node.Output.Count != 1) continue;
            string x = node.Input[0], y = node.Output[0];
            if (!set.Contains(x) || !set.Contains(y)) continue;
            Derived? derived = node.OpType switch
            {
                "Relu" => new Derived(y, Transform.Relu, 0),
                "Identity" => new Derived(y, Transform.SameValues, 0),
                "Flatten" => FlattenAxis(node) is int axis and > 0 ? new Derived(y, Transform.SameValues, axis) : null,
                _ => null,
            };
            if (derived != null) candidates[y] = (x, derived);
        }
        return candidates.Where(kv => !candidates.ContainsKey(kv.Value.Source))
            .GroupBy(kv => kv.Value.Source, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(kv => kv.Value.Derived).OrderBy(d => d.Name, StringComparer.Ordinal).ToArray(), StringComparer.Ordinal);
    }

    /// <summary>Flatten's axis when it is known without the input's rank (not negative), else null.</summary>
    private static int? FlattenAxis(NodeProto node)
    {
        var attribute = node.Attribute.FirstOrDefault(a => a.Name == "axis");
        long axis = attribute?.I ?? 1;
        return axis >= 0 && axis <= int.MaxValue ? (int)axis : null;
    }
}
