using PotPowerShell.Core.Calibration;

namespace PotPowerShell.Core.Tests.Calibration;

/// <summary>
/// The MSE-optimal clipping search against the analytic optimum of 8-bit uniform quantization (255 steps across the
/// range): expected error E(α) = clipping error of both tails + P(|x| ≤ α)·Δ²/12 with Δ = 2α/255, minimised here
/// by golden-section search on the closed forms, independently of the histogram code.
/// </summary>
public class ClipSearchTests
{
    private const double Levels = 255;
    private const double Total = 1e9;

    /// <summary>Golden-section minimum of a unimodal function on [lo, hi].</summary>
    private static double Minimise(Func<double, double> f, double lo, double hi)
    {
        double g = (Math.Sqrt(5) - 1) / 2;
        for (int i = 0; i < 200; i++)
        {
            double a = hi - g * (hi - lo), b = lo + g * (hi - lo);
            if (f(a) < f(b)) hi = b; else lo = a;
        }
        return (lo + hi) / 2;
    }

    /// <summary>Simpson's rule with n (even) intervals.</summary>
    private static double Integrate(Func<double, double> f, double a, double b, int n = 64)
    {
        double h = (b - a) / n, s = f(a) + f(b);
        for (int i = 1; i < n; i++) s += f(a + i * h) * (i % 2 == 1 ? 4 : 2);
        return s * h / 3;
    }

    private static double Gaussian(double x) => Math.Exp(-x * x / 2) / Math.Sqrt(2 * Math.PI);

    /// <summary>A centered histogram of 2·half bins over [-extent, extent) holding Total·(probability of each bin).</summary>
    private static (long[] Counts, double Width) Histogram(Func<double, double, double> probability, double extent, int half = 1024)
    {
        double w = extent / half;
        var counts = new long[2 * half];
        for (int j = 0; j < counts.Length; j++) counts[j] = (long)Math.Round(Total * probability((j - half) * w, (j - half + 1) * w));
        return (counts, w);
    }

    [Fact]
    public void Gaussian_is_clipped_at_the_analytic_optimum()
    {
        // One tail's clipping error: ∫_α^∞ (x - α)² φ(x) dx; in range: 1 - 2·∫_α^∞ φ.
        double Error(double a)
        {
            double tail = Integrate(x => (x - a) * (x - a) * Gaussian(x), a, a + 12, 2048);
            double outside = Integrate(Gaussian, a, a + 12, 2048);
            double step = 2 * a / Levels;
            return 2 * tail + (1 - 2 * outside) * step * step / 12;
        }
        double alpha = Minimise(Error, 2, 6);
        Assert.InRange(alpha, 3.8, 4.1); // about 3.9 σ for 8 bits, as published for this error model (ACIQ)

        var (counts, w) = Histogram((lo, hi) => Integrate(Gaussian, lo, hi, 16), 12);
        var search = new ClipSearch(counts, w, -12, 12);
        var (min, max, _) = search.Optimal();
        Assert.InRange(max, alpha - 2 * w, alpha + 2 * w);
        Assert.InRange(-min, alpha - 2 * w, alpha + 2 * w);
    }

    [Fact]
    public void Laplace_is_clipped_at_the_analytic_optimum()
    {
        // b = 1: one tail's clipping error is e^-α (∫_α^∞ (x - α)² e^-x / 2 dx), P(|x| > α) = e^-α.
        double Error(double a)
        {
            double step = 2 * a / Levels;
            return 2 * Math.Exp(-a) + (1 - Math.Exp(-a)) * step * step / 12;
        }
        double alpha = Minimise(Error, 4, 16);
        Assert.InRange(alpha, 9.6, 10.2); // about 9.9 b for 8 bits (ACIQ)

        double Cdf(double x) => x < 0 ? Math.Exp(x) / 2 : 1 - Math.Exp(-x) / 2;
        var (counts, w) = Histogram((lo, hi) => Cdf(hi) - Cdf(lo), 24);
        var (min, max, _) = new ClipSearch(counts, w, -24, 24).Optimal();
        Assert.InRange(max, alpha - 2 * w, alpha + 2 * w);
        Assert.InRange(-min, alpha - 2 * w, alpha + 2 * w);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void On_a_small_histogram_the_search_is_exhaustive_and_keeps_the_widest_of_equal_errors(int seed)
    {
        // Up to 256 edges per side, the grid takes every pair of edges: the result is the least error over all pairs
        // (brute force here), the widest such pair on a tie, whatever the search skips on the way.
        var random = new Random(seed);
        const int half = 40;
        double w = 0.25;
        var counts = new long[2 * half];
        for (int j = 0; j < counts.Length; j++)
            counts[j] = random.Next(4) == 0 ? 0 : (long)(1000 * Math.Exp(-Math.Abs(j - half + 0.5) / 6.0)) + random.Next(3);
        counts[2] += 1;
        counts[^3] += seed;
        double min = -(half - 2.3) * w, max = (half - 2.6) * w;
        var search = new ClipSearch(counts, w, min, max);
        var (bestI, bestJ, best) = (-1, -1, double.PositiveInfinity);
        int low = (int)Math.Ceiling(-min / w), high = (int)Math.Ceiling(max / w);
        for (int i = 0; i <= low; i++)
            for (int j = 0; j <= high; j++)
            {
                double e = search.Error(Math.Max(-i * w, min), Math.Min(j * w, max));
                if (e < best || (e == best && i + j > bestI + bestJ)) (bestI, bestJ, best) = (i, j, e);
            }
        var (a, b, error) = search.Optimal();
        Assert.Equal(best, error);
        Assert.Equal(Math.Max(-bestI * w, min), a);
        Assert.Equal(Math.Min(bestJ * w, max), b);
    }

    [Fact]
    public void Uniform_is_clipped_only_by_the_analytic_sliver()
    {
        // U[-1, 3], density ρ = 1/4: clipping the top by c costs ρc³/3 and saves the rounding noise of a step shorter
        // by c/255; the optimum c satisfies ρc² = (4 - 2c)·2/(12·255²) (both sides likewise), under a thousandth.
        double c = Minimise(x => 2 * 0.25 * x * x * x / 3 + (1 - 0.5 * x) * Math.Pow((4 - 2 * x) / Levels, 2) / 12, 0, 0.5);
        Assert.InRange(c, 1e-4, 1e-2);
        var (counts, w) = Histogram((lo, hi) => Math.Max(0, Math.Min(hi, 3) - Math.Max(lo, -1)) / 4, 3);
        var search = new ClipSearch(counts, w, -1, 3);
        var (min, max, error) = search.Optimal();
        Assert.InRange(3 - max, c - 1.5 * w, c + 1.5 * w);
        Assert.InRange(min + 1, c - 1.5 * w, c + 1.5 * w);
        // The gain over min/max is far below AutoRangeStatistic's tolerance: auto keeps min/max (tested below).
        Assert.True(error > search.Error(-1, 3) * (1 - AutoRangeStatistic.Tolerance));
    }

    [Theory]
    [InlineData(1e5)]
    [InlineData(1e7)]
    public void One_extreme_outlier_is_clipped_where_its_error_balances_the_rounding_it_saves(double bodyCount)
    {
        // N Gaussian values and one outlier x0 (at the centre of the last bin, near 1000). With the lower end a fixed,
        // E(b) = (x0 - b)² + N_in·((b - a)/255)²/12 is least at b* = (x0 + a·k) / (1 + k), k = N_in / (12·255²):
        // the more values share the range, the harder the outlier is clipped.
        const int half = 1024;
        double w = 1000.0 / half;
        var counts = new long[2 * half];
        for (int j = 0; j < counts.Length; j++)
            counts[j] = (long)Math.Round(bodyCount * Integrate(Gaussian, (j - half) * w, (j - half + 1) * w, 16));
        counts[^1] += 1;
        double x0 = (half - 0.5) * w;
        var (min, max, _) = new ClipSearch(counts, w, -5, 1000).Optimal();
        double inside = counts.Where((_, j) => (j - half + 0.5) * w >= min && j < counts.Length - 1).Sum(c => (double)c);
        double k = inside / (12 * Levels * Levels);
        double expected = (x0 + min * k) / (1 + k);
        Assert.InRange(max, expected - 1.5 * w, expected + 1.5 * w);
        Assert.True(max < 1000 - 50, $"outlier kept: {max}");
        if (bodyCount >= 1e7) Assert.InRange(max, 30, 100);
    }

    [Fact]
    public void Auto_keeps_min_max_for_uniform_data_and_clips_a_rare_extreme_outlier()
    {
        var rng = new Random(3);
        var uniform = new AutoRangeStatistic(2048);
        for (int i = 0; i < 10; i++) uniform.Add(Enumerable.Range(0, 10_000).Select(_ => (float)(rng.NextDouble() * 4 - 1)).ToArray(), 1);
        Assert.StartsWith("min/max", uniform.Choice);
        Assert.InRange(uniform.Range.Min, -1f, -0.999f);
        Assert.InRange(uniform.Range.Max, 2.999f, 3f);

        var outlier = new AutoRangeStatistic(2048);
        for (int i = 0; i < 8; i++)
        {
            var item = Enumerable.Range(0, 1_000_000).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()))).ToArray();
            if (i == 7) item[123] = 1000f;
            outlier.Add(item, 1);
        }
        // 8e6 values: the outlier's clip balances near (1000 - 5k) / (1 + k) ≈ 84, k = 8e6 / (12·255²) (see the test above).
        Assert.InRange(outlier.Range.Max, 50f, 120f);
        Assert.DoesNotContain("min/max [", outlier.Choice.Split(':')[0] + " [");
    }
}
