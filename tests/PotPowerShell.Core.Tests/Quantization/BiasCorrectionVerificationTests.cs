using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>Without a threshold, POT's corrections are kept only when the self-check is better with them; a threshold gives POT's rule as is.</summary>
public class BiasCorrectionVerificationTests
{
    private static QuantizationOptionsResult Run(TempFolder tmp, double? threshold, string name)
    {
        using var data = NpyDataset.Open(DigitsSampleTests.Sample("calibration"));
        var options = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, Precision = PrecisionMode.AllInt8, StatSubsetSize = 32, Threads = 1, BiasCorrectionThreshold = threshold,
            // POT's ranges, with which POT's rule corrects layers of the sample (there is something to verify).
            ActivationRange = new RangeEstimatorOptions { Kind = RangeEstimatorKind.MeanMinMax } };
        var result = DefaultQuantization.Run(DigitsSampleTests.Sample("digits.onnx"), data, options, tmp.File(name));
        return new QuantizationOptionsResult(result.BiasCorrectionRule, result.BiasCorrectedLayerCount, result.Check!.SqnrDb,
            result.Layers.Count(l => l.BiasNote == BiasCorrectionVerification.DroppedNote), OnnxModelFile.Load(tmp.File(name)));
    }

    private sealed record QuantizationOptionsResult(string Rule, int Corrected, double CheckDb, int Dropped, global::Onnx.ModelProto Model);

    [Fact]
    public void The_default_verifies_pots_corrections_and_keeps_the_model_the_check_prefers()
    {
        using var tmp = new TempFolder();
        var verified = Run(tmp, null, "verified.onnx");
        var pot = Run(tmp, 2.0, "pot.onnx");
        Assert.Equal("max |shift/bias| < 2 (POT)", pot.Rule);
        Assert.Matches(@"^max \|shift/bias\| < 2 \(POT\), verified: (kept|dropped), self-check [\d.]+ dB with the corrections, [\d.]+ dB without$", verified.Rule);
        bool kept = verified.Rule.Contains("verified: kept", StringComparison.Ordinal);
        // POT's rule corrects something on the sample, so there was something to verify.
        Assert.True(pot.Corrected > 0);
        // The corrections POT's rule makes are what the default keeps, or none of them.
        Assert.Equal(kept ? pot.Corrected : 0, verified.Corrected);
        Assert.Equal(kept ? 0 : pot.Corrected, verified.Dropped);
        // The check of the kept model is the better of the two, and POT's model is the corrected candidate.
        Assert.True(verified.CheckDb >= pot.CheckDb);
        if (kept) Assert.Equal(pot.Model.ToString(), verified.Model.ToString());
    }
}
