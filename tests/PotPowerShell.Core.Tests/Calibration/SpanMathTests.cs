using PotPowerShell.Core.Calibration;

namespace PotPowerShell.Core.Tests.Calibration;

public class SpanMathTests
{
    // Lengths around the vector width (4, 8 or 16 floats), so both the vector loop and the scalar tail are exercised.
    public static TheoryData<int> Lengths => new(0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1001);

    private static float[] Random(int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 200 - 100)).ToArray();
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void MinMax_matches_a_scalar_scan(int length)
    {
        var values = Random(length, length);
        var (min, max) = SpanMath.MinMax(values);
        if (length == 0)
        {
            Assert.True(float.IsNaN(min) && float.IsNaN(max));
            return;
        }
        Assert.Equal(values.Min(), min);
        Assert.Equal(values.Max(), max);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void CountBins_puts_every_number_in_the_bin_of_the_scalar_formula_and_skips_nan(int length)
    {
        // Values on bin edges (multiples of the width, where floor decides), on and beyond the outer ends, and NaN every 7th.
        const int half = 8;
        double width = 100.0 / half, inverse = 1.0 / width;
        var values = Random(length, 5 * length);
        for (int i = 0; i < length; i++)
        {
            if (i % 7 == 3) values[i] = float.NaN;
            else if (i % 5 == 1) values[i] = (float)((i % (2 * half + 1) - half) * width);
            else if (i % 11 == 2) values[i] = i % 2 == 0 ? 100f : -100f;
            else if (i % 13 == 4) values[i] = i % 2 == 0 ? 1e30f : -1e30f;
        }
        foreach (bool absolute in new[] { false, true })
        {
            int offset = absolute ? 0 : half, bins = absolute ? half : 2 * half;
            var expected = new long[bins];
            long numbers = 0;
            foreach (float x in values)
            {
                float v = absolute ? Math.Abs(x) : x;
                if (float.IsNaN(v)) continue;
                expected[(int)Math.Clamp(offset + Math.Floor(v * inverse), 0, bins - 1)]++;
                numbers++;
            }
            // Counted twice, so the lanes hold what two calls add.
            var lanes = new int[(bins + 1) * SpanMath.Lanes];
            Assert.Equal(numbers, SpanMath.CountBins(values, lanes, offset, inverse, absolute));
            Assert.Equal(numbers, SpanMath.CountBins(values, lanes, offset, inverse, absolute));
            var counts = Enumerable.Range(0, bins).Select(j => (long)lanes.Skip(j * SpanMath.Lanes).Take(SpanMath.Lanes).Sum()).ToArray();
            Assert.Equal(expected.Select(c => 2 * c), counts);
            Assert.All(lanes.Skip(bins * SpanMath.Lanes), c => Assert.Equal(0, c));
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void FirstNonFinite_finds_the_first_nan_or_infinity_wherever_it_sits(int length)
    {
        var values = Random(length, 7 * length + 1);
        Assert.Equal(-1, SpanMath.FirstNonFinite(values));
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            for (int position = 0; position < length; position++)
            {
                var copy = (float[])values.Clone();
                copy[position] = bad;
                // A second one further on must not hide the first.
                if (position + 9 < length) copy[position + 9] = float.NaN;
                Assert.Equal(position, SpanMath.FirstNonFinite(copy));
            }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void MinMax_skips_nan_wherever_it_sits(int length)
    {
        if (length == 0) return;
        var values = Random(length, 3 * length);
        for (int position = 0; position < length; position += Math.Max(1, length / 5))
        {
            var copy = (float[])values.Clone();
            copy[position] = float.NaN;
            var numbers = copy.Where(v => !float.IsNaN(v)).ToArray();
            var (min, max) = SpanMath.MinMax(copy);
            if (numbers.Length == 0) { Assert.True(float.IsNaN(min)); continue; }
            Assert.Equal(numbers.Min(), min);
            Assert.Equal(numbers.Max(), max);
        }
    }

    [Fact]
    public void MinMax_of_only_nan_is_nan_and_negative_zero_is_reported_as_zero()
    {
        var (min, max) = SpanMath.MinMax(Enumerable.Repeat(float.NaN, 19).ToArray());
        Assert.True(float.IsNaN(min) && float.IsNaN(max));
        (min, max) = SpanMath.MinMax(Enumerable.Repeat(-0f, 19).ToArray());
        Assert.Equal(0, BitConverter.SingleToInt32Bits(min));
        Assert.Equal(0, BitConverter.SingleToInt32Bits(max));
        (min, max) = SpanMath.MinMax(new[] { float.NegativeInfinity, 1f, float.PositiveInfinity });
        Assert.Equal(float.NegativeInfinity, min);
        Assert.Equal(float.PositiveInfinity, max);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Sum_is_close_to_the_double_sum_and_the_same_on_every_call(int length)
    {
        var values = Random(length, 5 * length);
        double exact = values.Sum(v => (double)v);
        float sum = SpanMath.Sum(values);
        Assert.Equal(exact, sum, 1e-4 * Math.Max(1, values.Sum(v => Math.Abs((double)v))));
        Assert.Equal(BitConverter.SingleToInt32Bits(sum), BitConverter.SingleToInt32Bits(SpanMath.Sum(values.ToArray())));
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AddTo_adds_element_by_element_in_float_and_in_double(int length)
    {
        var a = Random(length, 7 * length);
        var b = Random(length, 11 * length);
        var floats = (float[])a.Clone();
        SpanMath.AddTo(floats, b);
        var doubles = a.Select(v => (double)v).ToArray();
        SpanMath.AddTo(doubles, b);
        for (int i = 0; i < length; i++)
        {
            Assert.Equal(a[i] + b[i], floats[i]);
            Assert.Equal((double)a[i] + b[i], doubles[i]);
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Relu_keeps_positive_values_and_turns_the_rest_into_plus_zero(int length)
    {
        var x = Random(length, 13 * length);
        if (length > 2) { x[0] = float.NaN; x[1] = -0f; }
        var y = new float[length];
        SpanMath.Relu(x, y);
        for (int i = 0; i < length; i++)
            Assert.Equal(BitConverter.SingleToInt32Bits(x[i] > 0 ? x[i] : 0f), BitConverter.SingleToInt32Bits(y[i]));
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void The_on_the_fly_relu_kernels_equal_the_plain_kernels_on_relu_output(int length)
    {
        var x = Random(length, 19 * length);
        if (length > 3) { x[0] = float.NaN; x[1] = -0f; x[2] = -5f; }
        var relu = new float[length];
        SpanMath.Relu(x, relu);
        Assert.Equal(SpanMath.MinMax(relu), SpanMath.ReluMinMax(x));
        Assert.Equal(BitConverter.SingleToInt32Bits(SpanMath.Sum(relu)), BitConverter.SingleToInt32Bits(SpanMath.ReluSum(x)));
        var a = Random(length, 23 * length);
        var b = (float[])a.Clone();
        SpanMath.AddTo(a, relu);
        SpanMath.ReluAddTo(b, x);
        Assert.Equal(a, b);
        var c = a.Select(v => (double)v).ToArray();
        var d = (double[])c.Clone();
        SpanMath.AddTo(c, relu);
        SpanMath.ReluAddTo(d, x);
        Assert.Equal(c, d);
    }

    [Fact]
    public void Channel_means_of_a_batch_equal_those_of_its_items_added_one_by_one()
    {
        // Channels last with several rows per item (MatMul on [batch, seq, hidden]) and channels on axis 1 (Conv).
        foreach (var (shape, axis) in new[] { (new long[] { 6, 5, 12 }, -1), (new long[] { 6, 12 }, -1), (new long[] { 6, 3, 4, 5 }, 1) })
        {
            var values = Random((int)shape.Aggregate(1L, (p, d) => p * d), 17);
            var batched = new ChannelMeanStatistic(axis);
            batched.Add(values, shape, 6);
            var single = new ChannelMeanStatistic(axis);
            int itemLength = values.Length / 6;
            var itemShape = (long[])shape.Clone();
            itemShape[0] = 1;
            for (int i = 0; i < 6; i++) single.Add(values.AsSpan(i * itemLength, itemLength), itemShape, 1);
            Assert.Equal(single.Means, batched.Means);
            Assert.Equal(single.Items, batched.Items);
        }
    }
}
