using Google.Protobuf;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Evaluation;

/// <summary>One metric's aggregate value.</summary>
/// <param name="Type">The metric type word (accuracy, f1, cosine_similarity, script, custom...).</param>
public sealed record MetricValue(string Name, string Type, MetricDirection Direction, double Value)
{
    public override string ToString() =>
        $"{Name} = {Value.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture)} ({(Direction == MetricDirection.HigherBetter ? "higher-better" : "higher-worse")})";
}

/// <summary>Metric values in engine order; prints as "name=value; ..." (how PowerShell shows it in a CSV cell).</summary>
public sealed class MetricValueList(IList<MetricValue> metrics) : System.Collections.ObjectModel.ReadOnlyCollection<MetricValue>(metrics)
{
    public override string ToString() =>
        string.Join("; ", this.Select(m => m.Name + "=" + m.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
}

/// <summary>
/// Inference latency of the timed runs (after warm-up). Percentiles are nearest-rank over the runs; per-item values
/// are each run's time divided by its item count, and the per-item mean is total time / total items.
/// </summary>
public sealed record LatencyStatistics(
    int Runs, int WarmupRuns, int BatchSize,
    double BatchMeanMs, double BatchP50Ms, double BatchP90Ms,
    double ItemMeanMs, double ItemP50Ms, double ItemP90Ms)
{
    public static LatencyStatistics? From(EvaluationResult result)
    {
        var runs = result.BatchMilliseconds;
        if (runs.Count == 0) return null;
        var perItem = runs.Select((ms, i) => ms / Math.Max(1, result.BatchItems[i])).ToArray();
        double total = runs.Sum();
        int items = result.BatchItems.Sum();
        return new LatencyStatistics(runs.Count, result.WarmupRuns, result.BatchSize,
            total / runs.Count, Percentile(runs, 0.5), Percentile(runs, 0.9),
            total / Math.Max(1, items), Percentile(perItem, 0.5), Percentile(perItem, 0.9));
    }

    public override string ToString() => string.Format(System.Globalization.CultureInfo.InvariantCulture,
        "{0:0.####} ms/item p50, {1:0.####} p90, {2:0.####} mean ({3} runs of up to {4} items)", ItemP50Ms, ItemP90Ms, ItemMeanMs, Runs, BatchSize);

    /// <summary>Nearest-rank percentile: the smallest value with at least <paramref name="q"/> of the values at or below it.</summary>
    public static double Percentile(IReadOnlyList<double> values, double q)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        int rank = (int)Math.Ceiling(q * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}

/// <summary>What Measure-PotModel reports for one model.</summary>
public sealed record MeasurementResult
{
    public required string ModelPath { get; init; }
    public required string EngineSource { get; init; }
    public required IReadOnlyList<MetricValue> Metrics { get; init; }
    public required int ItemCount { get; init; }
    public required int BatchSize { get; init; }
    public required int Threads { get; init; }
    public required int Inferences { get; init; }
    public required TimeSpan Elapsed { get; init; }
    public LatencyStatistics? Latency { get; init; }
    /// <summary>The full evaluation: per-item values, predictions and annotations when requested.</summary>
    public required EvaluationResult Evaluation { get; init; }
}

/// <summary>The facade Measure-PotModel calls: loads a model file and evaluates it with an <see cref="Evaluator"/>.</summary>
public static class ModelMeasurement
{
    /// <summary>Reads a model file (external data included) into the bytes an evaluator takes; ModelNotFound/ModelCorrupt on failure.</summary>
    public static byte[] ReadModel(string path) => OnnxModelFile.Load(path).ToByteArray();

    /// <param name="latency">Warm up with <paramref name="warmupRuns"/> untimed runs and run every output, for honest timings.</param>
    public static MeasurementResult Measure(Evaluator evaluator, string modelPath, bool perSample, bool latency, int warmupRuns,
        CancellationToken cancellationToken, IProgress<PotProgress>? progress = null)
    {
        byte[] model = ReadModel(modelPath);
        var result = evaluator.Run(model, new EvaluationRequest
        {
            WarmupRuns = latency ? Math.Max(0, warmupRuns) : 0,
            AllOutputs = latency,
            KeepPredictions = perSample,
            ModelName = Path.GetFileName(modelPath),
        }, cancellationToken, progress);
        var metrics = evaluator.Metrics.Select((m, i) => new MetricValue(m.Name, evaluator.MetricTypes[i], m.Direction, result.Values[m.Name])).ToList();
        return new MeasurementResult
        {
            ModelPath = modelPath,
            EngineSource = evaluator.Engine.Source,
            Metrics = metrics,
            ItemCount = result.Items.Count,
            BatchSize = result.BatchSize,
            Threads = evaluator.ThreadSetting,
            Inferences = result.Inferences,
            Elapsed = result.Elapsed,
            Latency = latency ? LatencyStatistics.From(result) : null,
            Evaluation = result,
        };
    }
}
