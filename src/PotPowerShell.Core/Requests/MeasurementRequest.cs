using PotPowerShell.Core.Evaluation;

namespace PotPowerShell.Core.Requests;

/// <summary>
/// What Measure-PotModel evaluates its models with, resolved once from an engine file, a data path or a configuration
/// plus parameter overrides: the engine, the FP32 reference, custom metrics and the evaluator's settings.
/// <see cref="MeasurementPipeline"/> opens it and measures each model.
/// </summary>
public sealed record MeasurementRequest
{
    public required EngineSource Engine { get; init; }

    /// <summary>The FP32 model that reference: fp32 metrics compare with; null: none.</summary>
    public string? ReferenceModelPath { get; init; }

    /// <summary>
    /// True: <see cref="ReferenceModelPath"/> was given by the user and is always read. False: it came with the input
    /// (a piped quantization result's ModelPath) and is read only when a metric compares with it.
    /// </summary>
    public bool ReferenceGiven { get; init; }

    /// <summary>Metrics given in code (Measure-PotModel -Metric), after the engine's.</summary>
    public IReadOnlyList<CustomMetric> CustomMetrics { get; init; } = Array.Empty<CustomMetric>();

    /// <summary>Runs the engine's 'type: script' metrics; null: such metrics fail with ScriptMetricUnavailable.</summary>
    public ScriptMetricFactory? ScriptMetrics { get; init; }

    public int? Threads { get; init; }
    public int? BatchSize { get; init; }

    /// <summary>Keep each item's predictions and metric values.</summary>
    public bool PerSample { get; init; }

    /// <summary>Time the inferences (after <see cref="WarmupRuns"/> untimed runs).</summary>
    public bool Latency { get; init; }

    public int WarmupRuns { get; init; } = 3;
}
