using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.TestSupport;

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

    /// <summary>The part of calibration's wall time that turns the statistics into ranges after the last item.</summary>
    public Timing? Ranges { get; init; }

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
    /// The prepared model and calibration request of <see cref="QuantizedModelBuilder.Create(string, IDataset, DefaultQuantizationOptions, IProgress{Core.PotProgress}?, CancellationToken)"/>
    /// for <paramref name="modelPath"/> and <paramref name="options"/>, built by its own steps (preparation, equalization,
    /// float layers, request), so that a benchmark times that pass and nothing else. Layers that latency-aware precision
    /// would keep float (it times them first) are calibrated here too.
    /// </summary>
    private static (Onnx.ModelProto Prepared, CalibrationRequest Request) CalibrationFor(string modelPath, DefaultQuantizationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        QuantizedModelBuilder.Validate(options);
        var original = Core.Onnx.OnnxModelFile.Load(modelPath);
        var prepared = Core.Onnx.ModelPreparation.Prepare(original);
        if (options.Equalization != EqualizationScope.None)
            prepared = Core.Onnx.CrossLayerEqualization.Equalize(prepared, options.Equalization == EqualizationScope.Depthwise).Model;
        var (_, floatLayers) = QuantizedModelBuilder.FloatLayers(original, prepared, options, new List<string>());
        return (prepared, QuantizedModelBuilder.CalibrationRequestFor(prepared, floatLayers, QdqEmitter.Layers(prepared, floatLayers), options));
    }

    /// <summary>Interleaved latency of two models (see <see cref="LatencyComparer.Compare(string, string, IDataset, int, int, int, int)"/>), for the bench scripts.</summary>
    public static LatencyComparison Compare(string modelA, string modelB, IDataset data, int batch = 1, int runs = 50, int warmup = 5, int threads = 1) =>
        LatencyComparer.Compare(modelA, modelB, data, batch, runs, warmup, threads);

    /// <summary>
    /// Times the calibration pass that DefaultQuantization runs for <paramref name="modelPath"/> (same prepared model,
    /// same request, see <see cref="CalibrationFor"/>) against plain inference of the FP32 model over the same items,
    /// alternating, <paramref name="rounds"/> times each after one untimed warm-up round of each.
    /// </summary>
    public static CalibrationComparison CompareCalibration(string modelPath, IDataset data, DefaultQuantizationOptions options, int rounds = 5)
    {
        var (prepared, request) = CalibrationFor(modelPath, options);
        var items = CalibrationSubset.Select(data.Count, options.StatSubsetSize, options.ShuffleData, options.Seed);
        var calibration = new List<double>();
        var plain = new List<double>();
        var session = new List<double>();
        var inference = new List<double>();
        var statistics = new List<double>();
        var ranges = new List<double>();
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
            ranges.Add(last.RangeTime.TotalMilliseconds);
        }
        return new CalibrationComparison(Timing.Of(calibration), Timing.Of(plain), items.Length, last!.BatchSize, last.Inferences,
            Timing.Of(session), Timing.Of(inference), Timing.Of(statistics))
        {
            CalibrationCpu = calibrationCpu.Count > 0 ? Timing.Of(calibrationCpu) : null,
            PlainCpu = plainCpu.Count > 0 ? Timing.Of(plainCpu) : null,
            Ranges = ranges.Count > 0 ? Timing.Of(ranges) : null,
        };
    }

    /// <summary>
    /// Wall time of plain inference over <paramref name="items"/>, batched as calibration batches them: the first item
    /// alone, then <paramref name="batchSize"/> at a time. From reading the file and creating the session to the last output.
    /// </summary>
    public static TimeSpan InferenceTime(string model, IDataset data, IReadOnlyList<int> items, int batchSize, int threads)
    {
        var watch = Stopwatch.StartNew();
        using var runner = new TimedSession(File.ReadAllBytes(model), model, data, threads);
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
}
