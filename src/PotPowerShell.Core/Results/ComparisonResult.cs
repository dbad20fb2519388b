using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Results;

/// <summary>One metric of a candidate model against the reference (FP32) model on the same items.</summary>
/// <param name="Drop">Reference value minus value for a higher-better metric (value minus reference for higher-worse): positive = worse.</param>
/// <param name="RelativeDrop">Drop / |reference value| (NaN for a zero reference value).</param>
/// <param name="DropLower">Lower bound of the paired-bootstrap interval of the drop (NaN when the metric is not a mean of per-item values).</param>
/// <param name="DropUpper">Upper bound of that interval.</param>
public sealed record MetricComparison(string Name, string Type, MetricDirection Direction, double ReferenceValue, double Value,
    double Drop, double RelativeDrop, double DropLower, double DropUpper);

/// <summary>What Compare-PotModel reports for one candidate model against the reference model.</summary>
public sealed record ComparisonResult
{
    public required string ReferencePath { get; init; }
    public required string ModelPath { get; init; }
    public required string EngineSource { get; init; }
    public required int ItemCount { get; init; }
    /// <summary>Every metric of the engine, in engine order.</summary>
    public required IReadOnlyList<MetricComparison> Metrics { get; init; }
    /// <summary>Share of items whose top-1 class equals the reference's (null when the outputs are not class scores).</summary>
    public double? TopOneAgreement { get; init; }
    /// <summary>Latency of one inference of both models, interleaved in the same run (null when skipped).</summary>
    public LatencyComparison? Latency { get; init; }
    public required long ReferenceFileSize { get; init; }
    public required long FileSize { get; init; }
    public required LayerPrecisionCount ReferenceLayers { get; init; }
    public required LayerPrecisionCount Layers { get; init; }
    public required int BootstrapSamples { get; init; }
    public required int Seed { get; init; }

    /// <summary>Reference file size over candidate file size: above 1 when the candidate is smaller.</summary>
    public double SizeRatio => FileSize == 0 ? double.NaN : (double)ReferenceFileSize / FileSize;
}
