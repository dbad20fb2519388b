using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Runtime;

/// <summary>Latencies of two models measured side by side (interleaved runs).</summary>
public sealed record LatencyComparison(double MedianMsA, double MedianMsB, double MinMsA, double MinMsB, int Runs)
{
    /// <summary>Median latency of A over that of B: above 1 when B is faster.</summary>
    public double Speedup => MedianMsA / MedianMsB;
}

/// <summary>
/// Timing helpers for the benchmarks (bench/*.ps1): never used by tests with assertions on time. Sessions use
/// ORT_ENABLE_ALL, sequential execution and no spinning, as in deployment.
/// </summary>
public static class LatencyBenchmark
{
    /// <summary>
    /// Runs models A and B alternately on the same input (the first <paramref name="batch"/> items, after warm-up) and
    /// returns both medians: interleaving makes the comparison fair on a shared, noisy machine.
    /// </summary>
    public static LatencyComparison Compare(string modelA, string modelB, IDataset data, int batch = 1, int runs = 50, int warmup = 5, int threads = 1)
    {
        using var a = new Runner(File.ReadAllBytes(modelA), modelA, data, threads);
        using var b = new Runner(File.ReadAllBytes(modelB), modelB, data, threads);
        if (!a.CanBatch || !b.CanBatch) batch = 1;
        var input = Enumerable.Range(0, Math.Min(batch, data.Count)).Select(data.Get).ToList();
        for (int i = 0; i < warmup; i++) { a.Run(input); b.Run(input); }
        var ta = new List<double>();
        var tb = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            // Alternate which model goes first so neither always follows the other's cache state.
            if (i % 2 == 0) { ta.Add(a.Time(input)); tb.Add(b.Time(input)); }
            else { tb.Add(b.Time(input)); ta.Add(a.Time(input)); }
        }
        return new LatencyComparison(Median(ta), Median(tb), ta.Min(), tb.Min(), runs);
    }

    /// <summary>
    /// Wall time of plain inference of <paramref name="model"/> over the first <paramref name="count"/> items, in
    /// batches, from reading the file and creating the session (as calibration's time includes its session) to the
    /// last output.
    /// </summary>
    public static TimeSpan InferenceTime(string model, IDataset data, int count, int batchSize = 1, int threads = 0)
    {
        var watch = Stopwatch.StartNew();
        using var runner = new Runner(File.ReadAllBytes(model), model, data, threads);
        batchSize = runner.CanBatch ? Math.Max(1, batchSize) : 1;
        for (int start = 0; start < count; start += batchSize)
        {
            var batch = Enumerable.Range(start, Math.Min(batchSize, count - start)).Select(data.Get).ToList();
            runner.Run(batch);
        }
        return watch.Elapsed;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        int n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private sealed class Runner : IDisposable
    {
        private readonly SessionOptions _options;
        private readonly InferenceSession _session;
        private readonly ModelInputBinder _binder;
        private readonly string[] _outputs;
        private readonly RunOptions _runOptions = new();

        public Runner(byte[] model, string source, IDataset data, int threads)
        {
            _options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, threads);
            _session = OrtSessions.Create(model, _options, source);
            _binder = ModelInputBinder.Bind(_session, data, source);
            _outputs = _session.OutputMetadata.Keys.ToArray();
        }

        public bool CanBatch => _binder.CanBatch;

        public double Time(IReadOnlyList<DataItem> items)
        {
            var values = _binder.ToOrtValues(_binder.Gather(items));
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
}
