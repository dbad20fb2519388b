using PotPowerShell.Core.Calibration;
using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization;

/// <summary>A quantized model in the making: the builder, what it emitted, and its self-check once run.</summary>
internal sealed record Candidate(QuantizedModelBuilder Builder, Emission Emission, byte[] Bytes, QuantizationCheck? Check);

/// <summary>The candidate chosen, the choice's warnings, why its activation ranges (null: not auto), and the first emission's time.</summary>
internal sealed record ChosenCandidate(Candidate Candidate, IReadOnlyList<string> Warnings, string? EstimatorReason, TimeSpan EmitTime, TimeSpan CheckTime);

/// <summary>
/// What DefaultQuantization makes of a calibrated builder, each step judged by the self-check against FP32 on
/// calibration items (<see cref="OutputAgreementCheck"/>, every candidate against the same FP32 outputs): SmoothQuant on
/// transformer models (<see cref="SmoothQuantChoice"/>), auto activation ranges against POT's mean min/max, min/max
/// ranges where the chosen ones fail the check and min/max pass it, and bias corrections kept only where the check
/// prefers them (<see cref="BiasCorrectionVerification"/>). Invoke-DefaultQuantization writes the chosen candidate;
/// AccuracyAwareQuantization and the layer ranking take its SmoothQuant decision only (<see cref="Smoothing"/>).
/// </summary>
internal static class CandidateChoice
{
    /// <summary>What the calibration pass must also measure for the choice: with auto ranges, min/max and POT's mean min/max.</summary>
    public static IReadOnlyList<DefaultQuantizationOptions> Variants(DefaultQuantizationOptions options) =>
        options.ActivationRange.EffectiveKind == RangeEstimatorKind.Auto ? new[] { MinMax(options), MeanMinMax(options) } : Array.Empty<DefaultQuantizationOptions>();

    private static DefaultQuantizationOptions MinMax(DefaultQuantizationOptions options) =>
        options with { ActivationRange = options.ActivationRange with { Kind = RangeEstimatorKind.MinMax } };

    private static DefaultQuantizationOptions MeanMinMax(DefaultQuantizationOptions options) =>
        options with { ActivationRange = options.ActivationRange with { Kind = RangeEstimatorKind.MeanMinMax } };

    /// <param name="builder">Calibrated with <see cref="Variants"/> of its options.</param>
    public static ChosenCandidate Choose(QuantizedModelBuilder builder, IDataset calibration, string modelPath, IProgress<PotProgress>? progress,
        CancellationToken cancellationToken)
    {
        var options = builder.Setup.Options;
        progress?.Report(new PotProgress("Default quantization", "Writing the quantized model", 80));
        var watch = Stopwatch.StartNew();
        var candidate = Emit(builder);
        var emitTime = watch.Elapsed;
        cancellationToken.ThrowIfCancellationRequested();

        progress?.Report(new PotProgress("Default quantization", "Checking the quantized model against FP32", 85));
        var checker = new SelfCheck(builder, calibration, modelPath, cancellationToken);
        var check = checker.Check;
        candidate = check(builder, candidate);
        candidate = ChooseSmoothing(candidate, check, progress, cancellationToken);
        var warnings = new List<string>();
        string? estimatorReason = null;
        bool auto = options.ActivationRange.EffectiveKind == RangeEstimatorKind.Auto;
        if (auto)
        {
            var pot = check(candidate.Builder.Variant(MeanMinMax(options), progress, cancellationToken), null);
            bool keepAuto = candidate.Check!.SqnrDb >= pot.Check!.SqnrDb;
            estimatorReason = string.Create(CultureInfo.InvariantCulture,
                $"{(keepAuto ? "auto" : "POT's mean min/max")}: self-check {candidate.Check.SqnrDb:0.#} dB with auto ranges, {pot.Check.SqnrDb:0.#} dB with mean min/max");
            if (!keepAuto) candidate = pot;
        }
        if (auto && !candidate.Check!.Passed)
        {
            // auto never keeps ranges that fail the check where plain min/max ranges pass it.
            var fallback = check(candidate.Builder.Variant(MinMax(options), progress, cancellationToken), null);
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
            var plain = check(candidate.Builder.WithBiasCorrectionVerdict(false, ""), null);
            bool kept = BiasCorrectionVerification.KeepCorrections(candidate.Check!, plain.Check!);
            string verdict = BiasCorrectionVerification.Verdict(kept, candidate.Check!, plain.Check!);
            candidate = kept ? candidate with { Builder = candidate.Builder.WithBiasCorrectionVerdict(true, verdict) }
                : plain with { Builder = candidate.Builder.WithBiasCorrectionVerdict(false, verdict) };
        }
        candidate = checker.NameWorstLayers(candidate);
        return new ChosenCandidate(candidate, warnings, estimatorReason, emitTime, watch.Elapsed - emitTime);
    }

    /// <summary>
    /// SmoothQuant alone, decided as <see cref="Choose"/> decides it: the builder AccuracyAwareQuantization and the layer
    /// ranking start from. They leave the activation ranges and bias corrections as configured (POT's rule): judged by
    /// the user's metric rather than by the 8-item output check, the check's other choices started the search further
    /// from the target on two of the bench models (bench/Bench-AccuracyAware.ps1 NOTES: ResNet18's mean min/max ranges,
    /// the PaddleOCR classifier's dropped corrections), and tune_hyperparams tries ranges and corrections by the metric.
    /// Costs nothing on a model that is not a transformer.
    /// </summary>
    public static QuantizedModelBuilder Smoothing(QuantizedModelBuilder builder, IDataset calibration, string modelPath, IProgress<PotProgress>? progress,
        CancellationToken cancellationToken)
    {
        var plan = SmoothQuantChoice.Resolve(builder.Setup.Options, builder.Setup.ModelType);
        if (plan.Alpha == null) return builder.WithSmoothQuantVerdict(plan.Reason);
        var check = new SelfCheck(builder, calibration, modelPath, cancellationToken).Check;
        return ChooseSmoothing(check(builder, null), check, progress, cancellationToken).Builder;
    }

    /// <summary>
    /// The self-check of candidates against FP32 outputs computed once, on the items the first builder was calibrated
    /// with. A candidate ONNX Runtime cannot load is an error here (ModelNotLoadable), before anything is written.
    /// </summary>
    private sealed class SelfCheck
    {
        private readonly OutputAgreementCheck.Reference _reference;
        private readonly IDataset _data;
        private readonly int _threads;
        private readonly string _source;
        private readonly CancellationToken _cancellationToken;

        public SelfCheck(QuantizedModelBuilder builder, IDataset calibration, string modelPath, CancellationToken cancellationToken)
        {
            (_data, _threads, _source, _cancellationToken) = (calibration, builder.Setup.Options.Threads, $"the quantized model of '{modelPath}'", cancellationToken);
            _reference = OutputAgreementCheck.Reference.Of(builder.FloatModel, calibration, builder.Setup.Statistics.Items, _threads, modelPath, cancellationToken);
        }

        /// <summary>The candidate (emitted from the builder if <c>null</c>) with its check of the outputs.</summary>
        public Candidate Check(QuantizedModelBuilder builder, Candidate? emitted)
        {
            var c = emitted ?? Emit(builder);
            return c with { Check = OutputAgreementCheck.Run(_reference, c.Bytes, _data, _threads, _source, _cancellationToken) };
        }

        /// <summary>The kept candidate's check, with its worst layers when it failed (what the warning names).</summary>
        public Candidate NameWorstLayers(Candidate kept)
        {
            // The per-layer pass holds layer outputs of two models: it starts from a heap without the candidates' garbage.
            if (!kept.Check!.Passed) ManagedMemory.ReleaseGarbage();
            return kept with
            {
                Check = OutputAgreementCheck.WithWorstLayers(kept.Check!, _reference, kept.Builder.FloatModel, kept.Bytes, kept.Builder.Layers, _data, _threads, _source,
                    kept.Builder.Setup.Options.LayerOutputBudgetBytes, _cancellationToken),
            };
        }
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

    private static Candidate Emit(QuantizedModelBuilder builder)
    {
        var emission = builder.Emit(new HashSet<string>());
        return new Candidate(builder, emission, emission.Model.ToByteArray(), null);
    }
}
