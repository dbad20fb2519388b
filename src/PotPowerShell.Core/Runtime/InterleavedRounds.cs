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
    /// <paramref name="budget"/> of timed rounds; checks <paramref name="cancellationToken"/> between rounds.
    /// </summary>
    public static IReadOnlyList<Timing> Time(IReadOnlyList<Func<double>> runs, int warmup, int minRounds, int maxRounds, TimeSpan budget,
        CancellationToken cancellationToken)
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
        }
        return times.Select(Timing.Of).ToList();
    }
}
