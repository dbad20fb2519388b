namespace PotPowerShell.Core.Quantization;

/// <summary>
/// Guards per-channel weights against dead channels. Folding a BatchNorm whose gamma is (nearly) zero leaves output
/// channels whose weights are 1e-30 or smaller next to channels of order 1 (depthwise layers of real convnets have
/// them). Quantized on their own range such a channel gets a scale like 1e-37: its bias scale (input scale x weight
/// scale) underflows or its bias code overflows int32, and the requantization multiplier turns subnormal.
/// A channel whose largest |w| is below <see cref="DeadRatio"/> times the layer's largest |w| is treated as dead: its
/// weights become exactly 0 and it takes the median scale of the live channels, so its bias is quantized as finely as
/// theirs. What that changes in the output is at most the dead channel's own contribution, |w| &lt; 2^-20 of the
/// layer's largest weight: far below half a step of any 8-bit output quantizer.
/// </summary>
internal static class WeightChannelGuard
{
    /// <summary>2^-20: a channel this much smaller than the layer's largest contributes less than 1e-6 of it.</summary>
    public const double DeadRatio = 1.0 / (1 << 20);

    /// <summary>
    /// The channels of <paramref name="values"/> along <paramref name="p"/>'s axis that are dead, with the scale they get.
    /// Returns the parameters to use (unchanged when no channel is dead or the weights are per tensor) and the weights
    /// with dead channels zeroed (<paramref name="values"/> itself when nothing changed).
    /// </summary>
    public static (WeightParameters Params, float[] Values, int DeadChannels) Apply(WeightParameters p, float[] values, ReadOnlySpan<long> dims)
    {
        if (p.Axis < 0 || p.Scales.Length < 2) return (p, values, 0);
        var (channels, inner) = QuantMath.AxisLayout(dims, p.Axis, values.Length);
        var absMax = new double[channels];
        var cursor = new QuantMath.ChannelCursor(channels, inner);
        for (int i = 0; i < values.Length; i++, cursor.Next())
        {
            double v = Math.Abs((double)values[i]);
            if (v > absMax[cursor.Channel]) absMax[cursor.Channel] = v; // NaN never compares greater: left out
        }
        double largest = absMax.Max();
        if (!(largest > 0) || double.IsInfinity(largest)) return (p, values, 0);
        double threshold = largest * DeadRatio;
        var dead = new bool[channels];
        int deadCount = 0;
        for (long c = 0; c < channels; c++)
            if (absMax[c] < threshold) { dead[c] = true; deadCount++; }
        if (deadCount == 0) return (p, values, 0);

        var live = p.Scales.Where((_, c) => !dead[c]).OrderBy(s => s).ToArray();
        float floor = live[(live.Length - 1) / 2];
        var scales = (float[])p.Scales.Clone();
        var zeroPoints = (int[])p.ZeroPoints.Clone();
        for (long c = 0; c < channels; c++)
            if (dead[c]) { scales[c] = floor; zeroPoints[c] = 0; }
        var guarded = (float[])values.Clone();
        cursor = new QuantMath.ChannelCursor(channels, inner);
        for (int i = 0; i < guarded.Length; i++, cursor.Next())
            if (dead[cursor.Channel]) guarded[i] = 0f;
        return (p with { Scales = scales, ZeroPoints = zeroPoints }, guarded, deadCount);
    }
}
