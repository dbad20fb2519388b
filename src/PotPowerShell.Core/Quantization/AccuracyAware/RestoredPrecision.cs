using PotPowerShell.Core.Config;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// restore_mode in an AccuracyAwareQuantization result: the mode, and which reverted layers kept INT8 weights with
/// activations quantized at run time (the search marks them; see <see cref="DynamicPass"/>).
/// </summary>
internal static class RestoredPrecision
{
    public static AccuracyAwareResult Apply(AccuracyAwareResult result, QuantizedModelBuilder builder)
    {
        var dynamic = result.RevertedLayers.Where(l => l.Precision == "Dynamic").Select(l => l.Layer).ToList();
        // The search's reason counts reverted layers as float: say which of them kept INT8 weights.
        string reason = dynamic.Count == 0 ? result.Reason
            : $"{result.Reason} {dynamic.Count} of them keep INT8 weights with activations quantized at run time (restore_mode only_activations): {string.Join(", ", dynamic)}.";
        return result with { RestoreMode = builder.RestoreMode, Reason = reason };
    }
}
