using PotPowerShell.Core.Config;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// restore_mode in an AccuracyAwareQuantization result: the mode, and per reverted layer what it runs as (float, or
/// INT8 weights with activations quantized at run time), by the builder's one rule (<see cref="QuantizedModelBuilder.KeepsInt8WeightsWhenReverted"/>).
/// </summary>
internal static class RestoredPrecision
{
    public static AccuracyAwareResult Apply(AccuracyAwareResult result, QuantizedModelBuilder builder)
    {
        var layers = result.RevertedLayers.Select(l => builder.KeepsInt8WeightsWhenReverted(l.Layer) ? l with { Precision = "Dynamic" } : l).ToList();
        var dynamic = layers.Where(l => l.Precision == "Dynamic").Select(l => l.Layer).ToList();
        // The search's reason counts reverted layers as float: say which of them kept INT8 weights.
        string reason = dynamic.Count == 0 ? result.Reason
            : $"{result.Reason} {dynamic.Count} of them keep INT8 weights with activations quantized at run time (restore_mode only_activations): {string.Join(", ", dynamic)}.";
        return result with { RestoreMode = builder.RestoreMode, RevertedLayers = layers, Reason = reason };
    }
}
