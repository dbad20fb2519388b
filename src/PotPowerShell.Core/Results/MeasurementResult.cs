namespace PotPowerShell.Core.Results;

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
