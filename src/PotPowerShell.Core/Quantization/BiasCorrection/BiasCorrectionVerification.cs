using System.Globalization;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// Bias correction that corrects (ours, when the options set no threshold): POT's rule picks the corrections
/// (max |shift/bias| below 2.0), and DefaultQuantization keeps them only when the self-check (OutputAgreementCheck,
/// the INT8 model against FP32 on calibration items) finds the model closer to FP32 with them than without. Fast
/// correction measures each layer's shift on a constant channel-mean input and corrects all layers at once, which on
/// some real models moves the output away from FP32 (bench/Bench-Quality.ps1: the PaddleOCR direction classifier,
/// 22.7 dB with POT's corrections, 29.7 dB without), while on others it is what makes them close (ResNet18: 25.7 dB
/// with, 21.9 dB without); the check tells them apart at the cost of one more emission and check. A config that sets
/// threshold gets POT's rule as is.
/// </summary>
public static class BiasCorrectionVerification
{
    /// <summary>True when the corrections of <paramref name="builder"/> are to be verified: bias correction on, no threshold set, something corrected.</summary>
    public static bool Applies(QuantizedModelBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Setup.Options;
        return options.BiasCorrection && options.BiasCorrectionThreshold is null && builder.Plan.CorrectedBiases.Count > 0;
    }

    /// <summary>The builder to keep, <paramref name="corrected"/> or <paramref name="plain"/> (the same without corrections), each with its verdict.</summary>
    public static bool KeepCorrections(QuantizationCheck corrected, QuantizationCheck plain)
    {
        ArgumentNullException.ThrowIfNull(corrected);
        ArgumentNullException.ThrowIfNull(plain);
        return corrected.SqnrDb >= plain.SqnrDb;
    }

    /// <summary>The result's BiasCorrectionRule text after verification.</summary>
    public static string Verdict(bool kept, QuantizationCheck corrected, QuantizationCheck plain) => string.Create(CultureInfo.InvariantCulture,
        $"max |shift/bias| < {BiasCorrection.PotThreshold:G3} (POT), verified: {(kept ? "kept" : "dropped")}, self-check {corrected.SqnrDb:0.#} dB with the corrections, {plain.SqnrDb:0.#} dB without");

    /// <summary>The note of a layer whose correction verification dropped.</summary>
    public const string DroppedNote = "corrected, then dropped: the self-check agreed better with FP32 without the corrections";
}
