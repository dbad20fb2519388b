using System.Diagnostics;
using Onnx;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// A calibrated model that builds quantized candidates: DefaultQuantization's result before emission, reused by
/// AccuracyAwareQuantization and Get-LayerRanking to revert layers without calibrating again. It holds the prepared
/// float model, the calibrated ranges and the corrected biases; <see cref="Build"/> is a pure function of the set of
/// reverted layers.
/// </summary>
public sealed class QuantizedModelBuilder : IQuantizedModelBuilder
{
    private QuantizedModelBuilder(ModelProto floatModel, QuantizationPlan plan, IReadOnlyList<QuantizableLayer> layers)
    {
        FloatModel = floatModel;
        Plan = plan;
        Layers = layers;
    }

    /// <summary>The prepared float model (opset upgraded, Constant weights moved to initializers, BatchNorm folded).</summary>
    public ModelProto FloatModel { get; }

    /// <summary>Weighted layers that are INT8 when nothing is reverted, in graph order.</summary>
    public IReadOnlyList<QuantizableLayer> Layers { get; }

    /// <summary>The plan of the fully quantized model: types, ranges, ignored layers and corrected biases.</summary>
    public QuantizationPlan Plan { get; }

    /// <summary>Everything about how the builder was made, for reports.</summary>
    public required QuantizationSetup Setup { get; init; }

    /// <summary>
    /// Loads, prepares and calibrates <paramref name="modelPath"/> with <paramref name="calibration"/> and applies
    /// bias correction, as DefaultQuantization does before emitting. Calibration happens once, here.
    /// </summary>
    public static QuantizedModelBuilder Create(string modelPath, IDataset calibration, DefaultQuantizationOptions options,
        IProgress<PotProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        var stage = new StageReporter(progress);
        var watch = Stopwatch.StartNew();

        stage.Report("Preparing the model", 0);
        var original = OnnxModelFile.Load(modelPath);
        cancellationToken.ThrowIfCancellationRequested();
        long sourceOpset = ModelInspector.DefaultOpset(original);
        var prepared = ModelPreparation.Prepare(original);
        var items = CalibrationSubset.Select(calibration.Count, options.StatSubsetSize, options.ShuffleData, options.Seed);
        if (items.Length == 0)
            throw new PotException("CalibrationDataEmpty", PotErrorCategory.InvalidData,
                $"The calibration data '{calibration.Source}' holds no items.", calibration.Source);
        CalibrationDataCheck.Check(prepared, calibration, items[0], modelPath);
        var warnings = new List<string>();
        if (ModelInspector.DefaultOpset(prepared) != sourceOpset)
            PreparationCheck.VerifySameOutputs(original, prepared, calibration, items.Take(3).ToArray(), modelPath, options.Threads, cancellationToken);

        var (ignored, stems, floatLayers) = FloatLayers(original, prepared, options, warnings);
        var layers = QdqEmitter.Layers(prepared, floatLayers);
        var settings = PresetResolution.Resolve(options, HardwareProfile.Current);
        var prepareTime = watch.Elapsed;
        cancellationToken.ThrowIfCancellationRequested();

        // Calibration: ranges of every tensor the emitter quantizes, plus FP32 channel means for bias correction.
        stage.Report("Calibrating", 10);
        watch.Restart();
        var estimator = options.ActivationRange.Kind ?? RangeEstimatorKind.MeanMinMax;
        bool correctBias = options.BiasCorrection;
        var request = CalibrationRequestFor(prepared, floatLayers, layers, options);
        var statistics = ActivationCollector.Collect(prepared, calibration, items, request, progress, cancellationToken, modelPath);
        var calibrationTime = watch.Elapsed;

        var plan = new QuantizationPlan
        {
            Types = settings.Types,
            SymmetricActivations = settings.SymmetricActivations,
            SymmetricWeights = settings.SymmetricWeights,
            PerChannelWeights = options.PerChannelWeights,
            Ranges = statistics.Ranges,
            FloatLayers = floatLayers,
        };

        // Bias correction compares the FP32 layers with the quantized ones, so it needs one emission first.
        watch.Restart();
        BiasCorrectionOutcome? outcome = null;
        if (correctBias && layers.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            stage.Report(options.UseFastBiasCorrection ? "Fast bias correction" : "Bias correction", 60);
            var quantized = QdqEmitter.Emit(prepared, plan);
            outcome = options.UseFastBiasCorrection
                ? BiasCorrection.Fast(prepared, quantized, layers, statistics, options.BiasCorrectionThreshold, options.Threads, cancellationToken)
                : BiasCorrection.Full(prepared, quantized, layers, calibration, statistics, options.BiasCorrectionThreshold,
                    statistics.BatchSize, options.Threads, progress, cancellationToken); // the batch size calibration could use
            plan = plan with { CorrectedBiases = outcome.Corrected };
        }
        var biasTime = watch.Elapsed;

        return new QuantizedModelBuilder(prepared, plan, layers)
        {
            Setup = new QuantizationSetup
            {
                ModelPath = modelPath,
                CalibrationSource = calibration.Source,
                Options = options,
                Settings = settings,
                SourceOpset = sourceOpset,
                IgnoredNodes = ignored.OrderBy(n => n, StringComparer.Ordinal).ToList(),
                StemNodes = stems,
                Estimator = estimator,
                Statistics = statistics,
                BiasCorrection = outcome,
                Warnings = warnings,
                PrepareTime = prepareTime,
                CalibrationTime = calibrationTime,
                BiasCorrectionTime = biasTime,
            },
        };
    }

    /// <summary>
    /// The layers that stay float: the ignored scope (with its warnings added to <paramref name="warnings"/>) and, on CPU
    /// targets, the stem convolutions INT8 would slow down.
    /// </summary>
    private static (IReadOnlySet<string> Ignored, List<string> Stems, HashSet<string> All) FloatLayers(ModelProto original, ModelProto prepared,
        DefaultQuantizationOptions options, List<string> warnings)
    {
        var scope = IgnoredScope.Resolve(prepared.Graph, options.IgnoredNodes, options.IgnoredOperations,
            original.Graph.Node.Select(n => n.Name).Where(n => n.Length > 0));
        warnings.AddRange(scope.Warnings);
        var ignored = scope.Nodes;
        var stems = options.KeepStemConvolutionsFloat && StemConvolutions.Applies(options.TargetDevice)
            ? StemConvolutions.Find(prepared).Where(n => !ignored.Contains(n)).ToList()
            : new List<string>();
        var all = new HashSet<string>(ignored, StringComparer.Ordinal);
        all.UnionWith(stems);
        return (ignored, stems, all);
    }

    /// <summary>What calibration measures: the ranges of every tensor the emitter quantizes, plus the FP32 channel means bias correction needs.</summary>
    private static CalibrationRequest CalibrationRequestFor(ModelProto prepared, IReadOnlySet<string> floatLayers, IReadOnlyList<QuantizableLayer> layers,
        DefaultQuantizationOptions options) => new()
    {
        RangeTensors = QdqEmitter.TensorsToCalibrate(prepared, floatLayers),
        Estimator = options.ActivationRange.Kind ?? RangeEstimatorKind.MeanMinMax,
        EstimatorOptions = options.ActivationRange,
        ChannelMeanTensors = options.BiasCorrection
            ? BiasCorrection.StatisticsNeeded(prepared, layers, options.UseFastBiasCorrection)
            : new Dictionary<string, int>(),
        BatchSize = options.StatBatchSize,
        Threads = options.Threads,
        // A float model: the optimizations up to EXTENDED leave every requested tensor as it is (see CalibrationGraph).
        Graph = CalibrationGraph.Extended,
    };

    /// <summary>
    /// The calibration pass <see cref="Create"/> runs for <paramref name="modelPath"/> and <paramref name="options"/>: the
    /// prepared model and the request, so that a benchmark can time exactly that pass (and nothing else).
    /// </summary>
    public static (ModelProto Prepared, CalibrationRequest Request) CalibrationFor(string modelPath, DefaultQuantizationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        var original = OnnxModelFile.Load(modelPath);
        var prepared = ModelPreparation.Prepare(original);
        var (_, _, floatLayers) = FloatLayers(original, prepared, options, new List<string>());
        return (prepared, CalibrationRequestFor(prepared, floatLayers, QdqEmitter.Layers(prepared, floatLayers), options));
    }

    /// <summary>The quantized model with <paramref name="revertedLayers"/> back in float, with their original weights and biases.</summary>
    public ModelProto Build(IReadOnlySet<string> revertedLayers)
    {
        ArgumentNullException.ThrowIfNull(revertedLayers);
        if (revertedLayers.Count == 0) return QdqEmitter.Emit(FloatModel, Plan);
        var floatLayers = new HashSet<string>(Plan.FloatLayers, StringComparer.Ordinal);
        floatLayers.UnionWith(revertedLayers);
        // A reverted layer gets its original bias back: drop its correction.
        var biases = Plan.CorrectedBiases.Where(kv => !revertedLayers.Contains(kv.Key))
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return QdqEmitter.Emit(FloatModel, Plan with { FloatLayers = floatLayers, CorrectedBiases = biases });
    }

    private static void Validate(DefaultQuantizationOptions options)
    {
        if (options.StatBatchSize < 1)
            throw new PotException("StatBatchSizeInvalid", PotErrorCategory.InvalidArgument,
                $"stat_batch_size must be at least 1, not {options.StatBatchSize}.", "stat_batch_size");
        if (options.StatSubsetSize is < 1)
            throw new PotException("StatSubsetSizeInvalid", PotErrorCategory.InvalidArgument,
                $"stat_subset_size must be a positive number of items, not {options.StatSubsetSize}.", "stat_subset_size");
        if (!(options.BiasCorrectionThreshold > 0))
            throw new PotException("BiasCorrectionThresholdInvalid", PotErrorCategory.InvalidArgument,
                $"The bias correction threshold must be above 0, not {options.BiasCorrectionThreshold}.", "threshold");
        if (options.Threads < 0)
            throw new PotException("ThreadsInvalid", PotErrorCategory.InvalidArgument, $"Threads must be 0 (automatic) or more, not {options.Threads}.", "threads");
    }

    /// <summary>Reports the stage on the top-level progress bar (id 0).</summary>
    private sealed class StageReporter(IProgress<PotProgress>? progress)
    {
        public void Report(string status, int percent) => progress?.Report(new PotProgress("Default quantization", status, percent));
    }
}

/// <summary>How a <see cref="QuantizedModelBuilder"/> was made: inputs, resolved settings, statistics and stage times.</summary>
public sealed record QuantizationSetup
{
    public required string ModelPath { get; init; }
    public required string CalibrationSource { get; init; }
    public required DefaultQuantizationOptions Options { get; init; }
    public required PresetResolution Settings { get; init; }
    public required long SourceOpset { get; init; }
    public required IReadOnlyList<string> IgnoredNodes { get; init; }
    /// <summary>Stem convolutions kept float because INT8 is slower on the CPU (<see cref="StemConvolutions"/>), in graph order.</summary>
    public IReadOnlyList<string> StemNodes { get; init; } = Array.Empty<string>();
    public required RangeEstimatorKind Estimator { get; init; }
    public required CalibrationStatistics Statistics { get; init; }
    /// <summary>Null when bias correction was off (or there was no layer).</summary>
    public BiasCorrectionOutcome? BiasCorrection { get; init; }
    public required IReadOnlyList<string> Warnings { get; init; }
    public required TimeSpan PrepareTime { get; init; }
    public required TimeSpan CalibrationTime { get; init; }
    public required TimeSpan BiasCorrectionTime { get; init; }
}
