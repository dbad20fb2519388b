using PotPowerShell.Core.Config;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>The precision choice and the latency check in an AccuracyAwareQuantization result (see <see cref="LatencyProof"/>).</summary>
internal static class AccuracyAwareLatency
{
    public static AccuracyAwareResult Apply(AccuracyAwareResult result, QuantizedModelBuilder builder, LatencyCheckResult? check)
    {
        var precision = builder.Setup.Precision;
        result = result with
        {
            Precision = precision.Mode,
            FasterInFloatLayers = precision.FloatLayers,
            BatchSize = precision.BatchSize,
            Warnings = builder.Setup.Precision.Warnings,
        };
        return check == null ? result : result with
        {
            Fp32LatencyMs = Math.Round(check.Fp32.MedianMs, 4),
            LatencyMs = Math.Round(check.Output.MedianMs, 4),
            Fp32LatencyP90Ms = Math.Round(check.Fp32.P90Ms, 4),
            LatencyP90Ms = Math.Round(check.Output.P90Ms, 4),
            Speedup = Math.Round(check.Speedup, 3),
            BatchSize = check.BatchSize,
            Warnings = check.WarningFor(result.QuantizedLayerCount - result.RevertedLayerCount, precision.Mode == PrecisionMode.Fastest) is { } warning ? result.Warnings.Append(warning).ToList() : result.Warnings,
        };
    }
}
