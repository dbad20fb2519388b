using System.Diagnostics;
using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Models;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// POT's DefaultQuantization for ONNX models: load -> prepare (opset upgrade checked with ORT, Constant weights,
/// BatchNorm folding) -> ignored scope -> preset to plan -> calibrate -> bias correction -> emit QDQ -> check what
/// ONNX Runtime fuses -> save atomically. Same inputs and seed give the same bytes and the same report (apart from
/// the stage times).
/// </summary>
public static class DefaultQuantization
{
    /// <summary>Quantizes with calibration data from a folder of .npy files or an .npz archive.</summary>
    public static QuantizationResult Run(string modelPath, string calibrationDataPath, DefaultQuantizationOptions options, string outputPath,
        IProgress<PotProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Run(modelPath, NpyDataset.Open(calibrationDataPath), options, outputPath, progress, cancellationToken);

    public static QuantizationResult Run(string modelPath, IDataset calibration, DefaultQuantizationOptions options, string outputPath,
        IProgress<PotProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var total = Stopwatch.StartNew();
        var builder = QuantizedModelBuilder.Create(modelPath, calibration, options, progress, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();

        progress?.Report(new PotProgress("Default quantization", "Writing the quantized model", 80));
        var watch = Stopwatch.StartNew();
        var quantized = builder.Build(new HashSet<string>());
        var bytes = quantized.ToByteArray();
        // Checked before saving: a model ONNX Runtime cannot load is an error, and nothing is written.
        var fusion = FusionReport.Analyze(bytes);
        var emitTime = watch.Elapsed;
        cancellationToken.ThrowIfCancellationRequested();

        watch.Restart();
        OnnxModelFile.Save(quantized, outputPath, cancellationToken);
        var saveTime = watch.Elapsed;
        progress?.Report(new PotProgress("Default quantization", "Done", 100));
        return QuantizationReport.Create(builder, quantized, fusion, Path.GetFullPath(outputPath), new FileInfo(outputPath).Length,
            emitTime, saveTime, total.Elapsed);
    }
}
