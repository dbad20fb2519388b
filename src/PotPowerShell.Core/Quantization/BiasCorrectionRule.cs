using System.Globalization;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// Which measured bias shifts are applied. POT's rule (a config sets <c>threshold</c>): all of a layer's channels or
/// none, when max |shift / bias| is below the threshold; a layer with a zero bias element is never corrected. With
/// near-zero biases that skips most layers of real convnets, however small the shift is against what the layer
/// outputs. Ours (the default): per channel, the shift is applied when it is at most <see cref="SpreadLimit"/> standard
/// deviations of that channel's FP32 output (a constant channel, deviation 0, is always corrected: its bias holds the
/// whole channel). A shift beyond that is not a rounding bias but a sign that the measurement does not describe the
/// layer (fast correction's channel-mean input), and is left alone. Measured in bench/Bench-Quality.ps1 and documented
/// in docs/en-US/about_PotPowerShell.md.
/// </summary>
public sealed record BiasCorrectionRule(double? Threshold)
{
    /// <summary>Our rule's limit, in standard deviations of the FP32 output channel.</summary>
    public const double SpreadLimit = 0.05;

    /// <summary>True for POT's threshold rule.</summary>
    public bool IsPot => Threshold is not null;

    /// <summary>Why a layer cannot be corrected under this rule before anything is measured (POT skips zero bias elements), or null.</summary>
    public string? Precheck(float[] bias) =>
        IsPot && bias.Any(v => v == 0) ? "a bias element is 0 (POT skips such layers; our default rule corrects them)" : null;

    /// <summary>
    /// The corrected bias, or null with <paramref name="note"/> saying why nothing was applied. <paramref name="deviations"/>
    /// are the FP32 output channels' standard deviations (our rule), <paramref name="shift"/> the measured FP32 - INT8 mean.
    /// </summary>
    public float[]? Apply(float[] bias, float[] shift, float[] deviations, out string? note)
    {
        note = null;
        if (Threshold is double threshold)
        {
            double magnitude = BiasCorrection.Magnitude(bias, shift);
            if (magnitude < threshold) return bias.Select((b, i) => b + shift[i]).ToArray();
            note = string.Create(CultureInfo.InvariantCulture, $"shift too large: max |shift/bias| = {magnitude:G3} is not below the threshold {threshold:G3}");
            return null;
        }
        int beyond = Enumerable.Range(0, bias.Length).Count(c => !WithinSpread(shift[c], c < deviations.Length ? deviations[c] : float.NaN));
        if (beyond == 0) return bias.Select((b, i) => b + shift[i]).ToArray();
        note = string.Create(CultureInfo.InvariantCulture,
            $"shift too large: in {beyond} of {bias.Length} channels it exceeds {SpreadLimit:G3} standard deviation(s) of the FP32 output channel");
        return null;
    }

    /// <summary>Our rule for one channel: |shift| within <see cref="SpreadLimit"/> deviations; a constant channel always; a non-finite value never.</summary>
    public static bool WithinSpread(float shift, float deviation)
    {
        if (!float.IsFinite(shift) || !float.IsFinite(deviation)) return false;
        return deviation == 0 || Math.Abs(shift) <= SpreadLimit * deviation;
    }

    /// <summary>The rule text for reports: POT's threshold or ours.</summary>
    public override string ToString() => Threshold is double t
        ? string.Create(CultureInfo.InvariantCulture, $"max |shift/bias| < {t:G3} (POT)")
        : string.Create(CultureInfo.InvariantCulture, $"per channel |shift| <= {SpreadLimit:G3} x FP32 output deviation");
}
