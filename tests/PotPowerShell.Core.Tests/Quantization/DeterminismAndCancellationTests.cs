using System.Text.Json;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

public class DeterminismAndCancellationTests
{
    private static string Sample(params string[] parts) => DigitsSampleTests.Sample(parts);

    private static string Report(QuantizationResult r) => JsonSerializer.Serialize(r with
    {
        OutputPath = "", ReportPath = "", PrepareTime = default, PrecisionTime = default, CalibrationTime = default, BiasCorrectionTime = default,
        EmitTime = default, CheckTime = default, LatencyCheckTime = default, SaveTime = default, TotalTime = default,
    });

    [Fact]
    public void Two_runs_with_the_same_seed_give_identical_bytes_and_reports()
    {
        using var tmp = new TempFolder();
        var options = new DefaultQuantizationOptions
        {
            Measurement = TestMeasurement.Int8Faster,
            StatSubsetSize = 100, ShuffleData = true, Seed = 7, StatBatchSize = 16, Threads = 1,
            ActivationRange = new RangeEstimatorOptions { Kind = RangeEstimatorKind.Entropy },
        };
        var first = DefaultQuantization.Run(Sample("digits.onnx"), Sample("calibration"), options, tmp.File("a.onnx"));
        var second = DefaultQuantization.Run(Sample("digits.onnx"), Sample("calibration"), options, tmp.File("b.onnx"));
        Assert.Equal(File.ReadAllBytes(tmp.File("a.onnx")), File.ReadAllBytes(tmp.File("b.onnx")));
        Assert.Equal(Report(first), Report(second));
        Assert.Equal(100, first.StatSubsetSize);

        // A different seed samples other items: the ranges, and so the bytes, change.
        DefaultQuantization.Run(Sample("digits.onnx"), Sample("calibration"), options with { Seed = 8 }, tmp.File("c.onnx"));
        Assert.NotEqual(File.ReadAllBytes(tmp.File("a.onnx")), File.ReadAllBytes(tmp.File("c.onnx")));
    }

    [Theory]
    [InlineData("Calibration")]
    [InlineData("Writing the quantized model")]
    public void Cancellation_leaves_no_file(string stage)
    {
        using var tmp = new TempFolder();
        using var cts = new CancellationTokenSource();
        var progress = new PotPowerShell.Core.Tests.Calibration.ActivationCollectorTests.SyncProgress(p =>
        {
            if (p.Activity == stage || p.Status == stage) cts.Cancel();
        });
        Assert.ThrowsAny<OperationCanceledException>(() => DefaultQuantization.Run(Sample("digits.onnx"), Sample("calibration"),
            new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, StatBatchSize = 8, Threads = 1 }, Path.Combine(tmp.File("out"), "q.onnx"), progress, cts.Token));
        Assert.False(Directory.Exists(tmp.File("out")) && Directory.EnumerateFileSystemEntries(tmp.File("out")).Any());
    }
}
