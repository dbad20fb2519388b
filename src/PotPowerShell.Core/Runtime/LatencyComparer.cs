using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
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
    /// returns both medians: interleaving makes the comparison fair on a shared, noisy machine.
    /// </summary>
    public static LatencyComparison Compare(string modelA, string modelB, IDataset data, int batch = 1, int runs = 50, int warmup = 5, int threads = 1) =>
        Compare(File.ReadAllBytes(modelA), modelA, File.ReadAllBytes(modelB), modelB, data, batch, runs, warmup, threads, CancellationToken.None);

    /// <summary>The same for serialized models (external data included); stops between runs when cancelled.</summary>
    public static LatencyComparison Compare(byte[] modelA, string sourceA, byte[] modelB, string sourceB, IDataset data, int batch, int runs, int warmup,
        int threads, CancellationToken cancellationToken)
    {
        using var a = new TimedSession(modelA, sourceA, data, threads);
        using var b = new TimedSession(modelB, sourceB, data, threads);
        if (!a.CanBatch || !b.CanBatch) batch = 1;
        var input = Enumerable.Range(0, Math.Min(batch, data.Count)).Select(data.Get).ToList();
        for (int i = 0; i < warmup; i++) { a.Run(input); b.Run(input); }
        var ta = new List<double>();
        var tb = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Alternate which model goes first so neither always follows the other's cache state.
            if (i % 2 == 0) { ta.Add(a.Time(input)); tb.Add(b.Time(input)); }
            else { tb.Add(b.Time(input)); ta.Add(a.Time(input)); }
        }
        return new LatencyComparison(Timing.Of(ta), Timing.Of(tb));
    }

}

/// <summary>One ONNX Runtime session that runs a batch of data items and times the run alone (binding excluded).</summary>
internal sealed class TimedSession : IDisposable
{
    private readonly SessionOptions _options;
    private readonly InferenceSession _session;
    private readonly ModelInputBinder _binder;
    private readonly string[] _outputs;
    private readonly RunOptions _runOptions = new();

    public TimedSession(byte[] model, string source, IDataset data, int threads)
    {
        _options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, threads);
        _session = OrtSessions.Create(model, _options, source);
        _binder = ModelInputBinder.Bind(_session, data, source);
        _outputs = _session.OutputMetadata.Keys.ToArray();
    }

    public bool CanBatch => _binder.CanBatch;

    public double Time(IReadOnlyList<DataItem> items)
    {
        // The same input path as calibration (stacked into a reused buffer).
        var values = _binder.Bind(items);
        try
        {
            long start = Stopwatch.GetTimestamp();
            using (_session.Run(_runOptions, _binder.ModelInputs, values, _outputs)) { }
            return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    public void Run(IReadOnlyList<DataItem> items) => Time(items);

    public void Dispose()
    {
        _runOptions.Dispose();
        _session.Dispose();
        _options.Dispose();
    }
}
