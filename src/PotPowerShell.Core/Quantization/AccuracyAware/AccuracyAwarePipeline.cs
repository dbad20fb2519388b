using System.Diagnostics;
using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;

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
        using var parts = Open(job, progress, cancellationToken, "AccuracyAwareQuantization");
        var outcome = new AccuracyAwareQuantizer(job.Options)
        {
            BuilderFactory = parts.Factory(cancellationToken),
            Progress = progress,
            Log = log,
        }.Run(parts.Builder, parts.Evaluator, cancellationToken);
        var result = outcome.Result with
        {
            // Calibration (DefaultQuantization) is a stage of the run too.
            StageTimes = outcome.Result.StageTimes.Prepend(new StageTime("DefaultQuantization", parts.QuantizationTime)).ToList(),
            TotalTime = outcome.Result.TotalTime + parts.QuantizationTime,
        };
        cancellationToken.ThrowIfCancellationRequested();
        progress?.Report(new PotProgress(SearchContext.Activity, "Writing the model", 100));
        return new AccuracyAwareOutcome(result, outcome.Model).Save(outputPath, Path.GetFullPath(job.ModelPath), cancellationToken);
    }

    /// <summary>Ranks the layers of the fully quantized model without reverting any (Get-LayerRanking).</summary>
    public static LayerRanking Rank(AccuracyAwareJob job, RankingMethod method, IProgress<PotProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var quantizer = new AccuracyAwareQuantizer(job.Options) { Progress = progress };
        using var parts = Open(job, progress, cancellationToken, "Layer ranking");
        return quantizer.RankLayers(parts.Builder, parts.Evaluator, method, cancellationToken);
    }

    /// <param name="consumer">Names the operation in messages (AccuracyAwareQuantization, Layer ranking).</param>
    private static Parts Open(AccuracyAwareJob job, IProgress<PotProgress>? progress, CancellationToken ct, string consumer)
    {
        var engine = job.EnginePath != null ? EngineDefinition.Load(job.EnginePath)
            : job.Config != null ? EngineOf(job.Config)
            : throw new PotException("EngineMissing", PotErrorCategory.InvalidArgument,
                $"{consumer} needs an evaluation engine: give -EnginePath or a configuration with an engine section.", job.ModelPath);
        engine.EnsureEvaluable(consumer);
        var parts = new Parts();
        try
        {
            parts.Calibration = job.CalibrationDataPath != null ? NpyDataset.Open(job.CalibrationDataPath) : engine.OpenDataset();
            parts.ModelPath = job.ModelPath;
            var watch = Stopwatch.StartNew();
            parts.Builder = QuantizedModelBuilder.Create(job.ModelPath, parts.Calibration, job.Options.Quantization, progress, ct);
            parts.QuantizationTime = watch.Elapsed;
            // The prepared float model is the baseline, and the reference of metrics that compare with FP32.
            parts.Evaluator = new Evaluator(engine, new EvaluatorOptions { ReferenceModel = parts.Builder.FloatModel.ToByteArray(), ReferenceSource = job.ModelPath });
            return parts;
        }
        catch
        {
            parts.Dispose();
            throw;
        }
    }

    /// <summary>The engine a POT configuration describes (see <see cref="EngineResolver.FromConfig"/>, shared with the other cmdlets).</summary>
    public static EngineDefinition EngineOf(PotConfig config) => EngineResolver.FromConfig(config);

    private sealed class Parts : IDisposable
    {
        public IDataset Calibration = null!;
        public QuantizedModelBuilder Builder = null!;
        public Evaluator Evaluator = null!;
        public string ModelPath = "";
        public TimeSpan QuantizationTime;

        /// <summary>
        /// convert_to_mixed_preset and tune_hyperparams quantize again with other settings. The builder calibrates
        /// again for each (QuantizedModelBuilder has no statistics reuse across estimators yet); every candidate is
        /// then built from its builder without further calibration.
        /// </summary>
        public Func<DefaultQuantizationOptions, IQuantizedModelBuilder> Factory(CancellationToken ct) =>
            options => QuantizedModelBuilder.Create(ModelPath, Calibration, options, null, ct);

        public void Dispose()
        {
            Evaluator?.Dispose();
            (Calibration as IDisposable)?.Dispose();
        }
    }
}
