using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Calibration;

public class RangeStatisticTests
{
    [Fact]
    public void MinMax_is_the_global_extreme_and_ignores_nan()
    {
        var s = new MinMaxStatistic();
        s.Add(new[] { 1f, -2f, float.NaN, 0.5f }, 1);
        s.Add(new[] { 3f, 0f, 0f, 0f }, 2);
        Assert.Equal(new ActivationRange(-2, 3), s.Range);
        Assert.Equal(3, s.Items);
    }

    [Fact]
    public void MeanMinMax_averages_per_item_extremes_even_inside_one_batch()
    {
        // Item A = [0,1,2,3] (min 0, max 3), item B = [-4,5,6,7] (min -4, max 7): means (-2, 5).
        // Taking the batch as one sample would give (-4, 7) instead.
        float[] a = { 0, 1, 2, 3 }, b = { -4, 5, 6, 7 };
        var together = new MeanMinMaxStatistic();
        together.Add(a.Concat(b).ToArray(), 2);
        Assert.Equal(new ActivationRange(-2, 5), together.Range);

        var apart = new MeanMinMaxStatistic();
        apart.Add(a, 1);
        apart.Add(b, 1);
        Assert.Equal(together.Range, apart.Range);
    }

    [Fact]
    public void Quantile_uses_numpy_linear_interpolation_per_item_and_averages()
    {
        // Item 1 = 0..100: quantile(0.015) = 1.5, quantile(0.985) = 98.5 (positions 1.5 and 98.5).
        // Item 2 = 2 * (0..100): 3 and 197. Means: 2.25 and 147.75.
        var one = Enumerable.Range(0, 101).Select(i => (float)i).Reverse().ToArray();
        var two = one.Select(v => 2 * v).ToArray();
        var s = new QuantileStatistic(0.015, absolute: false);
        s.Add(one.Concat(two).ToArray(), 2);
        Assert.Equal(2.25f, s.Range.Min, 5);
        Assert.Equal(147.75f, s.Range.Max, 5);
    }

    [Fact]
    public void AbsQuantile_is_symmetric_for_signed_data_and_starts_at_zero_for_non_negative_data()
    {
        // |-10..10| sorted = 0,1,1,2,2,...,10,10 (21 values); quantile(0.9) sits at position 18, which holds 9.
        var signed = new QuantileStatistic(0.1, absolute: true);
        signed.Add(Enumerable.Range(-10, 21).Select(i => (float)i).ToArray(), 1);
        Assert.Equal(new ActivationRange(-9, 9), signed.Range);

        // 0..20: quantile(0.9) at position 18 = 18.
        var positive = new QuantileStatistic(0.1, absolute: true);
        positive.Add(Enumerable.Range(0, 21).Select(i => (float)i).ToArray(), 1);
        Assert.Equal(new ActivationRange(0, 18), positive.Range);
    }

    [Fact]
    public void Quantile_selection_matches_sorting_on_random_data()
    {
        var random = new Random(7);
        for (int trial = 0; trial < 20; trial++)
        {
            var values = Enumerable.Range(0, 1 + random.Next(500)).Select(_ => (float)Math.Round(random.NextDouble() * 20, 1)).ToArray();
            var sorted = values.OrderBy(v => v).ToArray();
            double q = random.NextDouble();
            double position = q * (sorted.Length - 1);
            int lo = (int)Math.Floor(position);
            int hi = Math.Min(lo + 1, sorted.Length - 1);
            double expected = sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo);
            Assert.Equal(expected, QuantileStatistic.Quantile(values.ToArray(), q), 5);
        }
    }

    [Fact]
    public void Percentile_takes_the_upper_edge_of_the_bin_where_the_cdf_reaches_the_percentile()
    {
        // 1..1000 in 1000 bins of width 1 over [0, 1000]: bin i holds the value i (1000 joins bin 999).
        // 99 % of 1000 values = 990 values; the cumulative count reaches 990 in bin 990, whose upper edge is 991.
        var s = new PercentileStatistic(99, 1000);
        s.Add(Enumerable.Range(1, 1000).Select(i => (float)i).ToArray(), 1);
        Assert.Equal(1f, s.Range.Min);   // -991 clamped to the observed minimum
        Assert.Equal(991f, s.Range.Max, 3);
    }

    [Fact]
    public void Percentile_histogram_grows_with_later_batches()
    {
        // Batch 1 fixes width 0.1 (max 10 over 100 bins); batch 2 reaches 20, so 100 bins are appended.
        // 2000 values in all: 1000 in (0,10], 1000 at 20. 50 % = 1000 values, reached in the last of the first 100 bins: edge 10.
        var s = new PercentileStatistic(50, 100);
        s.Add(Enumerable.Range(1, 1000).Select(i => i / 100f).ToArray(), 1);
        s.Add(Enumerable.Repeat(20f, 1000).ToArray(), 1);
        Assert.Equal(10f, s.Range.Max, 3);
        var all = new PercentileStatistic(100, 100);
        all.Add(new[] { 1f, 10f }, 1);
        all.Add(new[] { 20f }, 1);
        Assert.Equal(20f, all.Range.Max, 3);
    }

    [Fact]
    public void Entropy_window_with_zero_divergence_keeps_the_full_range()
    {
        // 8 bins, 4 quantized bins. The full window merges pairs [1,0][0,10][10,0][0,1] and spreads each sum over its
        // one non-zero bin, so q == p and KL = 0: the full window wins.
        long[] counts = { 1, 0, 0, 10, 10, 0, 0, 1 };
        Assert.Equal(4, KlThreshold.BestHalfWindow(counts, 4));
        Assert.Equal(0, KlThreshold.Divergence(counts, 0, 8, 4, new double[8], new double[8]), 12);
    }

    [Fact]
    public void Entropy_prefers_a_clipped_window_when_merging_would_blur_the_peak()
    {
        // 16 bins, 4 quantized bins. Window i=2 (bins 6..9 = [5,10,10,5], outliers 1+1 added to the edges):
        //   p = [6,10,10,6], q = [5,10,10,5] (one bin per quantized bin): a small divergence.
        // Window i=8 (all bins): buckets of 4 bins each mix the empty and the full bins: q = [.., 7.5,7.5,7.5,7.5 ..]
        //   against p = [5,10,10,5]: a larger divergence.
        long[] counts = { 1, 0, 0, 0, 0, 0, 5, 10, 10, 5, 0, 0, 0, 0, 0, 1 };
        var p = new double[16];
        var q = new double[16];
        double narrow = KlThreshold.Divergence(counts, 6, 10, 4, p, q);
        double wide = KlThreshold.Divergence(counts, 0, 16, 4, p, q);
        // Hand computation of the narrow case: KL(p||q) with p=[6,10,10,6]/32, q=[5,10,10,5]/30.
        double expected = 2 * (6 / 32.0 * Math.Log(6 / 32.0 / (5 / 30.0))) + 2 * (10 / 32.0 * Math.Log(10 / 32.0 / (10 / 30.0)));
        Assert.Equal(expected, narrow, 9);
        Assert.True(narrow < wide);
        Assert.Equal(2, KlThreshold.BestHalfWindow(counts, 4));
    }

    [Fact]
    public void Entropy_clips_a_gaussian_far_below_a_single_outlier()
    {
        var random = new Random(1);
        var values = new float[100_000];
        for (int i = 0; i < values.Length; i++)
        {
            // Box-Muller: standard normal values
            double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
            values[i] = (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        values[0] = 50;
        var entropy = new EntropyStatistic(2048);
        entropy.Add(values, 1);
        Assert.InRange(entropy.Range.Max, 2.5f, 12f);
        Assert.InRange(entropy.Range.Min, -12f, -2.5f);
        var minMax = new MinMaxStatistic();
        minMax.Add(values, 1);
        Assert.Equal(50f, minMax.Range.Max);
    }

    [Fact]
    public void Histogram_memory_is_bounded_when_the_range_explodes()
    {
        var s = new EntropyStatistic(128);
        s.Add(new[] { -1f, 1f }, 1);
        long before = s.StateBytes;
        s.Add(new[] { 1e6f }, 1);
        Assert.True(s.StateBytes <= before * GrowingHistogram.GrowthLimit + 64, $"{s.StateBytes} bytes");
        Assert.Equal(1e6f, s.Range.Max, 0);
    }

    [Fact]
    public void All_zero_tensors_give_a_zero_range()
    {
        foreach (RangeEstimatorKind kind in Enum.GetValues<RangeEstimatorKind>())
        {
            var s = RangeStatistics.Create(kind, new RangeEstimatorOptions());
            s.Add(new float[8], 2);
            Assert.Equal(new ActivationRange(0, 0), s.Range);
        }
    }

    [Fact]
    public void Channel_means_reduce_every_axis_but_the_channel()
    {
        // Two items of shape [1,2,2]: channel 0 holds 1,2 / 5,6, channel 1 holds 3,4 / 7,8.
        var s = new ChannelMeanStatistic(1);
        s.Add(new float[] { 1, 2, 3, 4, 5, 6, 7, 8 }, new long[] { 2, 2, 2 }, 2);
        Assert.Equal(new[] { 3.5f, 5.5f }, s.Means);
        Assert.Equal(new long[] { 1, 2, 2 }, s.ItemShape);
        var last = new ChannelMeanStatistic(-1);
        last.Add(new float[] { 1, 2, 3, 4, 5, 6, 7, 8 }, new long[] { 2, 2, 2 }, 2);
        Assert.Equal(new[] { 4f, 5f }, last.Means);
    }

    [Fact]
    public void Subset_is_reproducible_sorted_and_the_prefix_without_shuffle()
    {
        Assert.Equal(new[] { 0, 1, 2 }, CalibrationSubset.Select(10, 3, shuffle: false, seed: 5));
        Assert.Equal(Enumerable.Range(0, 10), CalibrationSubset.Select(10, null, shuffle: true, seed: 5));
        var a = CalibrationSubset.Select(100, 10, shuffle: true, seed: 42);
        Assert.Equal(a, CalibrationSubset.Select(100, 10, shuffle: true, seed: 42));
        Assert.NotEqual(a, CalibrationSubset.Select(100, 10, shuffle: true, seed: 43));
        Assert.Equal(a.OrderBy(i => i), a);
        Assert.Equal(10, a.Distinct().Count());
        Assert.Equal("StatSubsetSizeInvalid", Assert.Throws<PotException>(() => CalibrationSubset.Select(10, 0, false, 0)).ErrorId);
    }

    [Theory]
    // Per-item extremes 1, 2, 3, 10, 100 (one value per item). Worked by hand, with NumPy's linear quantiles:
    // median 3; the 1% and 99% quantiles are 1.04 and 96.4, leaving 2, 3, 10 (mean 5, median 3); the 10 pair sums
    // sorted are 3 4 5 11 12 13 101 102 103 110, whose median 12.5 halves to 6.25.
    [InlineData(RangeEstimatorKind.MedianMinMax, 3.0)]
    [InlineData(RangeEstimatorKind.MeanMinMaxNoOutliers, 5.0)]
    [InlineData(RangeEstimatorKind.MedianMinMaxNoOutliers, 3.0)]
    [InlineData(RangeEstimatorKind.HodgesLehmannMinMax, 6.25)]
    public void Robust_aggregators_follow_pot(RangeEstimatorKind kind, double expected)
    {
        var s = RangeStatistics.Create(kind, new RangeEstimatorOptions());
        s.Add(new[] { 1f, 2f, 3f }, 3);
        s.Add(new[] { 10f, 100f }, 2);
        Assert.Equal(new ActivationRange((float)expected, (float)expected), s.Range);
        Assert.Equal(5, s.Items);
        // Max(x, 0) on the fly gives what adding the Relu'd values gives.
        var relu = RangeStatistics.Create(kind, new RangeEstimatorOptions());
        ((IReluStatistic)relu).AddRelu(new[] { -1f, 2f, -3f, 4f }, 2);
        var plain = RangeStatistics.Create(kind, new RangeEstimatorOptions());
        plain.Add(new[] { 0f, 2f, 0f, 4f }, 2);
        Assert.Equal(plain.Range, relu.Range);
    }

    [Fact]
    public void Hodges_lehmann_refuses_more_items_than_it_can_pair()
    {
        var s = RangeStatistics.Create(RangeEstimatorKind.HodgesLehmannMinMax, new RangeEstimatorOptions());
        s.Add(new float[AggregatedMinMaxStatistic.MaxHodgesLehmannItems], AggregatedMinMaxStatistic.MaxHodgesLehmannItems);
        var e = Assert.Throws<PotException>(() => s.Add(new float[1], 1));
        Assert.Equal("RangeEstimatorTooManyItems", e.ErrorId);
        Assert.Contains("stat_subset_size", e.Message);
    }
}
