using System.Runtime.CompilerServices;

namespace PotPowerShell.Core.Calibration;

/// <summary>Global minimum and maximum over every value seen (NaN values are ignored).</summary>
public sealed class MinMaxStatistic : IRangeStatistic, IReluStatistic
{
    private float _min = float.PositiveInfinity;
    private float _max = float.NegativeInfinity;

    public RangeEstimatorKind Kind => RangeEstimatorKind.MinMax;
    public long Items { get; private set; }
    public long StateBytes => sizeof(float) * 2 + sizeof(long);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Add(ReadOnlySpan<float> values, int items)
    {
        RangeStatistics.ItemLength(values.Length, items);
        Items += items;
        if (values.IsEmpty) return;
        var (min, max) = SpanMath.MinMax(values);
        if (min < _min) _min = min;
        if (max > _max) _max = max;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void IReluStatistic.AddRelu(ReadOnlySpan<float> values, int items)
    {
        RangeStatistics.ItemLength(values.Length, items);
        Items += items;
        if (values.IsEmpty) return;
        var (min, max) = SpanMath.ReluMinMax(values);
        if (min < _min) _min = min;
        if (max > _max) _max = max;
    }

    public ActivationRange Range => _min > _max ? new ActivationRange(0, 0) : new ActivationRange(_min, _max);
}

/// <summary>
/// The mean over items of each item's minimum and maximum: POT's default for per-tensor activations (min/max with
/// aggregator 'mean'). Items are separated even inside a batch, so the result does not depend on the batch size.
/// </summary>
public sealed class MeanMinMaxStatistic : IRangeStatistic, IReluStatistic
{
    private double _sumMin;
    private double _sumMax;
    private long _counted;

    public RangeEstimatorKind Kind => RangeEstimatorKind.MeanMinMax;
    public long Items { get; private set; }
    public long StateBytes => sizeof(double) * 2 + sizeof(long) * 2;

    public void Add(ReadOnlySpan<float> values, int items) => Add(values, items, relu: false);

    void IReluStatistic.AddRelu(ReadOnlySpan<float> values, int items) => Add(values, items, relu: true);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Add(ReadOnlySpan<float> values, int items, bool relu)
    {
        int length = RangeStatistics.ItemLength(values.Length, items);
        Items += items;
        if (length == 0) return;
        for (int i = 0; i < items; i++)
        {
            var item = values.Slice(i * length, length);
            var (min, max) = relu ? SpanMath.ReluMinMax(item) : SpanMath.MinMax(item);
            AddItemRange(min, max);
        }
    }

    /// <summary>Adds one item's minimum and maximum, already taken (nothing when they are NaN: the item held no number).</summary>
    internal void AddItemRange(float min, float max)
    {
        if (float.IsNaN(min) || float.IsNaN(max)) return;
        _sumMin += min;
        _sumMax += max;
        _counted++;
    }

    public ActivationRange Range => _counted == 0
        ? new ActivationRange(0, 0)
        : new ActivationRange((float)(_sumMin / _counted), (float)(_sumMax / _counted));
}
