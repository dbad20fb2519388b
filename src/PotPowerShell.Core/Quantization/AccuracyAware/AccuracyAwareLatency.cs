using PotPowerShell.Core.Config;
using PotPowerShell.Core.Results;
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
            // Every warning of the quantization (ignored scope, calibration statistics, precision, restore mode), then the search's.
            Warnings = builder.Setup.Warnings.Concat(result.Warnings).ToList(),
        };
        return check?.Figures is not { } f ? result : result with
        {
            Fp32LatencyMs = f.Fp32Ms,
            LatencyMs = f.Ms,
            Fp32LatencyP90Ms = f.Fp32P90Ms,
            LatencyP90Ms = f.P90Ms,
            Speedup = f.Speedup,
            BatchSize = f.BatchSize,
            Warnings = check.WarningFor(result.QuantizedLayerCount - result.RevertedLayerCount, precision.Mode == PrecisionMode.Fastest) is { } warning ? result.Warnings.Append(warning).ToList() : result.Warnings,
        };
    }
}
