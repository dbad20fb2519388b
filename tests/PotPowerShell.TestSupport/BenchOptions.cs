using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.TestSupport;

/// <summary>
/// Options with init-only properties, for scripts: PowerShell cannot set init-only properties, so the benchmarks take
/// their options from here.
/// </summary>
public static class BenchOptions
{
    /// <summary>The options Invoke-DefaultQuantization uses by default, with <paramref name="threads"/> intra-op threads.</summary>
    public static DefaultQuantizationOptions DefaultQuantization(int threads) => new() { Threads = threads };

    /// <summary>Evaluator options with <paramref name="threads"/> intra-op threads.</summary>
    public static EvaluatorOptions Evaluator(int threads) => new() { Threads = threads };
}
