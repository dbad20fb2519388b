using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.TestSupport;

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

    /// <summary>Median latency of A over that of B: above 1 when B is faster.</summary>
    public double Speedup => A.MedianMs / B.MedianMs;

    /// <summary>90th-percentile latency of A over that of B.</summary>
    public double SpeedupP90 => A.P90Ms / B.P90Ms;
}

/// <summary>
/// Calibration against plain FP32 inference over the same items, measured side by side (alternating rounds). Both
/// include their session creation: calibration builds the augmented model and its session, plain inference reads the
/// model file and creates an ORT_ENABLE_ALL session. Both use the same threads and the same batches (the first item
/// alone, then batches of the size calibration chose).
/// </summary>
public sealed record CalibrationComparison(Timing Calibration, Timing Plain, int Items, int BatchSize, int Inferences,
    Timing Session, Timing Inference, Timing Statistics)
{
    /// <summary>Median calibration time over median plain-inference time.</summary>
    public double Ratio => Calibration.MedianMs / Plain.MedianMs;

    /// <summary>The ratio of the 90th percentiles.</summary>
    public double RatioP90 => Calibration.P90Ms / Plain.P90Ms;

    /// <summary>Thread CPU time of calibration and of plain inference (see <see cref="ThreadCpuClock"/>), when the platform has the clock.</summary>
    public Timing? CalibrationCpu { get; init; }
    public Timing? PlainCpu { get; init; }

    /// <summary>Median calibration CPU time over median plain-inference CPU time (NaN without a thread clock).</summary>
    public double CpuRatio => CalibrationCpu == null || PlainCpu == null ? double.NaN : CalibrationCpu.MedianMs / PlainCpu.MedianMs;
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
        return new LatencyComparison(Timing.Of(ta), Timing.Of(tb));
    }

    /// <summary>
    /// Times the calibration pass that DefaultQuantization runs for <paramref name="modelPath"/> (same prepared model,
    /// same request, see <see cref="QuantizedModelBuilder.CalibrationFor"/>) against plain inference of the FP32 model
    /// over the same items, alternating, <paramref name="rounds"/> times each after one untimed warm-up round of each.
    /// </summary>
    public static CalibrationComparison CompareCalibration(string modelPath, IDataset data, DefaultQuantizationOptions options, int rounds = 5)
    {
        var (prepared, request) = QuantizedModelBuilder.CalibrationFor(modelPath, options);
        var items = CalibrationSubset.Select(data.Count, options.StatSubsetSize, options.ShuffleData, options.Seed);
        var calibration = new List<double>();
        var plain = new List<double>();
        var session = new List<double>();
        var inference = new List<double>();
        var statistics = new List<double>();
        var calibrationCpu = new List<double>();
        var plainCpu = new List<double>();
        CalibrationStatistics? last = null;
        for (int round = 0; round <= rounds; round++)
        {
            var cpu = ThreadCpuClock.Now();
            var watch = Stopwatch.StartNew();
            last = ActivationCollector.Collect(prepared, data, items, request, null, CancellationToken.None);
            double calibrationMs = watch.Elapsed.TotalMilliseconds;
            var cpuMiddle = ThreadCpuClock.Now();
            // Timed from outside, like calibration: both include releasing their session (InferenceTime's own time stops
            // before its session is disposed).
            watch.Restart();
            InferenceTime(modelPath, data, items, last.BatchSize, options.Threads);
            double plainMs = watch.Elapsed.TotalMilliseconds;
            var cpuEnd = ThreadCpuClock.Now();
            if (round == 0) continue; // warm-up: JIT and the file cache, on both sides
            calibration.Add(calibrationMs);
            plain.Add(plainMs);
            if (cpu != null && cpuMiddle != null && cpuEnd != null)
            {
                calibrationCpu.Add((cpuMiddle.Value - cpu.Value).TotalMilliseconds);
                plainCpu.Add((cpuEnd.Value - cpuMiddle.Value).TotalMilliseconds);
            }
            session.Add(last.SessionTime.TotalMilliseconds);
            inference.Add(last.InferenceTime.TotalMilliseconds);
            statistics.Add(last.StatisticsTime.TotalMilliseconds);
        }
        return new CalibrationComparison(Timing.Of(calibration), Timing.Of(plain), items.Length, last!.BatchSize, last.Inferences,
            Timing.Of(session), Timing.Of(inference), Timing.Of(statistics))
        {
            CalibrationCpu = calibrationCpu.Count > 0 ? Timing.Of(calibrationCpu) : null,
            PlainCpu = plainCpu.Count > 0 ? Timing.Of(plainCpu) : null,
        };
    }

    /// <summary>
    /// Wall time of plain inference over <paramref name="items"/>, batched as calibration batches them: the first item
    /// alone, then <paramref name="batchSize"/> at a time. From reading the file and creating the session to the last output.
    /// </summary>
    public static TimeSpan InferenceTime(string model, IDataset data, IReadOnlyList<int> items, int batchSize, int threads)
    {
        var watch = Stopwatch.StartNew();
        using var runner = new Runner(File.ReadAllBytes(model), model, data, threads);
        batchSize = runner.CanBatch ? Math.Max(1, batchSize) : 1;
        if (items.Count > 0) runner.Run(new[] { data.Get(items[0]) });
        for (int start = 1; start < items.Count; start += batchSize)
        {
            var batch = new List<DataItem>(batchSize);
            for (int k = start; k < Math.Min(items.Count, start + batchSize); k++) batch.Add(data.Get(items[k]));
            runner.Run(batch);
        }
        return watch.Elapsed;
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
}
