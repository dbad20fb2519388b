using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>The activation range estimator auto through DefaultQuantization on the shipped sample.</summary>
public class AutoRangeEstimatorTests
{
    [Fact]
    public void Auto_says_per_layer_what_it_chose_keeps_every_kernel_fused_and_is_deterministic()
    {
        using var tmp = new TempFolder();
        var options = new DefaultQuantizationOptions
        {
            Threads = 1, Precision = PrecisionMode.AllInt8, ActivationRange = new RangeEstimatorOptions { Kind = RangeEstimatorKind.Auto },
        };
        var first = DefaultQuantization.Run(DigitsSampleTests.Sample("digits.onnx"), DigitsSampleTests.Sample("calibration"), options, tmp.File("a.onnx"));
        var second = DefaultQuantization.Run(DigitsSampleTests.Sample("digits.onnx"), DigitsSampleTests.Sample("calibration"), options, tmp.File("b.onnx"));

        Assert.Equal("Auto", first.ActivationEstimator);
        var int8 = first.Layers.Where(l => l.Precision == "INT8").ToList();
        Assert.NotEmpty(int8);
        Assert.All(int8, l =>
        {
            Assert.Equal("Auto", l.Estimator);
            Assert.Matches(@"^(min/max|mean min/max|quantile 1e-4|MSE-optimal clip) \[", l.RangeChoice);
        });
        Assert.All(first.Layers.Where(l => l.Precision != "INT8"), l => Assert.Null(l.RangeChoice));
        Assert.Equal(first.QuantizedLayerCount, first.FusedLayerCount);
        Assert.Equal(File.ReadAllBytes(tmp.File("a.onnx")), File.ReadAllBytes(tmp.File("b.onnx")));
        Assert.Equal(int8.Select(l => l.RangeChoice), second.Layers.Where(l => l.Precision == "INT8").Select(l => l.RangeChoice));
        // The sample keeps its accuracy (at most one point of the 400 validation items lost).
        Assert.True(DigitsSampleTests.Top1(tmp.File("a.onnx")) >= DigitsSampleTests.Top1(DigitsSampleTests.Sample("digits.onnx")) - 0.01);
    }
}
