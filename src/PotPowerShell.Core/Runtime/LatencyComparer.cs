using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Runtime;

/// <summary>Median and 90th percentile of a set of timings, in milliseconds.</summary>
public sealed record Timing(double MedianMs, double P90Ms, double MinMs, int Count)
{
    public static Timing Of(IReadOnlyCollection<double> ms)
    {
        if (ms.Count == 0) throw new ArgumentException("No timings.", nameof(ms));
        var sorted = ms.OrderBy(v => v).ToArray();
        int n = sorted.Length;
        double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        // Nearest rank.
        double p90 = sorted[Math.Clamp((int)Math.Ceiling(0.9 * n) - 1, 0, n - 1)];
        return new Timing(median, p90, sorted[0], n);
    }
}

/// <summary>Latencies of two models measured side by side (interleaved runs).</summary>
public sealed record LatencyComparison(Timing A, Timing B)
{
    public double MedianMsA => A.MedianMs;
    public double MedianMsB => B.MedianMs;
    public double MinMsA => A.MinMs;
    public double MinMsB => B.MinMs;
    public int Runs => A.Count;

    /// <summary>Median latency of A over that of B: above 1 when B is faster.</summary>
    public double Speedup => A.MedianMs / B.MedianMs;

    /// <summary>90th-percentile latency of A over that of B.</summary>
    public double SpeedupP90 => A.P90Ms / B.P90Ms;
}

/// <summary>
/// Latency of two models measured side by side (Compare-PotModel, the benchmarks). Sessions use ORT_ENABLE_ALL,
/// sequential execution and no spinning, as in deployment. Never used by tests with assertions on time.
/// </summary>
public static class LatencyComparer
{
    /// <summary>
    /// Runs models A and B alternately on the same input (the first <paramref name="batch"/> items, after warm-up) and
    /// returns both medians (<see cref="InterleavedRounds"/>, as the latency-aware precision times its candidates).
    /// </summary>
    public static LatencyComparison Compare(string modelA, string modelB, IDataset data, int batch = 1, int runs = 50, int warmup = 5, int threads = 1) =>
        Compare(OnnxModelFile.ReadBytes(modelA), modelA, OnnxModelFile.ReadBytes(modelB), modelB, data, batch, runs, warmup, threads, CancellationToken.None);

    /// <summary>The same for serialized models (external data included); stops between runs when cancelled.</summary>
    public static LatencyComparison Compare(byte[] modelA, string sourceA, byte[] modelB, string sourceB, IDataset data, int batch, int runs, int warmup,
        int threads, CancellationToken cancellationToken)
    {
        using var a = new TimedSession(modelA, sourceA, data, threads);
        using var b = new TimedSession(modelB, sourceB, data, threads);
        if (!a.CanBatch || !b.CanBatch) batch = 1;
        var input = Enumerable.Range(0, Math.Min(batch, data.Count)).Select(data.Get).ToList();
        var timings = InterleavedRounds.Time(new Func<double>[] { () => a.Time(input), () => b.Time(input) }, warmup, runs, runs, TimeSpan.Zero, cancellationToken);
        return new LatencyComparison(timings[0], timings[1]);
    }

}
