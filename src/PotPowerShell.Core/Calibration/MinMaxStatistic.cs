using System.Runtime.CompilerServices;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Calibration;

/// <summary>Global minimum and maximum over every value seen (NaN values are ignored).</summary>
public sealed class MinMaxStatistic : IRangeStatistic
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

    public ActivationRange Range => _min > _max ? new ActivationRange(0, 0) : new ActivationRange(_min, _max);
}

/// <summary>
/// The mean over items of each item's minimum and maximum: POT's default for per-tensor activations (min/max with
/// aggregator 'mean'). Items are separated even inside a batch, so the result does not depend on the batch size.
/// </summary>
public sealed class MeanMinMaxStatistic : IRangeStatistic
{
    private double _sumMin;
    private double _sumMax;
    private long _counted;

    public RangeEstimatorKind Kind => RangeEstimatorKind.MeanMinMax;
    public long Items { get; private set; }
    public long StateBytes => sizeof(double) * 2 + sizeof(long) * 2;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Add(ReadOnlySpan<float> values, int items)
    {
        int length = RangeStatistics.ItemLength(values.Length, items);
        Items += items;
        if (length == 0) return;
        for (int i = 0; i < items; i++)
        {
            var (min, max) = SpanMath.MinMax(values.Slice(i * length, length));
            if (float.IsNaN(min) || float.IsNaN(max)) continue;
            _sumMin += min;
            _sumMax += max;
            _counted++;
        }
    }

    public ActivationRange Range => _counted == 0
        ? new ActivationRange(0, 0)
        : new ActivationRange((float)(_sumMin / _counted), (float)(_sumMax / _counted));
}
