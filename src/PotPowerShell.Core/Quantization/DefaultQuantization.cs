using PotPowerShell.Core.Calibration;
using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Reports;
using PotPowerShell.Core.Runtime;

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
        // auto (the default) is judged by the self-check against POT's mean min/max ranges, and falls back to min/max
        // ranges when it fails the check where they pass: the same calibration pass measures both.
        var minMax = options with { ActivationRange = options.ActivationRange with { Kind = RangeEstimatorKind.MinMax } };
        var meanMinMax = options with { ActivationRange = options.ActivationRange with { Kind = RangeEstimatorKind.MeanMinMax } };
        bool auto = options.ActivationRange.EffectiveKind == RangeEstimatorKind.Auto;
        var builder = QuantizedModelBuilder.Create(modelPath, calibration, options, auto ? new[] { minMax, meanMinMax } : Array.Empty<DefaultQuantizationOptions>(),
            progress, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();

        progress?.Report(new PotProgress("Default quantization", "Writing the quantized model", 80));
        var watch = Stopwatch.StartNew();
        var candidate = Emit(builder);
        var emitTime = watch.Elapsed;
        cancellationToken.ThrowIfCancellationRequested();

        progress?.Report(new PotProgress("Default quantization", "Checking the quantized model against FP32", 85));
        var reference = OutputAgreementCheck.Reference.Of(builder.FloatModel, calibration, builder.Setup.Statistics.Items, options.Threads, modelPath, cancellationToken);
        Candidate Checked(QuantizedModelBuilder b, Candidate? emitted = null)
        {
            var c = emitted ?? Emit(b);
            // A candidate ONNX Runtime cannot load is an error here (ModelNotLoadable), before anything is written.
            return c with { Check = OutputAgreementCheck.Run(reference, b.FloatModel, c.Bytes, b.Layers, calibration, options.Threads, $"the quantized model of '{modelPath}'", cancellationToken) };
        }
        candidate = Checked(builder, candidate);
        candidate = ChooseSmoothing(candidate, Checked, progress, cancellationToken);
        var warnings = new List<string>();
        string? estimatorReason = null;
        if (auto)
        {
            var pot = Checked(candidate.Builder.Variant(meanMinMax, progress, cancellationToken));
            bool keepAuto = candidate.Check!.SqnrDb >= pot.Check!.SqnrDb;
            estimatorReason = string.Create(CultureInfo.InvariantCulture,
                $"{(keepAuto ? "auto" : "POT's mean min/max")}: self-check {candidate.Check.SqnrDb:0.#} dB with auto ranges, {pot.Check.SqnrDb:0.#} dB with mean min/max");
            if (!keepAuto) candidate = pot;
        }
        if (auto && !candidate.Check!.Passed)
        {
            // auto never keeps ranges that fail the check where plain min/max ranges pass it.
            var fallback = Checked(candidate.Builder.Variant(minMax, progress, cancellationToken));
            if (fallback.Check!.Passed)
            {
                warnings.Add(string.Create(CultureInfo.InvariantCulture, $"The chosen activation ranges gave an output SQNR of {candidate.Check.SqnrDb:0.#} dB against FP32, below the check's {candidate.Check.ThresholdDb} dB; " +
                             $"min/max ranges give {fallback.Check.SqnrDb:0.#} dB and were used instead."));
                estimatorReason += "; min/max used instead: the only ranges that pass the check";
                candidate = fallback;
            }
        }
        if (BiasCorrectionVerification.Applies(candidate.Builder))
        {
            progress?.Report(new PotProgress("Default quantization", "Verifying the bias corrections against FP32", 87));
            var plain = Checked(candidate.Builder.WithBiasCorrectionVerdict(false, ""));
            bool kept = BiasCorrectionVerification.KeepCorrections(candidate.Check!, plain.Check!);
            string verdict = BiasCorrectionVerification.Verdict(kept, candidate.Check!, plain.Check!);
            candidate = kept ? candidate with { Builder = candidate.Builder.WithBiasCorrectionVerdict(true, verdict) }
                : plain with { Builder = candidate.Builder.WithBiasCorrectionVerdict(false, verdict) };
        }
        (builder, var emission, var quantized, var bytes, var check) = (candidate.Builder, candidate.Emission, candidate.Emission.Model, candidate.Bytes, candidate.Check!);
        var fusion = FusionReport.Analyze(bytes);
        if (!check.Passed) warnings.Add(CheckWarning(check));
        cancellationToken.ThrowIfCancellationRequested();
        progress?.Report(new PotProgress("Default quantization", "Timing the output against the FP32 model", 90));
        var latency = LatencyProof.Run(builder, bytes, calibration, cancellationToken);

        watch.Restart();
        var intermediate = dumpIntermediateModels ? DumpIntermediate(builder, outputPath, overwrite, cancellationToken) : Array.Empty<string>();
        OnnxModelFile.Save(quantized, outputPath, cancellationToken, overwrite);
        var saveTime = watch.Elapsed;
        progress?.Report(new PotProgress("Default quantization", "Done", 100));
        var result = QuantizationReport.Create(builder, emission, fusion, Path.GetFullPath(outputPath), new FileInfo(outputPath).Length,
            emitTime, saveTime, total.Elapsed) with { IntermediateModels = intermediate, ReportPath = ReportJson.PathFor(outputPath) };
        result = LatencyProof.Apply(result, latency);
        result = result with { Check = check, Warnings = result.Warnings.Concat(warnings).ToList(), ActivationEstimatorReason = estimatorReason ?? "" };
        ReportJson.Write(QuantizationReport.ToJson(result), result.ReportPath!, overwrite);
        return result;
    }

    /// <summary>
    /// SmoothQuant on transformer models (SmoothQuantChoice): the smoothed model, calibrated again, replaces
    /// <paramref name="plain"/> when an alpha is configured or when its self-check is better by SmoothQuantChoice.MinGainDb; the kept builder says why.
    /// </summary>
    private static Candidate ChooseSmoothing(Candidate plain, Func<QuantizedModelBuilder, Candidate?, Candidate> check,
        IProgress<PotProgress>? progress, CancellationToken cancellationToken)
    {
        var plan = SmoothQuantChoice.Resolve(plain.Builder.Setup.Options, plain.Builder.Setup.ModelType);
        if (plan.Alpha is not double alpha) return plain with { Builder = plain.Builder.WithSmoothQuantVerdict(plan.Reason) };
        progress?.Report(new PotProgress("Default quantization", "Smoothing the Linear layers' activation outliers (SmoothQuant)", 82));
        var smoothedBuilder = plain.Builder.Smoothed(alpha, progress, cancellationToken);
        if (smoothedBuilder == null) return plain with { Builder = plain.Builder.WithSmoothQuantVerdict(SmoothQuantChoice.NothingToSmooth(plan)) };
        var smoothed = check(smoothedBuilder, null);
        bool keep = !plan.Verified || SmoothQuantChoice.Keep(smoothed.Check!, plain.Check!);
        var groups = smoothedBuilder.Setup.Smoothed;
        string verdict = SmoothQuantChoice.Verdict(plan, groups.Count, groups.Sum(g => g.Layers.Count), keep, smoothed.Check, plain.Check);
        var kept = keep ? smoothed : plain;
        return kept with { Builder = kept.Builder.WithSmoothQuantVerdict(verdict) };
    }

    /// <summary>A quantized model in the making: the builder, what it emitted, and its self-check once run.</summary>
    private sealed record Candidate(QuantizedModelBuilder Builder, Emission Emission, byte[] Bytes, QuantizationCheck? Check);

    private static Candidate Emit(QuantizedModelBuilder builder)
    {
        var emission = builder.Emit(new HashSet<string>());
        return new Candidate(builder, emission, emission.Model.ToByteArray(), null);
    }

    private static string CheckWarning(QuantizationCheck check)
    {
        var outputs = check.Outputs.Where(o => o.SqnrDb < check.ThresholdDb)
            .Select(o => string.Create(CultureInfo.InvariantCulture, $"'{o.Output}' {o.SqnrDb:0.#} dB, cosine {o.Cosine:0.####}")
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
