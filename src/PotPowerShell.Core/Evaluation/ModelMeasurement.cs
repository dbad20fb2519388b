using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Evaluation;

/// <summary>The facade Measure-PotModel calls: loads a model file and evaluates it with an <see cref="Evaluator"/>.</summary>
public static class ModelMeasurement
{
    /// <summary>Reads a model file (external data included) into the bytes an evaluator takes; ModelNotFound/ModelCorrupt on failure.</summary>
    public static byte[] ReadModel(string path) => OnnxModelFile.ReadBytes(path);

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
