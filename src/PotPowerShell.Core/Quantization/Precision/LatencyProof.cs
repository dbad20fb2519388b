using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// The proof in the result: the FP32 model and the output timed interleaved on calibration items at the batch size
/// the precision choice used (see <see cref="LatencyCheck"/>); a warning with the figures when the output is not faster.
/// </summary>
public static class LatencyProof
{
    /// <summary>Null when the options skip the check.</summary>
    public static LatencyCheckResult? Run(QuantizedModelBuilder builder, byte[] output, IDataset data, CancellationToken cancellationToken)
    {
        var setup = builder.Setup;
        var options = setup.Options;
        if (options.SkipLatencyCheck) return null;
        var measurement = options.Measurement ?? ThisMachine.Measurement();
        int batch = options.BatchSize;
        if (batch > 1)
        {
            // A model without a batch axis takes one item per inference, whatever was asked.
            var (_, canBatch) = ActivationShapes.Measure(builder.FloatModel, data, setup.Statistics.Items[0], Array.Empty<string>(), options.Threads, setup.ModelPath);
            if (!canBatch) batch = 1;
        }
        return LatencyCheck.Run(OnnxModelFile.ReadBytes(setup.ModelPath), output, data, setup.Statistics.Items, batch, measurement.Timer,
            measurement.CheckBudget, cancellationToken, new[] { setup.ModelPath, $"the quantized model of '{setup.ModelPath}'" });
    }

    /// <summary>The result with the check's figures, and its warning added.</summary>
    public static QuantizationResult Apply(QuantizationResult result, LatencyCheckResult? check) => check?.Figures is not { } f ? result : result with
    {
        Fp32LatencyMs = f.Fp32Ms,
        LatencyMs = f.Ms,
        Fp32LatencyP90Ms = f.Fp32P90Ms,
        LatencyP90Ms = f.P90Ms,
        Speedup = f.Speedup,
        LatencyRuns = f.Runs,
        BatchSize = f.BatchSize,
        Warnings = check.WarningFor(result.QuantizedLayerCount, result.Precision == PrecisionMode.Fastest) is { } warning ? result.Warnings.Append(warning).ToList() : result.Warnings,
    };
}
