using Google.Protobuf;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Comparison;

/// <summary>Settings of a <see cref="ModelComparer"/>.</summary>
public sealed record ComparisonOptions
{
    /// <summary>Timed runs of each model (interleaved); 0 skips the latency measurement.</summary>
    public int LatencyRuns { get; init; } = 50;
    public int WarmupRuns { get; init; } = 3;
    public int BootstrapSamples { get; init; } = 2000;
    public int Seed { get; init; }
}

/// <summary>
/// Compares candidate models (INT8) with one reference model (FP32) on the same evaluator: metrics with paired-bootstrap
/// intervals of their drop, top-1 agreement, interleaved latency, file sizes and layer precisions. The reference is
/// evaluated once, on the first comparison. The evaluator must have been created with the same reference model bytes
/// (<see cref="EvaluatorOptions.ReferenceModel"/>), so that reference: fp32 metrics compare with it too.
/// </summary>
public sealed class ModelComparer(Evaluator evaluator, string referencePath, ComparisonOptions options)
{
    private MeasurementResult? _reference;
    private byte[]? _referenceBytes;
    private LayerPrecisionCount _referenceLayers;

    public string ReferencePath { get; } = referencePath;

    public ComparisonResult Compare(string modelPath, CancellationToken cancellationToken, IProgress<PotProgress>? progress = null)
    {
        if (_referenceBytes == null)
        {
            var referenceProto = OnnxModelFile.Load(ReferencePath);
            _referenceLayers = LayerPrecisionCount.Of(referenceProto);
            _referenceBytes = referenceProto.ToByteArray();
        }
        _reference ??= ModelMeasurement.Measure(evaluator, ReferencePath, perSample: true, latency: false, 0, cancellationToken, progress);
        var candidate = ModelMeasurement.Measure(evaluator, modelPath, perSample: true, latency: false, 0, cancellationToken, progress);
        var reference = _reference;
        var metrics = new List<MetricComparison>();
        for (int m = 0; m < evaluator.Metrics.Count; m++)
        {
            var definition = evaluator.Metrics[m];
            double sign = definition.Direction == MetricDirection.HigherBetter ? 1 : -1;
            double refValue = reference.Metrics[m].Value, value = candidate.Metrics[m].Value;
            double drop = sign * (refValue - value);
            var interval = new Interval(double.NaN, double.NaN);
            // The bootstrap resamples items, which is the metric's own sampling only when the metric is the mean of its
            // per-item values (accuracy, top-k, cosine similarity...), not for F1 over the confusion matrix and the like.
            if (evaluator.MetricIsItemMean[m])
            {
                var r = reference.Evaluation.PerItem[definition.Name];
                var c = candidate.Evaluation.PerItem[definition.Name];
                interval = PairedBootstrap.MeanInterval(r.Select((v, i) => sign * (v - c[i])).ToArray(), options.BootstrapSamples, options.Seed);
            }
            metrics.Add(new MetricComparison(definition.Name, evaluator.MetricTypes[m], definition.Direction, refValue, value,
                drop, refValue == 0 ? double.NaN : drop / Math.Abs(refValue), interval.Lower, interval.Upper));
        }
        cancellationToken.ThrowIfCancellationRequested();
        var proto = OnnxModelFile.Load(modelPath);
        byte[] model = proto.ToByteArray();
        LatencyComparison? latency = null;
        if (options.LatencyRuns > 0)
        {
            progress?.Report(new PotProgress("Timing " + Path.GetFileName(modelPath), $"{options.LatencyRuns} runs of each model, interleaved", -1));
            latency = LatencyComparer.Compare(_referenceBytes, ReferencePath, model, modelPath, evaluator.Data, 1, options.LatencyRuns,
                options.WarmupRuns, evaluator.ThreadSetting, cancellationToken);
        }
        return new ComparisonResult
        {
            ReferencePath = ReferencePath,
            ModelPath = modelPath,
            EngineSource = evaluator.Engine.Source,
            ItemCount = candidate.ItemCount,
            Metrics = metrics,
            TopOneAgreement = Agreement(reference.Evaluation.Predictions, candidate.Evaluation.Predictions),
            Latency = latency,
            ReferenceFileSize = new FileInfo(ReferencePath).Length,
            FileSize = new FileInfo(modelPath).Length,
            ReferenceLayers = _referenceLayers,
            Layers = LayerPrecisionCount.Of(proto),
            BootstrapSamples = options.BootstrapSamples,
            Seed = options.Seed,
        };
    }

    /// <summary>Share of items whose predicted classes agree; null unless every prediction is a class index.</summary>
    internal static double? Agreement(IReadOnlyList<object?>? reference, IReadOnlyList<object?>? candidate)
    {
        if (reference == null || candidate == null || reference.Count == 0 || reference.Count != candidate.Count) return null;
        int same = 0;
        for (int i = 0; i < reference.Count; i++)
        {
            if (reference[i] is not long a || candidate[i] is not long b) return null;
            if (a == b) same++;
        }
        return (double)same / reference.Count;
    }
}
