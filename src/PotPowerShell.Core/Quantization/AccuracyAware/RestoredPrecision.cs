using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// restore_mode in an AccuracyAwareQuantization result: the mode, and per reverted layer what it runs as (float, or
/// INT8 weights with activations quantized at run time), by the builder's one rule (<see cref="QuantizedModelBuilder.KeepsInt8WeightsWhenReverted"/>).
/// </summary>
internal static class RestoredPrecision
{
    public static AccuracyAwareResult Apply(AccuracyAwareResult result, QuantizedModelBuilder builder) => result with
    {
        RestoreMode = builder.RestoreMode,
        RevertedLayers = result.RevertedLayers.Select(l => builder.KeepsInt8WeightsWhenReverted(l.Layer) ? l with { Precision = "Dynamic" } : l).ToList(),
    };
}
