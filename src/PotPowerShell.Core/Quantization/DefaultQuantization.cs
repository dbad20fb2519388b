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
        IProgress<PotProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        // Disposed at the end: it holds open files, and the temporary files of large .npz members.
        using var calibration = NpyDataset.Open(calibrationDataPath, cancellationToken);
        return Run(modelPath, calibration, options, outputPath, progress, cancellationToken);
    }

    /// <summary>
    /// Quantizes with calibration items from <paramref name="calibration"/>. With <paramref name="dumpIntermediateModels"/>
    /// (POT's compression.dump_intermediate_model) the models between stages are written too, see <see cref="IntermediatePaths"/>.
    /// </summary>
    public static QuantizationResult Run(string modelPath, IDataset calibration, DefaultQuantizationOptions options, string outputPath,
        IProgress<PotProgress>? progress = null, CancellationToken cancellationToken = default, bool dumpIntermediateModels = false, bool overwrite = true)
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

        progress?.Report(new PotProgress("Default quantization", "Timing the output against the FP32 model", 90));
        var latency = LatencyProof.Run(builder, bytes, calibration, cancellationToken);

        watch.Restart();
        var intermediate = dumpIntermediateModels ? DumpIntermediate(builder, outputPath, overwrite, cancellationToken) : Array.Empty<string>();
        OnnxModelFile.Save(quantized, outputPath, cancellationToken, overwrite);
        var saveTime = watch.Elapsed;
        progress?.Report(new PotProgress("Default quantization", "Done", 100));
        var result = QuantizationReport.Create(builder, quantized, fusion, Path.GetFullPath(outputPath), new FileInfo(outputPath).Length,
            emitTime, saveTime, total.Elapsed) with { IntermediateModels = intermediate };
        return LatencyProof.Apply(result, latency);
    }

    /// <summary>
    /// The intermediate models written next to <paramref name="outputPath"/> (&lt;stem&gt; is its file name without .onnx):
    /// &lt;stem&gt;.prepared.onnx, the FP32 model after preparation (opset upgrade, Constant weights as initializers,
    /// BatchNorm folded), which is what was calibrated; and &lt;stem&gt;.minmax.onnx, the quantized model before bias
    /// correction (POT's MinMaxQuantization stage), equal to the output when bias correction is off.
    /// </summary>
    public static IReadOnlyList<string> IntermediatePaths(string outputPath)
    {
        string full = Path.GetFullPath(outputPath);
        string folder = Path.GetDirectoryName(full)!;
        string stem = full.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? Path.GetFileNameWithoutExtension(full) : Path.GetFileName(full);
        return new[] { Path.Combine(folder, stem + ".prepared.onnx"), Path.Combine(folder, stem + ".minmax.onnx") };
    }

    private static IReadOnlyList<string> DumpIntermediate(QuantizedModelBuilder builder, string outputPath, bool overwrite, CancellationToken cancellationToken)
    {
        var paths = IntermediatePaths(outputPath);
        OnnxModelFile.Save(builder.FloatModel, paths[0], cancellationToken, overwrite);
        var minMax = QdqEmitter.Emit(builder.FloatModel, builder.Plan with { CorrectedBiases = new Dictionary<string, float[]>() });
        OnnxModelFile.Save(minMax, paths[1], cancellationToken, overwrite);
        return paths;
    }
}
