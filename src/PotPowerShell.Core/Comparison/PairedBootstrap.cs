using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Comparison;

/// <summary>A confidence interval: lower and upper bound.</summary>
public readonly record struct Interval(double Lower, double Upper);

/// <summary>
/// The paired bootstrap of a mean difference: items are drawn with replacement (the same item for both models, so the
/// pairing is kept), the mean of the per-item differences is taken for each resample, and the percentile interval of
/// those means is returned. Deterministic: the generator is SplitMix64 from the seed, not System.Random, so the same
/// seed gives the same interval on every .NET version.
/// </summary>
public static class PairedBootstrap
{
    /// <summary>The central percentile interval of the resampled means (0.95 for a 95 % interval).</summary>
    /// <param name="differences">Per-item paired differences (NaN items are left out before resampling).</param>
    /// <returns>(NaN, NaN) when no item has a value.</returns>
    public static Interval MeanInterval(IReadOnlyList<double> differences, int resamples, int seed, double confidence = 0.95)
    {
        if (resamples < 1) throw new ArgumentOutOfRangeException(nameof(resamples), "At least one resample is needed.");
        var values = differences.Where(d => !double.IsNaN(d)).ToArray();
        if (values.Length == 0) return new Interval(double.NaN, double.NaN);
        var means = new double[resamples];
        var random = new SplitMix64((ulong)(uint)seed);
        for (int r = 0; r < resamples; r++)
        {
            double sum = 0;
            for (int k = 0; k < values.Length; k++) sum += values[random.NextIndex(values.Length)];
            means[r] = sum / values.Length;
        }
        double tail = (1 - confidence) / 2;
        return new Interval(LatencyStatistics.Percentile(means, tail), LatencyStatistics.Percentile(means, 1 - tail));
    }

    /// <summary>SplitMix64 (Steele, Lea and Flood 2014): a small generator with a fixed, documented output sequence.</summary>
    internal struct SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        public ulong Next()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>A uniform index in [0, n): the high word of the 128-bit product (Lemire's multiply-shift).</summary>
        public int NextIndex(int n) => (int)Math.BigMul(Next(), (ulong)n, out _);
    }
}
