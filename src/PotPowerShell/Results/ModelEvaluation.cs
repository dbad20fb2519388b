using System.Collections.Specialized;
using System.Management.Automation;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;

namespace PotPowerShell;

/// <summary>What Measure-PotModel returns for one model.</summary>
public sealed class ModelEvaluation
{
    internal ModelEvaluation(MeasurementResult m, IReadOnlyList<PSObject>? perSample)
    {
        Measurement = m;
        ModelPath = m.ModelPath;
        Engine = m.EngineSource;
        Metrics = new MetricValueList(m.Metrics.ToList());
        var values = new MetricValues();
        foreach (var metric in m.Metrics) values[metric.Name] = metric.Value;
        Values = values;
        ItemCount = m.ItemCount;
        BatchSize = m.BatchSize;
        Threads = m.Threads;
        Inferences = m.Inferences;
        Elapsed = m.Elapsed;
        Latency = m.Latency;
        PerSample = perSample == null ? null : new SampleList(perSample.ToList());
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

    /// <summary>Median milliseconds per item (with -Latency), else null: <see cref="Latency"/>'s ItemP50Ms as a flat value.</summary>
    public double? LatencyP50Ms => Latency?.ItemP50Ms;

    /// <summary>90th percentile of milliseconds per item (with -Latency), else null.</summary>
    public double? LatencyP90Ms => Latency?.ItemP90Ms;

    /// <summary>One row per item (with -PerSample): Index, Annotation, Prediction and one property per metric.</summary>
    public IReadOnlyList<PSObject>? PerSample { get; }

    public override string ToString() => $"{Path.GetFileName(ModelPath)}: {string.Join(", ", Metrics)}";

    /// <summary>
    /// This result with one note property per metric, named after it and holding its value ($r.'accuracy@top1'), so
    /// that Export-Csv, ConvertTo-Json and remoting (which keeps one level of properties) carry each metric as a
    /// number. A metric named like a property of this type is left to <see cref="Values"/>.
    /// </summary>
    internal PSObject ToPSObject()
    {
        var o = new PSObject(this);
        foreach (var m in Metrics)
            if (o.Properties[m.Name] == null) o.Properties.Add(new PSNoteProperty(m.Name, m.Value));
        return o;
    }

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

    private static object? Plain(object? annotation) => annotation switch
    {
        TensorData t => t.ToFloats(),
        SegmentationAnnotation m => m.Mask.ToFloats(),
        _ => annotation,
    };
}

// The collections of a ModelEvaluation print as their content, not their type name, where PowerShell shows a property
// with ToString (Export-Csv, string expansion, properties beyond the depth of remoting and ConvertTo-Json): the core's
// MetricValueList and MetricValues, and the list below. A class here deriving from a core type would make PowerShell
// load the core while it scans this assembly at import, before the module's load context is in place.

/// <summary>The per-sample rows of a <see cref="ModelEvaluation"/>.</summary>
public sealed class SampleList(IList<PSObject> rows) : System.Collections.ObjectModel.ReadOnlyCollection<PSObject>(rows)
{
    public override string ToString() => $"{Count} samples";
}
