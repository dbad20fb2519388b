using PotPowerShell.Core.Comparison;
using PotPowerShell.Core.Evaluation;

namespace PotPowerShell.Core.Requests;

/// <summary>
/// What Compare-PotModel compares its candidate models with, resolved once from an engine file, a data path or a
/// configuration plus parameter overrides: the engine, the comparison settings and the evaluator's settings. The FP32
/// reference may change from input to input (a piped result's ModelPath); <see cref="ComparisonPipeline"/> takes it
/// per input.
/// </summary>
public sealed record ComparisonRequest
{
    public required EngineSource Engine { get; init; }

    public ComparisonOptions Comparison { get; init; } = new();

    /// <summary>Runs the engine's 'type: script' metrics; null: such metrics fail with ScriptMetricUnavailable.</summary>
    public ScriptMetricFactory? ScriptMetrics { get; init; }

    public int? Threads { get; init; }
    public int? BatchSize { get; init; }
}
