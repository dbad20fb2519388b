namespace PotPowerShell.Core.Runtime;

/// <summary>What measured timings are valid for: the CPU model (with its INT8 features) and the ONNX Runtime version.</summary>
public sealed record CostCacheIdentity(string Cpu, string OnnxRuntime);

/// <summary>
/// How DefaultQuantization takes timings: the timer, where layer timings are cached, which machine they belong to and
/// how long each measurement may take. Quantization's <c>ThisMachine.Measurement()</c> is what users get; tests give a
/// fake timer and a temporary cache (no timing in tests).
/// </summary>
public sealed record LatencyMeasurement
{
    public required IModelTimer Timer { get; init; }
    public required string CachePath { get; init; }
    public required CostCacheIdentity Identity { get; init; }
    /// <summary>Timed rounds of one layer's micro-benchmarks stop after this (at least <see cref="OrtModelTimer.MinRounds"/> rounds).</summary>
    public TimeSpan LayerBudget { get; init; } = TimeSpan.FromMilliseconds(40);
    /// <summary>Timed rounds of the whole-model candidates of the precision choice stop after this.</summary>
    public TimeSpan ModelBudget { get; init; } = TimeSpan.FromMilliseconds(2000);
    /// <summary>Timed rounds of the final FP32-versus-output check stop after this.</summary>
    public TimeSpan CheckBudget { get; init; } = TimeSpan.FromMilliseconds(1000);
}
