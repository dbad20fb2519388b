using System.Runtime.CompilerServices;

namespace PotPowerShell.Core.Calibration;

/// <summary>
/// POT's quantile / abs_quantile range estimators with aggregator 'mean': each item's quantile at outlier_prob and
/// 1 - outlier_prob (numpy's linear interpolation), averaged over items. The absolute variant takes the
/// 1 - outlier_prob quantile of |x| as a symmetric bound; a tensor that never held a negative value keeps 0 as its
/// lower bound, so post-ReLU tensors still use the full unsigned range.
/// </summary>
public sealed class QuantileStatistic : IRangeStatistic
{
    private readonly double _outlierProbability;
    private readonly bool _absolute;
    private float[] _scratch = Array.Empty<float>();
    private double _sumLow;
    private double _sumHigh;
    private long _counted;
    private bool _sawNegative;

    public QuantileStatistic(double outlierProbability, bool absolute)
    {
        if (!(outlierProbability >= 0 && outlierProbability < 0.5))
            throw new PotException("OutlierProbabilityInvalid", PotErrorCategory.InvalidArgument,
                $"outlier_prob must be at least 0 and below 0.5, not {outlierProbability}.", "outlier_prob");
        _outlierProbability = outlierProbability;
        _absolute = absolute;
    }

    public RangeEstimatorKind Kind => _absolute ? RangeEstimatorKind.AbsQuantile : RangeEstimatorKind.Quantile;
    public long Items { get; private set; }

    /// <summary>One item-sized scratch buffer (reused for every item) plus the running sums.</summary>
    public long StateBytes => (long)_scratch.Length * sizeof(float) + sizeof(double) * 2 + sizeof(long) * 2 + 1;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Add(ReadOnlySpan<float> values, int items)
    {
        int length = RangeStatistics.ItemLength(values.Length, items);
        Items += items;
        if (length == 0) return;
        if (_scratch.Length < length) _scratch = new float[length];
        for (int i = 0; i < items; i++)
        {
            var item = values.Slice(i * length, length);
            var buffer = _scratch.AsSpan(0, length);
            int n = 0;
            foreach (float v in item)
            {
                if (float.IsNaN(v)) continue;
                if (v < 0) _sawNegative = true;
                buffer[n++] = _absolute ? Math.Abs(v) : v;
            }
            if (n == 0) continue;
            buffer = buffer[..n];
            double high = Quantile(buffer, 1 - _outlierProbability);
            if (!_absolute) _sumLow += Quantile(buffer, _outlierProbability);
            _sumHigh += high;
            _counted++;
        }
    }

    public ActivationRange Range
    {
        get
        {
            if (_counted == 0) return new ActivationRange(0, 0);
            float high = (float)(_sumHigh / _counted);
            if (_absolute) return new ActivationRange(_sawNegative ? -high : 0, high);
            return new ActivationRange((float)(_sumLow / _counted), high);
        }
    }

    /// <summary>numpy.quantile(values, q) with the default 'linear' method. Reorders <paramref name="values"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Quantile(Span<float> values, double q)
    {
        double position = q * (values.Length - 1);
        int lo = (int)Math.Floor(position);
        float a = Selection.Select(values, lo);
        if (lo + 1 >= values.Length) return a;
        // After selecting index lo, everything above it is >= a: the next order statistic is their minimum.
        float b = float.PositiveInfinity;
        foreach (float v in values[(lo + 1)..]) if (v < b) b = v;
        double fraction = position - lo;
        return a + (b - a) * fraction;
    }
}

/// <summary>Quickselect (Hoare partition, median of three): the k-th smallest value in O(n), reordering the span.</summary>
internal static class Selection
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Select(Span<float> a, int k)
    {
        if ((uint)k >= (uint)a.Length) throw new ArgumentOutOfRangeException(nameof(k));
        int left = 0, right = a.Length - 1;
        while (left < right)
        {
            int mid = left + (right - left) / 2;
            // Order a[left], a[mid], a[right] so the pivot is their median.
            if (a[mid] < a[left]) Swap(a, mid, left);
            if (a[right] < a[left]) Swap(a, right, left);
            if (a[right] < a[mid]) Swap(a, right, mid);
            float pivot = a[mid];
            int i = left, j = right;
            while (i <= j)
            {
                while (a[i] < pivot) i++;
                while (a[j] > pivot) j--;
                if (i <= j) { Swap(a, i, j); i++; j--; }
            }
            // Now a[left..j] <= pivot <= a[i..right], and a[j+1..i-1] == pivot.
            if (k <= j) right = j;
            else if (k >= i) left = i;
            else return a[k];
        }
        return a[k];
    }

    private static void Swap(Span<float> a, int i, int j) => (a[i], a[j]) = (a[j], a[i]);
}
