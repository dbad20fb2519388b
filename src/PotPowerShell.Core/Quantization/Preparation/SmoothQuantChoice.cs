using System.Globalization;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization;

/// <summary>Whether SmoothQuant runs, with which alpha, and whether the self-check decides if it is kept.</summary>
/// <param name="Alpha">The alpha to smooth with, or null when SmoothQuant does not run.</param>
/// <param name="Verified">True when the smoothed model is kept only if the self-check finds it closer to FP32 (no alpha was configured).</param>
/// <param name="Reason">Why it does not run (when <paramref name="Alpha"/> is null), else where the alpha came from.</param>
public sealed record SmoothQuantPlan(double? Alpha, bool Verified, string Reason);

/// <summary>
/// When SmoothQuant (Onnx/SmoothQuant.cs) applies: as in NNCF, on transformer models only (model_type transformer,
/// given or detected, Preparation/TransformerModelType.cs), to the Linear layers (MatMul, Gemm with constant weights)
/// that run INT8. Without smooth_quant_alpha, <see cref="DefaultAlpha"/> is tried and kept only when the self-check
/// (Reporting/OutputAgreementCheck.cs) finds the smoothed INT8 model closer to FP32 than the plain one by <see cref="MinGainDb"/>, at the cost of a
/// second calibration pass and check on transformer models; a configured alpha from 0 to 1 is applied as is; a negative
/// one turns it off (NNCF's -1).
/// </summary>
public static class SmoothQuantChoice
{
    /// <summary>
    /// The alpha tried when none is configured, chosen on bench/Bench-Quality.ps1 (MiniLM-L6; see
    /// docs/en-US/about_PotPowerShell.md, "Deviations from POT").
    /// </summary>
    public const double DefaultAlpha = 0.8;

    /// <summary>The plan for <paramref name="options"/> on a model of <paramref name="modelType"/>.</summary>
    public static SmoothQuantPlan Resolve(DefaultQuantizationOptions options, ModelTypeChoice modelType)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(modelType);
        if (options.SmoothQuantAlpha is double off && off < 0) return new(null, false, "off: smooth_quant_alpha is negative");
        if (!modelType.Transformer) return new(null, false, "not applied: not a transformer model (" + modelType.Reason + ")");
        return options.SmoothQuantAlpha is double alpha
            ? new(alpha, false, string.Create(CultureInfo.InvariantCulture, $"smooth_quant_alpha {alpha:0.###}"))
            : new(DefaultAlpha, true, string.Create(CultureInfo.InvariantCulture, $"default alpha {DefaultAlpha:0.###}"));
    }

    /// <summary>
    /// The self-check gain SmoothQuant must bring to be kept. Smoothing changes the graph (Muls in front of layers whose
    /// input has other readers) and a check on 8 items moves by tenths of a dB: on the PP-OCRv4 recognizer it gained
    /// 0.1 dB while the held-out lines agreed less with FP32 (62 % against 66 %); on MiniLM and arctic-embed-xs it
    /// gained 5.7 and 3.6 dB.
    /// </summary>
    public const double MinGainDb = 0.5;

    /// <summary>Keeps the smoothed model when its self-check SQNR beats the plain model's by at least <see cref="MinGainDb"/>.</summary>
    public static bool Keep(QuantizationCheck smoothed, QuantizationCheck plain)
    {
        ArgumentNullException.ThrowIfNull(smoothed);
        ArgumentNullException.ThrowIfNull(plain);
        return smoothed.SqnrDb >= plain.SqnrDb + MinGainDb;
    }

    /// <summary>The result's SmoothQuant text for a smoothed model (kept or not) of <paramref name="groups"/> layer groups.</summary>
    public static string Verdict(SmoothQuantPlan plan, int groups, int layers, bool kept, QuantizationCheck? smoothed, QuantizationCheck? plain)
    {
        ArgumentNullException.ThrowIfNull(plan);
        string what = string.Create(CultureInfo.InvariantCulture, $"{plan.Reason}, {layers} Linear layers in {groups} groups");
        if (!plan.Verified || smoothed == null || plain == null) return "applied: " + what;
        return string.Create(CultureInfo.InvariantCulture,
            $"{(kept ? "applied" : "not applied")}: {what}, self-check {smoothed.SqnrDb:0.#} dB smoothed, {plain.SqnrDb:0.#} dB without");
    }

    /// <summary>The verdict when the model has no Linear layer SmoothQuant can smooth.</summary>
    public static string NothingToSmooth(SmoothQuantPlan plan) => $"not applied: {plan.Reason}, but no INT8 MatMul or Gemm with constant weights to smooth";
}
