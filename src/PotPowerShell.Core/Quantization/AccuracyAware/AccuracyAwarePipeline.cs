using System.Diagnostics;
using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// The cmdlets' entry points: open the engine and the calibration data, run DefaultQuantization once (calibration
/// statistics live in its builder), then AccuracyAwareQuantization or the layer ranking, and release everything.
/// </summary>
public static class AccuracyAwarePipeline
{
    /// <summary>Runs AccuracyAwareQuantization and writes the best model and its report (also when the target is missed).</summary>
    public static AccuracyAwareResult Run(AccuracyAwareJob job, string outputPath, IProgress<PotProgress>? progress = null, IProgress<string>? log = null,
        CancellationToken cancellationToken = default)
    {
        OptionsValidation.Validate(job.Options); // before anything is opened or calibrated
        CheckCheckpointPath(job, outputPath);
        using var parts = Open(job, variants: true, progress, cancellationToken, "AccuracyAwareQuantization");
        var outcome = new AccuracyAwareQuantizer(job.Options)
        {
            BuilderFactory = parts.Factory(cancellationToken),
            Ranking = job.Ranking,
            Progress = progress,
            Log = log,
        }.Run(parts.Builder, parts.Evaluator, cancellationToken);
        var result = outcome.Result with
        {
            // Calibration (DefaultQuantization) is a stage of the run too.
            StageTimes = outcome.Result.StageTimes.Prepend(new StageTime("DefaultQuantization", parts.QuantizationTime)).ToList(),
            TotalTime = outcome.Result.TotalTime + parts.QuantizationTime,
            CalibrationPasses = parts.Builders.Count(b => !b.Setup.CalibrationReused),
            BiasCorrectionPasses = parts.Builders.Count(b => b.Setup.BiasCorrection?.DataInferences > 0),
            CalibrationInferences = parts.Builders.Sum(b => (b.Setup.CalibrationReused ? 0 : (long)b.Setup.Statistics.Inferences) + (b.Setup.BiasCorrection?.DataInferences ?? 0)),
        };
        cancellationToken.ThrowIfCancellationRequested();
        progress?.Report(new PotProgress(SearchContext.Activity, "Timing the output against the FP32 model", 99));
        result = RestoredPrecision.Apply(result, parts.Builder);
        ManagedMemory.ReleaseGarbage();
        result = AccuracyAwareLatency.Apply(result, parts.Builder, LatencyProof.Run(parts.Builder, outcome.Model.ToByteArray(), parts.Calibration, cancellationToken));
        progress?.Report(new PotProgress(SearchContext.Activity, "Writing the model", 100));
        var saved = new AccuracyAwareOutcome(result, outcome.Model) { FullyQuantized = outcome.FullyQuantized }.Save(outputPath, Path.GetFullPath(job.ModelPath), cancellationToken, job.DumpIntermediateModel, job.Overwrite);
        // The outputs are written: nothing is left to resume.
        if (job.Options.CheckpointPath is { } checkpoint) File.Delete(checkpoint);
        return saved;
    }

    /// <summary>The checkpoint is deleted at the end: it must not be a file the run reads or writes.</summary>
    private static void CheckCheckpointPath(AccuracyAwareJob job, string outputPath)
    {
        if (job.Options.CheckpointPath is not { } checkpoint) return;
        string full = Path.GetFullPath(checkpoint);
        var taken = new[] { job.ModelPath, outputPath, AccuracyAwareOutcome.ReportPathFor(outputPath), job.EnginePath, job.CalibrationDataPath }
            .Where(p => p != null).Select(p => Path.GetFullPath(p!));
        if (taken.Any(p => CanonicalPath.Same(p, full)))
            throw new PotException("CheckpointPathConflict", PotErrorCategory.InvalidArgument,
                $"-CheckpointPath '{full}' is a file this run reads or writes (the model, the engine, the calibration data, the output or its report). Give the checkpoint a file of its own, e.g. '{Path.ChangeExtension(full, ".checkpoint")}'.", full);
    }

    /// <summary>Ranks the layers of the fully quantized model without reverting any (Get-LayerRanking).</summary>
    /// <param name="layers">Rank these layers only (Get-LayerRanking -Layer, one shard of a ranking); null = all.</param>
    public static LayerRanking Rank(AccuracyAwareJob job, RankingMethod method, IProgress<PotProgress>? progress = null, CancellationToken cancellationToken = default,
        IReadOnlyCollection<string>? layers = null)
    {
        var quantizer = new AccuracyAwareQuantizer(job.Options) { Progress = progress };
        using var parts = Open(job, variants: false, progress, cancellationToken, "Layer ranking");
        // A ranking returns no result to carry the quantization's warnings (an AccuracyAware result does). Those of the
        // precision choice are about the speed of an output a ranking does not write; a ranking left without INT8
        // layers says so itself (below).
        foreach (var warning in parts.Builder.Setup.Warnings.Except(parts.Builder.Setup.Precision.Warnings)) job.Warnings?.Report(warning);
        var ranking = quantizer.RankLayers(parts.Builder, parts.Evaluator, method, cancellationToken, layers);
        foreach (var warning in ranking.Warnings) job.Warnings?.Report(warning);
        if (ranking.Layers.Count == 0)
            job.Warnings?.Report($"No INT8 layer to rank in '{job.ModelPath}': every layer is float in this quantization. With -Precision Fastest (the default) the layers ONNX Runtime runs faster in float on this CPU stay float; -Precision AllInt8 quantizes and ranks every layer.");
        return ranking;
    }

    /// <param name="variants">Also measure what the run's other settings (mixed preset, tuning) need, in the same calibration pass.</param>
    /// <param name="consumer">Names the operation in messages (AccuracyAwareQuantization, Layer ranking).</param>
    private static Parts Open(AccuracyAwareJob job, bool variants, IProgress<PotProgress>? progress, CancellationToken ct, string consumer)
    {
        // An engine path naming a folder of validation data is that data, as Compare-PotModel's -DataPath reads it (the
        // FP32 model is the reference): labels give accuracy@top1, no labels cosine similarity to FP32's outputs.
        var engine = job.EnginePath != null
            ? Directory.Exists(job.EnginePath) ? EngineDefinition.FromDataPath(job.EnginePath, againstReference: true) : EngineDefinition.Load(job.EnginePath, job.Options.AnnotationFree)
            : job.Config != null ? EngineOf(job.Config, job.Options.AnnotationFree)
            : throw new PotException("EngineMissing", PotErrorCategory.InvalidArgument,
                $"{consumer} needs an evaluation engine: give -EnginePath or a configuration with an engine section.", job.ModelPath);
        // POT's simplified engine resizes images to the model input (EngineFit).
        engine = EngineFit.ToModel(engine, job.ModelPath);
        if (job.Options.AnnotationFree) engine = engine.AnnotationFree(job.Options.AnnotationConfidenceThreshold);
        foreach (var warning in engine.Warnings) job.Warnings?.Report(warning);
        engine.EnsureEvaluable(consumer);
        var parts = new Parts();
        try
        {
            IDataset calibration = job.CalibrationDataPath != null ? CalibrationData.Open(job.CalibrationDataPath, job.ModelPath, ct) : engine.OpenDataset();
            parts.Calibration = calibration;
            if (job.CalibrationWrapper != null) calibration = job.CalibrationWrapper(calibration);
            var watch = Stopwatch.StartNew();
            // One calibration pass measures what every setting the run may try needs (mixed preset, tuning grid).
            var calibrated = QuantizedModelBuilder.Create(job.ModelPath, calibration, job.Options.Quantization,
                variants ? new BuilderCatalogue(job.Options).All : Array.Empty<DefaultQuantizationOptions>(), progress, ct);
            parts.Builders.Add(calibrated);
            // SmoothQuant on transformers as DefaultQuantization decides it (see CandidateChoice.Smoothing).
            var builder = CandidateChoice.Smoothing(calibrated, calibration, job.ModelPath, progress, ct);
            // A smoothed model was calibrated again.
            if (builder.Setup.Smoothed.Count > 0) parts.Builders.Add(builder);
            parts.Builder = builder.WithRestoreMode(job.Options.RestoreMode, progress, ct);
            parts.QuantizationTime = watch.Elapsed;
            // Calibration's garbage given back before the search's evaluations hold their sessions (Runtime/ManagedMemory.cs).
            ManagedMemory.ReleaseGarbage();
            // The prepared float model is the baseline, and the reference of metrics that compare with FP32 (a smoothed
            // model's float form computes the same within rounding, but the user's model is this one).
            parts.Evaluator = new Evaluator(engine, new EvaluatorOptions
            {
                ReferenceModel = parts.Builder.BaselineModel.ToByteArray(),
                ReferenceSource = job.ModelPath,
                ScriptMetrics = job.ScriptMetrics,
                Workers = job.Options.EvaluationWorkers,
                BatchSize = job.Options.EvaluationBatchSize,
            });
            return parts;
        }
        catch
        {
            parts.Dispose();
            throw;
        }
    }

    /// <summary>The engine a POT configuration describes (see <see cref="EngineResolver.FromConfig"/>, shared with the other cmdlets).</summary>
    public static EngineDefinition EngineOf(PotConfig config, bool annotationFree = false) => EngineResolver.FromConfig(config, annotationFree);

    private sealed class Parts : IDisposable
    {
        public IDataset Calibration = null!;
        public QuantizedModelBuilder Builder = null!;
        public Evaluator Evaluator = null!;
        public TimeSpan QuantizationTime;
        private readonly Dictionary<DefaultQuantizationOptions, QuantizedModelBuilder> _variants = new();

        /// <summary>Every builder of the run, the calibrated one first, then variants in the order they were made.</summary>
        public List<QuantizedModelBuilder> Builders { get; } = new();

        /// <summary>
        /// convert_to_mixed_preset and tune_hyperparams quantize again with other settings: each builder is made from the
        /// one calibration pass (see <see cref="BuilderCatalogue"/>), once per setting.
        /// </summary>
        public Func<DefaultQuantizationOptions, IQuantizedModelBuilder> Factory(CancellationToken ct) => options =>
        {
            if (_variants.TryGetValue(options, out var known)) return known;
            var builder = Builder.Variant(options, null, ct);
            _variants[options] = builder;
            if (!ReferenceEquals(builder, Builder)) Builders.Add(builder);
            return builder;
        };

        public void Dispose()
        {
            Evaluator?.Dispose();
            (Calibration as IDisposable)?.Dispose();
        }
    }
}
