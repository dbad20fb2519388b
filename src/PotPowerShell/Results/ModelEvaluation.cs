using System.Collections.Specialized;
using System.Management.Automation;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;

namespace PotPowerShell;

/// <summary>What Measure-PotModel returns for one model.</summary>
public sealed class ModelEvaluation
{
    internal ModelEvaluation(MeasurementResult m, IReadOnlyList<PSObject>? perSample)
    {
        Measurement = m;
        ModelPath = m.ModelPath;
        Engine = m.EngineSource;
        Metrics = m.Metrics;
        var values = new OrderedDictionary(StringComparer.Ordinal);
        foreach (var metric in m.Metrics) values[metric.Name] = metric.Value;
        Values = values;
        ItemCount = m.ItemCount;
        BatchSize = m.BatchSize;
        Threads = m.Threads;
        Inferences = m.Inferences;
        Elapsed = m.Elapsed;
        Latency = m.Latency;
        PerSample = perSample;
    }

    /// <summary>The core result, for Export-PotReport.</summary>
    internal MeasurementResult Measurement { get; }

    public string ModelPath { get; }

    /// <summary>The engine file or data path the items came from.</summary>
    public string Engine { get; }

    /// <summary>Each metric's aggregate value, in engine order.</summary>
    public IReadOnlyList<MetricValue> Metrics { get; }

    /// <summary>Metric name to value, in engine order ($r.Values.'accuracy@top1').</summary>
    public OrderedDictionary Values { get; }

    public int ItemCount { get; }
    public int BatchSize { get; }

    /// <summary>ONNX Runtime intra-op threads (0 = ORT's default).</summary>
    public int Threads { get; }

    /// <summary>Timed inference runs (batches), warm-up excluded.</summary>
    public int Inferences { get; }

    public TimeSpan Elapsed { get; }

    /// <summary>Latency statistics (with -Latency), else null.</summary>
    public LatencyStatistics? Latency { get; }

    /// <summary>One row per item (with -PerSample): Index, Annotation, Prediction and one property per metric.</summary>
    public IReadOnlyList<PSObject>? PerSample { get; }

    public override string ToString() => $"{Path.GetFileName(ModelPath)}: {string.Join(", ", Metrics)}";

    internal static IReadOnlyList<PSObject> Rows(EvaluationResult r, IReadOnlyList<MetricDefinition> metrics)
    {
        var rows = new List<PSObject>(r.Items.Count);
        for (int i = 0; i < r.Items.Count; i++)
        {
            var row = new PSObject();
            row.Properties.Add(new PSNoteProperty("Index", r.Items[i]));
            row.Properties.Add(new PSNoteProperty("Annotation", Plain(r.Annotations?[i])));
            row.Properties.Add(new PSNoteProperty("Prediction", r.Predictions?[i]));
            foreach (var m in metrics) row.Properties.Add(new PSNoteProperty(m.Name, r.PerItem[m.Name][i]));
            row.TypeNames.Insert(0, "PotPowerShell.ModelEvaluationSample");
            rows.Add(row);
        }
        return rows;
    }

    private static object? Plain(object? annotation) => annotation is TensorData t ? t.ToFloats() : annotation;
}
