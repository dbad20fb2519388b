using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Onnx;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Calibration;

/// <summary>
/// Where each calibrated tensor's values go: its range statistic and/or channel mean. Also decides which tensors ONNX
/// Runtime has to hand back: the output of a Relu whose input is requested as well is computed here from that input
/// (max(x, 0)) instead of being fetched, so the graph has fewer extra outputs and the Relu can stay in an optimized
/// kernel. The values are the same as ORT's Relu output, except that -0 and NaN inputs become +0.
/// </summary>
internal sealed class TensorSinks
{
    private readonly Dictionary<string, IRangeStatistic> _ranges;
    // Alternative estimator key -> tensor -> its statistic (the same tensors as _ranges).
    private readonly SortedDictionary<string, Dictionary<string, IRangeStatistic>> _alternatives = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ChannelMeanStatistic> _means;
    // Fetched (or graph input) tensor -> Relu outputs computed from it, in name order.
    private readonly Dictionary<string, string[]> _derived;
    private float[] _scratch = Array.Empty<float>();

    public TensorSinks(ModelProto model, CalibrationRequest request)
    {
        _ranges = request.RangeTensors.Distinct(StringComparer.Ordinal)
            .ToDictionary(n => n, _ => RangeStatistics.Create(request.Estimator, request.EstimatorOptions), StringComparer.Ordinal);
        PrimaryKey = RangeStatistics.Key(request.EstimatorOptions with { Kind = request.Estimator });
        foreach (var alternative in request.AlternativeEstimators)
        {
            string key = RangeStatistics.Key(alternative);
            var kind = alternative.Kind ?? RangeEstimatorKind.MeanMinMax;
            if (key != PrimaryKey && !_alternatives.ContainsKey(key))
                _alternatives[key] = _ranges.Keys.ToDictionary(n => n, _ => RangeStatistics.Create(kind, alternative), StringComparer.Ordinal);
        }
        _means = request.ChannelMeanTensors.ToDictionary(kv => kv.Key, kv => new ChannelMeanStatistic(kv.Value), StringComparer.Ordinal);
        Wanted = _ranges.Keys.Concat(_means.Keys).Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToList();
        _derived = request.DeriveRelus ? DerivableRelus(model, Wanted) : new Dictionary<string, string[]>(StringComparer.Ordinal);
        var derived = _derived.Values.SelectMany(v => v).ToHashSet(StringComparer.Ordinal);
        Fetched = Wanted.Where(n => !derived.Contains(n)).ToList();
    }

    /// <summary>Every requested tensor, in name order.</summary>
    public IReadOnlyList<string> Wanted { get; }

    /// <summary>The requested tensors whose values must come from the model (graph inputs or extra outputs), in name order.</summary>
    public IReadOnlyList<string> Fetched { get; }

    public IReadOnlyDictionary<string, IRangeStatistic> Ranges => _ranges;
    public IReadOnlyDictionary<string, ChannelMeanStatistic> Means => _means;

    /// <summary><see cref="RangeStatistics.Key"/> of the main estimator.</summary>
    public string PrimaryKey { get; }

    /// <summary>The ranges of every estimator, the main one included, by estimator key and then tensor (both in name order).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, ActivationRange>> AllRanges()
    {
        var result = new SortedDictionary<string, IReadOnlyDictionary<string, ActivationRange>>(StringComparer.Ordinal) { [PrimaryKey] = Snapshot(_ranges) };
        foreach (var (key, statistics) in _alternatives) result[key] = Snapshot(statistics);
        return result;
    }

    private static IReadOnlyDictionary<string, ActivationRange> Snapshot(Dictionary<string, IRangeStatistic> statistics) =>
        statistics.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value.Range, StringComparer.Ordinal);

    /// <summary>Bytes held by the accumulators (not the per-batch Relu buffer).</summary>
    public long StateBytes => _ranges.Values.Sum(s => s.StateBytes) + _alternatives.Values.Sum(a => a.Values.Sum(s => s.StateBytes))
        + _means.Values.Sum(m => m.StateBytes);

    /// <summary>Adds a fetched tensor's values for <paramref name="items"/> items, and those of the Relus computed from it.</summary>
    public void Add(string tensor, ReadOnlySpan<float> values, long[] shape, int items)
    {
        AddTo(tensor, values, shape, items);
        if (!_derived.TryGetValue(tensor, out var relus)) return;
        if (_scratch.Length < values.Length) _scratch = new float[values.Length];
        var relu = _scratch.AsSpan(0, values.Length);
        Relu(values, relu);
        foreach (var name in relus) AddTo(name, relu, shape, items);
    }

    private void AddTo(string tensor, ReadOnlySpan<float> values, long[] shape, int items)
    {
        if (_ranges.TryGetValue(tensor, out var range)) range.Add(values, items);
        foreach (var alternative in _alternatives.Values)
            if (alternative.TryGetValue(tensor, out var other)) other.Add(values, items);
        if (_means.TryGetValue(tensor, out var mean)) mean.Add(values, shape, items);
    }

    /// <summary>y = x &gt; 0 ? x : +0 (so NaN and -0 give +0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Relu(ReadOnlySpan<float> x, Span<float> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            ref float source = ref MemoryMarshal.GetReference(x);
            ref float target = ref MemoryMarshal.GetReference(y);
            int last = x.Length - Vector<float>.Count;
            for (; i <= last; i += Vector<float>.Count)
            {
                var v = Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref source, i));
                Unsafe.As<float, Vector<float>>(ref Unsafe.Add(ref target, i)) = Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.Zero), v, Vector<float>.Zero);
            }
        }
        for (; i < x.Length; i++) y[i] = x[i] > 0 ? x[i] : 0;
    }

    /// <summary>Requested Relu outputs whose input is requested too (and is not itself such an output), grouped by input.</summary>
    private static Dictionary<string, string[]> DerivableRelus(ModelProto model, IReadOnlyList<string> wanted)
    {
        var set = wanted.ToHashSet(StringComparer.Ordinal);
        var candidates = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var node in model.Graph.Node)
            if (node.OpType == "Relu" && OpCatalog.IsDefaultDomain(node.Domain) && node.Input.Count == 1 && node.Output.Count == 1
                && set.Contains(node.Output[0]) && set.Contains(node.Input[0]))
                candidates[node.Output[0]] = node.Input[0];
        return candidates.Where(kv => !candidates.ContainsKey(kv.Value))
            .GroupBy(kv => kv.Value, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(kv => kv.Key).OrderBy(n => n, StringComparer.Ordinal).ToArray(), StringComparer.Ordinal);
    }
}
