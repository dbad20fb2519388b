using System.Management.Automation;
using PotPowerShell.Core.Results;

namespace PotPowerShell;

/// <summary>
/// What Compare-PotModel returns for one candidate model: flat properties only, so that Export-Csv, ConvertTo-Json and
/// the table view need no nested objects. The engine's first metric has the named properties (Metric, ReferenceValue,
/// Value, Drop...); every further metric adds the same six as note properties named '&lt;metric&gt;.ReferenceValue' etc.
/// </summary>
public sealed class ModelComparison
{
    internal ModelComparison(ComparisonResult r)
    {
        Result = r;
        Name = Path.GetFileName(r.ModelPath);
        ModelPath = r.ModelPath;
        ReferencePath = r.ReferencePath;
        Engine = r.EngineSource;
        ItemCount = r.ItemCount;
        var first = r.Metrics.Count > 0 ? r.Metrics[0] : null;
        Metric = first?.Name ?? "";
        ReferenceValue = first?.ReferenceValue ?? double.NaN;
        Value = first?.Value ?? double.NaN;
        Drop = first?.Drop ?? double.NaN;
        RelativeDrop = first?.RelativeDrop ?? double.NaN;
        DropLower95 = first?.DropLower ?? double.NaN;
        DropUpper95 = first?.DropUpper ?? double.NaN;
        TopOneAgreement = r.TopOneAgreement;
        ReferenceLatencyP50Ms = r.Latency?.A.MedianMs;
        ReferenceLatencyP90Ms = r.Latency?.A.P90Ms;
        LatencyP50Ms = r.Latency?.B.MedianMs;
        LatencyP90Ms = r.Latency?.B.P90Ms;
        Speedup = r.Latency?.Speedup;
        SpeedupP90 = r.Latency?.SpeedupP90;
        LatencyRuns = r.Latency?.Runs ?? 0;
        ReferenceFileSize = r.ReferenceFileSize;
        FileSize = r.FileSize;
        SizeRatio = r.SizeRatio;
        Int8LayerCount = r.Layers.Int8;
        FloatLayerCount = r.Layers.Float;
        ReferenceFloatLayerCount = r.ReferenceLayers.Float;
        BootstrapSamples = r.BootstrapSamples;
        Seed = r.Seed;
    }

    /// <summary>The core result, for Export-PotReport (every metric with its type and direction).</summary>
    internal ComparisonResult Result { get; }

    /// <summary>The candidate's file name.</summary>
    public string Name { get; }
    public string ModelPath { get; }
    /// <summary>The FP32 model the candidate is compared with.</summary>
    public string ReferencePath { get; }
    /// <summary>The engine file or data path the items came from.</summary>
    public string Engine { get; }
    public int ItemCount { get; }

    /// <summary>The engine's first metric.</summary>
    public string Metric { get; }
    /// <summary>The metric's value for the reference model.</summary>
    public double ReferenceValue { get; }
    /// <summary>The metric's value for the candidate.</summary>
    public double Value { get; }
    /// <summary>Reference value minus value (value minus reference value for a higher-worse metric): positive = worse.</summary>
    public double Drop { get; }
    /// <summary>Drop / |ReferenceValue|.</summary>
    public double RelativeDrop { get; }
    /// <summary>Lower bound of the paired-bootstrap 95 % interval of the drop (NaN for metrics that are not a per-item mean, like F1).</summary>
    public double DropLower95 { get; }
    /// <summary>Upper bound of the paired-bootstrap 95 % interval of the drop.</summary>
    public double DropUpper95 { get; }

    /// <summary>Share of items whose top-1 class equals the reference's (null when the outputs are not class scores).</summary>
    public double? TopOneAgreement { get; }

    /// <summary>Median latency of one inference (one item) of the reference, timed interleaved with the candidate's.</summary>
    public double? ReferenceLatencyP50Ms { get; }
    public double? ReferenceLatencyP90Ms { get; }
    public double? LatencyP50Ms { get; }
    public double? LatencyP90Ms { get; }
    /// <summary>ReferenceLatencyP50Ms / LatencyP50Ms: above 1 when the candidate is faster.</summary>
    public double? Speedup { get; }
    /// <summary>ReferenceLatencyP90Ms / LatencyP90Ms.</summary>
    public double? SpeedupP90 { get; }
    /// <summary>Timed runs of each model (0 with -LatencyRuns 0).</summary>
    public int LatencyRuns { get; }

    /// <summary>Bytes of the reference .onnx file.</summary>
    public long ReferenceFileSize { get; }
    /// <summary>Bytes of the candidate .onnx file.</summary>
    public long FileSize { get; }
    /// <summary>ReferenceFileSize / FileSize: above 1 when the candidate is smaller.</summary>
    public double SizeRatio { get; }

    /// <summary>Weighted layers (Conv, ConvTranspose, MatMul, Gemm) of the candidate that run in INT8.</summary>
    public int Int8LayerCount { get; }
    /// <summary>Weighted layers of the candidate that run in float.</summary>
    public int FloatLayerCount { get; }
    /// <summary>Weighted layers of the reference that run in float.</summary>
    public int ReferenceFloatLayerCount { get; }

    public int BootstrapSamples { get; }
    public int Seed { get; }

    public override string ToString() =>
        FormattableString.Invariant($"{Name}: {Metric} {ReferenceValue:0.####} -> {Value:0.####} (drop {Drop:0.####}), speed-up {Speedup:0.##}x, size ratio {SizeRatio:0.##}x");

    /// <summary>This object with a note property per value of every metric after the first.</summary>
    internal PSObject ToPSObject()
    {
        var ps = PSObject.AsPSObject(this);
        foreach (var m in Result.Metrics.Skip(1))
        {
            ps.Properties.Add(new PSNoteProperty(m.Name + ".ReferenceValue", m.ReferenceValue));
            ps.Properties.Add(new PSNoteProperty(m.Name + ".Value", m.Value));
            ps.Properties.Add(new PSNoteProperty(m.Name + ".Drop", m.Drop));
            ps.Properties.Add(new PSNoteProperty(m.Name + ".RelativeDrop", m.RelativeDrop));
            ps.Properties.Add(new PSNoteProperty(m.Name + ".DropLower95", m.DropLower));
            ps.Properties.Add(new PSNoteProperty(m.Name + ".DropUpper95", m.DropUpper));
        }
        return ps;
    }
}
