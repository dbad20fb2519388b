using System.Diagnostics;

namespace PotPowerShell.Core.Runtime;

/// <summary>
/// The one timing loop of the module (Compare-PotModel's <see cref="LatencyComparer"/>, the latency-aware precision's
/// <see cref="OrtModelTimer"/>): warm-up rounds, then rounds that run every model once, alternating the direction
/// each round so that no model always follows another's cache state, and a median over rounds per model. Interleaving
/// makes the comparison fair on a shared, noisy machine.
/// </summary>
public static class InterleavedRounds
{
    /// <summary>
    /// Times <paramref name="runs"/> (each runs its model once and returns the milliseconds) for at least
    /// <paramref name="minRounds"/> and at most <paramref name="maxRounds"/> rounds, stopping after
    /// <paramref name="budget"/> of timed rounds, or, with <paramref name="untilDecided"/>, as soon as the fastest model
    /// is <see cref="Decided"/>; checks <paramref name="cancellationToken"/> between rounds.
    /// </summary>
    public static IReadOnlyList<Timing> Time(IReadOnlyList<Func<double>> runs, int warmup, int minRounds, int maxRounds, TimeSpan budget,
        CancellationToken cancellationToken, bool untilDecided = false)
    {
        for (int round = 0; round < warmup; round++)
            foreach (var run in runs) run();
        var times = runs.Select(_ => new List<double>()).ToArray();
        var clock = Stopwatch.StartNew();
        for (int round = 0; round < maxRounds && (round < minRounds || clock.Elapsed < budget); round++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (int k = 0; k < runs.Count; k++)
            {
                int i = round % 2 == 0 ? k : runs.Count - 1 - k;
                times[i].Add(runs[i]());
            }
            if (untilDecided && round + 1 >= minRounds && Decided(times)) break;
        }
        return times.Select(Timing.Of).ToList();
    }

    /// <summary>Two-sided p-value below which a sign test decides which of two models is faster (at least 11 rounds of 11).</summary>
    public const double DecidedP = 0.001;

    /// <summary>How wide the figures may still be: the 95 % interval of the median speed ratio, relative to it.</summary>
    public const double DecidedSpread = 0.10;

    /// <summary>
    /// True when more rounds would change neither which model is fastest nor, much, by how much. The model with the
    /// smallest median was faster than each other model in so many rounds (the same round's runs compared, a sign test)
    /// that equally fast models would do so with a two-sided probability below <see cref="DecidedP"/>, and the per-round
    /// speed ratio's distribution-free 95 % interval for its median is within <see cref="DecidedSpread"/> of it. Noise
    /// costs rounds, never a verdict: models about as fast as each other, or noisy rounds, run to the budget.
    /// </summary>
    public static bool Decided(IReadOnlyList<IReadOnlyList<double>> times)
    {
        if (times.Count < 2) return true;
        int fastest = 0;
        for (int k = 1; k < times.Count; k++)
            if (Timing.Of(times[k]).MedianMs < Timing.Of(times[fastest]).MedianMs) fastest = k;
        for (int k = 0; k < times.Count; k++)
        {
            if (k == fastest) continue;
            int rounds = Math.Min(times[k].Count, times[fastest].Count), wins = 0;
            var ratios = new double[rounds];
            for (int r = 0; r < rounds; r++)
            {
                if (times[fastest][r] < times[k][r]) wins++;
                ratios[r] = times[k][r] / times[fastest][r];
            }
            if (SignTestP(wins, rounds) >= DecidedP || !Narrow(ratios)) return false;
        }
        return true;
    }

    /// <summary>
    /// True when the order statistics that bound the median with at least 95 % confidence (x(j) and x(n + 1 - j), the
    /// largest j with P(Binomial(n, 1/2) &lt; j) at most 2.5 %) lie within <see cref="DecidedSpread"/> of the median.
    /// </summary>
    private static bool Narrow(double[] values)
    {
        int n = values.Length, j = 0;
        while (j + 1 <= n && 2 * Tail(n - j, n) <= 0.05) j++; // P(X <= j - 1) = P(X >= n - j + 1), by symmetry
        if (j == 0) return false;
        Array.Sort(values);
        double median = Timing.Of(values).MedianMs;
        return values[n - j] - values[j - 1] <= DecidedSpread * median;
    }

    /// <summary>Two-sided sign-test p-value of <paramref name="wins"/> of <paramref name="rounds"/> (the binomial tail at 1/2, doubled).</summary>
    public static double SignTestP(int wins, int rounds) => Math.Min(1, 2 * Tail(Math.Max(wins, rounds - wins), rounds));

    /// <summary>P(X &gt;= <paramref name="atLeast"/>) for X ~ Binomial(<paramref name="n"/>, 1/2).</summary>
    private static double Tail(int atLeast, int n)
    {
        double tail = 0, term = Math.Pow(0.5, n); // C(n, n) / 2^n
        for (int k = n; k >= atLeast && k >= 0; k--)
        {
            tail += term;
            term = term * k / (n - k + 1); // C(n, k - 1) from C(n, k)
        }
        return tail;
    }

    /// <summary>
    /// Timings whose median run is more than this many times the fastest (the median over the models timed) were
    /// disturbed by other work on the machine. Quiet, the precision choice's candidates of bench/Sweep-Architectures.ps1's
    /// models ran their median within 1.02x to 1.12x of their fastest run (mobilenet_v2, densenet121, swin_t, a 6-layer
    /// encoder; PaddleOCR's text detector 1.02x to 1.05x); beside a process copying memory, the encoder's ran at 1.7x to
    /// 2.4x and all float came out fastest, where quiet its 12-INT8-layer estimate was 1.12x faster than float.
    /// </summary>
    public const double DisturbedDispersion = 1.4;

    /// <summary>The median over the models of their median run over their fastest.</summary>
    public static double Dispersion(IReadOnlyList<Timing> timings)
    {
        var ratios = timings.Select(t => t.MinMs > 0 ? t.MedianMs / t.MinMs : 1).OrderBy(r => r).ToArray();
        return ratios[ratios.Length / 2];
    }

    public static bool Disturbed(IReadOnlyList<Timing> timings) => Dispersion(timings) > DisturbedDispersion;
}
