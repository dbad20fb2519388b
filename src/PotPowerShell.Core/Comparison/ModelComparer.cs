using Google.Protobuf;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Results;
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
/// Compares candidate models (INT8) with one reference model (FP32) on one evaluator: metrics with paired-bootstrap
/// intervals of their drop, top-1 agreement, interleaved latency, file sizes and layer precisions. The reference is
/// read once and evaluated once, on the first comparison; reference: fp32 metrics compare with it too.
/// </summary>
public sealed class ModelComparer : IDisposable
{
    private readonly Evaluator _evaluator;
    private readonly ComparisonOptions _options;
    private readonly byte[] _referenceBytes;
    private readonly LayerPrecisionCount _referenceLayers;
    private MeasurementResult? _reference;

    /// <param name="evaluatorOptions">Evaluator settings; its reference model is set to <paramref name="referencePath"/>.</param>
    public ModelComparer(EngineDefinition engine, EvaluatorOptions evaluatorOptions, string referencePath, ComparisonOptions options)
    {
        var reference = OnnxModelFile.Load(referencePath);
        _referenceLayers = LayerPrecisionCount.Of(reference);
        _referenceBytes = reference.ToByteArray();
        ReferencePath = referencePath;
        _options = options;
        _evaluator = new Evaluator(engine, evaluatorOptions with { ReferenceModel = _referenceBytes, ReferenceSource = referencePath });
    }

    public string ReferencePath { get; }

    /// <summary>The evaluator shared by every comparison (its engine, metrics and cached items).</summary>
    public Evaluator Evaluator => _evaluator;

    public void Dispose() => _evaluator.Dispose();

    public ComparisonResult Compare(string modelPath, CancellationToken cancellationToken, IProgress<PotProgress>? progress = null)
    {
        _reference ??= ModelMeasurement.Measure(_evaluator, ReferencePath, perSample: true, latency: false, 0, cancellationToken, progress);
        var candidate = ModelMeasurement.Measure(_evaluator, modelPath, perSample: true, latency: false, 0, cancellationToken, progress);
        var reference = _reference;
        var metrics = new List<MetricComparison>();
        for (int m = 0; m < _evaluator.Metrics.Count; m++)
        {
            var definition = _evaluator.Metrics[m];
            double sign = definition.Direction == MetricDirection.HigherBetter ? 1 : -1;
            double refValue = reference.Metrics[m].Value, value = candidate.Metrics[m].Value;
            double drop = sign * (refValue - value);
            var interval = new Interval(double.NaN, double.NaN);
            // A mean of per-item values (accuracy, top-k, cosine similarity...) is resampled from those values; a metric
            // over the whole data set (F1 over the confusion matrix, mean IoU, map) is computed again from its per-item
            // parts on each resample. Dataset-level scripts have neither: their interval stays NaN.
            if (_evaluator.MetricIsItemMean[m])
            {
                var r = reference.Evaluation.PerItem[definition.Name];
                var c = candidate.Evaluation.PerItem[definition.Name];
                interval = PairedBootstrap.MeanInterval(r.Select((v, i) => sign * (v - c[i])).ToArray(), _options.BootstrapSamples, _options.Seed,
                    cancellationToken: cancellationToken);
            }
            else if (reference.Evaluation.Weighted.TryGetValue(definition.Name, out var r) && candidate.Evaluation.Weighted.TryGetValue(definition.Name, out var c)
                && r.Items == c.Items)
            {
                progress?.Report(new PotProgress("Comparing " + Path.GetFileName(modelPath), $"{definition.Name}: {_options.BootstrapSamples} bootstrap resamples of {r.Items} items", -1));
                interval = PairedBootstrap.Interval(r.Items, draws => sign * (r.Result(draws) - c.Result(draws)), _options.BootstrapSamples, _options.Seed,
                    cancellationToken: cancellationToken);
            }
            metrics.Add(new MetricComparison(definition.Name, _evaluator.MetricTypes[m], definition.Direction, refValue, value,
                drop, refValue == 0 ? double.NaN : drop / Math.Abs(refValue), interval.Lower, interval.Upper));
        }
        cancellationToken.ThrowIfCancellationRequested();
        var proto = OnnxModelFile.Load(modelPath);
        byte[] model = proto.ToByteArray();
        LatencyComparison? latency = null;
        if (_options.LatencyRuns > 0)
        {
            progress?.Report(new PotProgress("Timing " + Path.GetFileName(modelPath), $"{_options.LatencyRuns} runs of each model, interleaved", -1));
            latency = LatencyComparer.Compare(_referenceBytes, ReferencePath, model, modelPath, _evaluator.Data, 1, _options.LatencyRuns,
                _options.WarmupRuns, _evaluator.ThreadSetting, cancellationToken);
        }
        return new ComparisonResult
        {
            ReferencePath = ReferencePath,
            ModelPath = modelPath,
            EngineSource = _evaluator.Engine.Source,
            ItemCount = candidate.ItemCount,
            Metrics = metrics,
            TopOneAgreement = Agreement(reference.Evaluation.Predictions, candidate.Evaluation.Predictions),
            Latency = latency,
            ReferenceFileSize = new FileInfo(ReferencePath).Length,
            FileSize = new FileInfo(modelPath).Length,
            ReferenceLayers = _referenceLayers,
            Layers = LayerPrecisionCount.Of(proto),
            BootstrapSamples = _options.BootstrapSamples,
            Seed = _options.Seed,
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
