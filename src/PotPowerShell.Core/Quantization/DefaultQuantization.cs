using System.Diagnostics;
using System.Globalization;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Runtime;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Reports;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// POT's DefaultQuantization for ONNX models: load -> prepare (opset upgrade checked with ORT, Constant weights,
/// BatchNorm folding) -> ignored scope -> preset to plan -> calibrate -> bias correction -> emit QDQ -> check what
/// ONNX Runtime fuses -> save atomically, with the result as &lt;name&gt;.report.json next to the model. Same inputs and
/// seed give the same bytes and the same report (apart from the stage times).
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
        var builder = QuantizedModelBuilder.Create(modelPath, calibration, options, CandidateChoice.Variants(options), progress, cancellationToken);
        var created = builder.Setup;
        cancellationToken.ThrowIfCancellationRequested();
        // Each stage leaves large garbage (models serialized, calibration tensors): given back between stages, it does not
        // add up to the peak of the next one.
        ManagedMemory.ReleaseGarbage();
        var chosen = CandidateChoice.Choose(builder, calibration, modelPath, progress, cancellationToken);
        var candidate = chosen.Candidate;
        var warnings = chosen.Warnings.ToList();
        (builder, var emission, var quantized, var bytes, var check) = (candidate.Builder, candidate.Emission, candidate.Emission.Model, candidate.Bytes, candidate.Check!);
        var fusion = FusionReport.Analyze(bytes);
        if (!check.Passed) warnings.Add(CheckWarning(check));
        cancellationToken.ThrowIfCancellationRequested();
        progress?.Report(new PotProgress("Default quantization", "Timing the output against the FP32 model", 90));
        ManagedMemory.ReleaseGarbage();
        var watch = Stopwatch.StartNew();
        var latency = LatencyProof.Run(builder, bytes, calibration, cancellationToken);
        var latencyTime = watch.Elapsed;

        watch.Restart();
        var intermediate = dumpIntermediateModels ? DumpIntermediate(builder, outputPath, overwrite, cancellationToken) : Array.Empty<string>();
        OnnxModelFile.Save(quantized, outputPath, cancellationToken, overwrite);
        var saveTime = watch.Elapsed;
        progress?.Report(new PotProgress("Default quantization", "Done", 100));
        var result = QuantizationReport.Create(builder, emission, fusion, Path.GetFullPath(outputPath), new FileInfo(outputPath).Length,
            chosen.EmitTime, saveTime, total.Elapsed) with
        {
            // The stages in the order they ran, each counted once: the kept candidate may have been built during the
            // checks (a smoothed model calibrated again, other ranges bias-corrected), which CheckTime holds.
            PrepareTime = created.PrepareTime, PrecisionTime = created.PrecisionTime, CalibrationTime = created.CalibrationTime,
            BiasCorrectionTime = created.BiasCorrectionTime, CheckTime = chosen.CheckTime, LatencyCheckTime = latencyTime,
            IntermediateModels = intermediate, ReportPath = ReportJson.PathFor(outputPath),
        };
        result = LatencyProof.Apply(result, latency);
        result = result with { Check = check, Warnings = result.Warnings.Concat(warnings).ToList(), ActivationEstimatorReason = chosen.EstimatorReason ?? "" };
        ReportJson.Write(QuantizationReport.ToJson(result), result.ReportPath!, overwrite);
        return result;
    }

    private static string CheckWarning(QuantizationCheck check)
    {
        var outputs = check.Outputs.Where(o => o.SqnrDb < check.ThresholdDb)
            .Select(o => string.Create(CultureInfo.InvariantCulture, $"'{o.Output}'{(o.Feeds != null ? $" (computes {o.Feeds})" : "")} {o.SqnrDb:0.#} dB, cosine {o.Cosine:0.####}")
                + (o.Top1Agreement is double t ? string.Create(CultureInfo.InvariantCulture, $", top-1 agreement {t:P0}") : ""));
        string layers = check.WorstLayers.Count == 0 ? ""
            : " The INT8 layers with the lowest output SQNR: " + string.Join(", ", check.WorstLayers.Select(l => string.Create(CultureInfo.InvariantCulture, $"'{l.Node}' ({l.SqnrDb:0.#} dB)"))) +
              "; keep them float with the ignored scope (-IgnoredScope) or try another preset or range estimator.";
        return string.Create(CultureInfo.InvariantCulture,
            $"The INT8 model disagrees with FP32 on {check.Items} calibration items: output SQNR below {check.ThresholdDb} dB ({string.Join("; ", outputs)}).{layers}");
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
