using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>Golden cases of the two bias-correction rules: POT's threshold and ours against the output's spread.</summary>
public class BiasCorrectionRuleTests
{
    [Fact]
    public void Pots_rule_applies_all_channels_when_max_shift_over_bias_is_below_the_threshold()
    {
        var rule = new BiasCorrectionRule(2.0);
        // |0.1/0.1| = 1 and |-0.3/0.2| = 1.5, both below 2: every channel is corrected.
        Assert.Equal(new[] { 0.2f, -0.1f }, rule.Apply(new[] { 0.1f, 0.2f }, new[] { 0.1f, -0.3f }, Array.Empty<float>(), out var note));
        Assert.Null(note);
        // |0.5/0.2| = 2.5: nothing is applied, however small the other channel's shift.
        Assert.Null(rule.Apply(new[] { 0.1f, 0.2f }, new[] { 0.01f, 0.5f }, Array.Empty<float>(), out note));
        Assert.Equal("shift too large: max |shift/bias| = 2.5 is not below the threshold 2", note);
    }

    [Fact]
    public void Pots_rule_skips_a_layer_with_a_zero_bias_element_ours_does_not()
    {
        var bias = new[] { 0f, 1f };
        Assert.NotNull(new BiasCorrectionRule(2.0).Precheck(bias));
        Assert.Null(new BiasCorrectionRule(null).Precheck(bias));
        // Ours corrects the zero-bias channel when its shift is within one deviation of its output.
        Assert.Equal(new[] { 0.05f, 1f }, new BiasCorrectionRule(null).Apply(bias, new[] { 0.05f, 0f }, new[] { 0.1f, 1f }, out var note));
        Assert.Null(note);
    }

    [Fact]
    public void Our_rule_corrects_each_channel_whose_shift_is_within_one_deviation_of_its_fp32_output()
    {
        var rule = new BiasCorrectionRule(null);
        var bias = new[] { 1e-6f, 1e-6f, 0.5f, 2f };
        var shift = new[] { 0.05f, 0.3f, -0.1f, 0.2f };
        // Deviations: 0.1 (0.05 within), 0.2 (0.3 beyond), 0 (a constant channel: always), 0.2 (exactly one deviation: within).
        var corrected = rule.Apply(bias, shift, new[] { 0.1f, 0.2f, 0f, 0.2f }, out var note);
        Assert.Equal(new[] { 1e-6f + 0.05f, 1e-6f, 0.4f, 2.2f }, corrected);
        Assert.Equal("1 of 4 channels not corrected: their shift exceeds 1 standard deviation(s) of the FP32 output channel", note);
        // POT's rule on the same layer: |0.3 / 1e-6| is huge, so nothing at all.
        Assert.Null(new BiasCorrectionRule(2.0).Apply(bias, shift, Array.Empty<float>(), out _));
    }

    [Fact]
    public void Our_rule_never_applies_a_non_finite_shift_and_applies_nothing_when_every_channel_is_beyond()
    {
        Assert.False(BiasCorrectionRule.WithinSpread(float.NaN, 1f));
        Assert.False(BiasCorrectionRule.WithinSpread(0.1f, float.PositiveInfinity));
        Assert.Null(new BiasCorrectionRule(null).Apply(new[] { 1f }, new[] { 5f }, new[] { 1f }, out var note));
        Assert.StartsWith("1 of 1 channels not corrected", note);
    }
}
