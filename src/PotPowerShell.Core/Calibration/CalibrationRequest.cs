using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Calibration;

/// <summary>What one calibration pass measures.</summary>
public sealed record CalibrationRequest
{
    /// <summary>Tensors whose range is estimated (graph inputs are measured from the data itself).</summary>
    public IReadOnlyCollection<string> RangeTensors { get; init; } = Array.Empty<string>();

    public RangeEstimatorKind Estimator { get; init; } = RangeEstimatorKind.MeanMinMax;

    public RangeEstimatorOptions EstimatorOptions { get; init; } = new();

    /// <summary>Tensors whose per-channel mean is collected (bias correction), with their channel axis.</summary>
    public IReadOnlyDictionary<string, int> ChannelMeanTensors { get; init; } = new Dictionary<string, int>();

    /// <summary>Items per inference (POT's stat_batch_size); 1 is used when the model's batch axis is fixed.</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>Intra-op threads (0 = ONNX Runtime's default).</summary>
    public int Threads { get; init; }
}

/// <summary>The outcome of a calibration pass: ranges and channel means, never the samples themselves.</summary>
public sealed class CalibrationStatistics
{
    public required IReadOnlyDictionary<string, ActivationRange> Ranges { get; init; }
    public required IReadOnlyDictionary<string, ChannelMeanStatistic> ChannelMeans { get; init; }
    public required RangeEstimatorKind Estimator { get; init; }
    /// <summary>Data-set indices that were used, ascending.</summary>
    public required IReadOnlyList<int> Items { get; init; }
    /// <summary>Items per inference actually used (1 when the batch axis is fixed or mixes items).</summary>
    public required int BatchSize { get; init; }
    public required int Inferences { get; init; }
    /// <summary>Bytes held by all accumulators at the end: independent of the number of items.</summary>
    public required long StateBytes { get; init; }
    public required TimeSpan Elapsed { get; init; }
}
