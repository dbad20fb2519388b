using System.Diagnostics;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;

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

    public ModelProto BaselineModel => _calibrated.Unsmoothed ?? _calibrated.Prepared;

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
        IProgress<PotProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Create(modelPath, calibration, options, Array.Empty<DefaultQuantizationOptions>(), progress, cancellationToken);

    /// <summary>
    /// As <see cref="Create(string, IDataset, DefaultQuantizationOptions, IProgress{PotProgress}?, CancellationToken)"/>,
    /// and the one calibration pass also measures what <paramref name="variants"/> need (their range estimators and
    /// bias-correction statistics), so that <see cref="Variant"/> builds each of them without running the FP32 model
    /// over the data again. A variant may differ from <paramref name="options"/> only in what is applied after
    /// calibration: preset, activation range estimator, bias correction, types, symmetry, per-channel weights.
    /// The builder keeps <paramref name="calibration"/> for full bias correction of variants: keep it open while
    /// variants are built.
    /// </summary>
    public static QuantizedModelBuilder Create(string modelPath, IDataset calibration, DefaultQuantizationOptions options,
        IReadOnlyList<DefaultQuantizationOptions> variants, IProgress<PotProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(variants);
        Validate(options);
        foreach (var variant in variants)
        {
            Validate(variant);
            CheckCalibrationShared(options, variant);
        }
        var stage = new StageReporter(progress);
        var watch = Stopwatch.StartNew();

        stage.Report("Preparing the model", 0);
        var original = OnnxModelFile.Load(modelPath);
        RejectQuantized(original, modelPath);
        cancellationToken.ThrowIfCancellationRequested();
        long sourceOpset = ModelInspector.DefaultOpset(original);
        var prepared = ModelPreparation.Prepare(original);
        var folding = ComputedWeightFolding.Fold(prepared, modelPath, cancellationToken);
        var items = CalibrationSubset.Select(calibration.Count, options.StatSubsetSize, options.ShuffleData, options.Seed);
        if (items.Length == 0)
            throw new PotException("CalibrationDataEmpty", PotErrorCategory.InvalidData,
                $"The calibration data '{calibration.Source}' holds no items.", calibration.Source);
        CalibrationDataCheck.Check(prepared, calibration, items[0], modelPath);
        var warnings = new List<string>();
        if (folding != null) warnings.Add(folding);
        bool half = HalfPrecision.Holds(original.Graph);
        if (half) warnings.Add(HalfWarning(original.Graph, modelPath));
        if (ModelInspector.DefaultOpset(prepared) != sourceOpset)
        {
            // The upgrade is checked against the original in the precision the prepared model computes in.
            var reference = original;
            if (half) HalfPrecision.Widen((reference = ModelCopy.WithRawInitializers(original)).Graph);
            PreparationCheck.VerifySameOutputs(reference, prepared, calibration, items.Take(3).ToArray(), modelPath, options.Threads, cancellationToken);
        }
        var equalized = Array.Empty<EqualizedPair>() as IReadOnlyList<EqualizedPair>;
        if (options.Equalization != EqualizationScope.None) (prepared, equalized) = CrossLayerEqualization.Equalize(prepared, options.Equalization == EqualizationScope.Depthwise);

        var (ignored, floatLayers) = FloatLayers(original, prepared, options, warnings);
        if (LayersLeftFloat.InSubgraphs(prepared.Graph, modelPath) is { } subgraphs) warnings.Add(subgraphs);
        if (LayersLeftFloat.RuntimeFusions(prepared.Graph, modelPath) is { } fusions) warnings.Add(fusions);
        var settings = PresetResolution.Resolve(options, HardwareProfile.Current);
        var precisionWatch = Stopwatch.StartNew();
        var precision = LatencyAwarePrecision.Choose(prepared, ignored, settings, options, calibration, items[0], modelPath, progress, cancellationToken);
        var precisionTime = precisionWatch.Elapsed;
        warnings.AddRange(precision.Warnings);
        floatLayers.UnionWith(precision.FloatLayers);
        var layers = QdqEmitter.Layers(prepared, floatLayers);
        if (layers.Count == 0 && precision.FloatLayers.Count == 0)
        {
            // A model ONNX Runtime cannot load is the deeper problem: report that (ModelNotLoadable) first.
            using (var sessionOptions = OrtSessions.Options(GraphOptimizationLevel.ORT_DISABLE_ALL, options.Threads))
            using (OrtSessions.Create(prepared.ToByteArray(), sessionOptions, modelPath)) { }
            throw NothingToQuantize(modelPath, ignored.Count, prepared.Graph, folding);
        }
        var prepareTime = watch.Elapsed - precisionTime;
        cancellationToken.ThrowIfCancellationRequested();

        // Calibration: ranges of every tensor the emitter quantizes, plus FP32 channel means for bias correction; with
        // variants, their estimators' ranges and bias-correction statistics too.
        stage.Report("Calibrating", 10);
        watch.Restart();
        var all = variants.Prepend(options).ToList();
        var modelType = TransformerModelType.Resolve(options, prepared);
        var request = CalibrationRequestFor(prepared, floatLayers, layers, options) with
        {
            AlternativeEstimators = all.Skip(1).Select(v => v.ActivationRange).ToList(),
            ChannelMeanTensors = ChannelMeansFor(prepared, layers, all),
            // SmoothQuant's statistics, for Smoothed: the per-channel max |x| of the Linear layers' inputs.
            ChannelAbsMaxTensors = SmoothQuantChoice.Resolve(options, modelType).Alpha != null
                ? SmoothQuant.Inputs(prepared, layers.Select(l => l.Node).ToList()) : Array.Empty<string>(),
        };
        var statistics = ActivationCollector.Collect(prepared, calibration, items, request, progress, cancellationToken, modelPath);
        warnings.AddRange(statistics.Warnings);
        var calibrationTime = watch.Elapsed;

        var calibrated = new Calibrated(prepared, layers, floatLayers, calibration, items[0], statistics, all, new QuantizationSetup
        {
            ModelPath = modelPath,
            CalibrationSource = calibration.Source,
            Options = options,
            Settings = settings,
            SourceOpset = sourceOpset,
            IgnoredNodes = ignored.OrderBy(n => n, StringComparer.Ordinal).ToList(),
            Equalized = equalized,
            ModelType = modelType,
            Precision = precision,
            Estimator = options.ActivationRange.EffectiveKind,
            Statistics = statistics,
            Warnings = warnings,
            PrepareTime = prepareTime,
            PrecisionTime = precisionTime,
            CalibrationTime = calibrationTime,
            BiasCorrectionTime = TimeSpan.Zero,
        });
        return Finish(calibrated, options, statistics, calibrated.Setup, progress, cancellationToken);
    }

    /// <summary>
    /// The builder of the same model quantized with <paramref name="options"/>, made from this builder's calibration
    /// statistics without running the FP32 model over the data again (full bias correction still runs the new quantized
    /// model over the calibration items, as it must). <paramref name="options"/> must have been among the variants given
    /// to <see cref="Create(string, IDataset, DefaultQuantizationOptions, IReadOnlyList{DefaultQuantizationOptions}, IProgress{PotProgress}?, CancellationToken)"/>,
    /// or need nothing more than they did.
    /// </summary>
    public QuantizedModelBuilder Variant(DefaultQuantizationOptions options, IProgress<PotProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options == Setup.Options) return this;
        Validate(options);
        CheckCalibrationShared(_calibrated.Setup.Options, options);
        if (!_calibrated.Statistics.Measured(options.ActivationRange))
            throw new InvalidOperationException($"The calibration pass did not measure the range estimator {Calibration.RangeStatistics.Key(options.ActivationRange)}: give these options as a variant to Create.");
        var missing = ChannelMeansFor(FloatModel, Layers, new[] { options }).Keys.Where(t => !_calibrated.Statistics.ChannelMeans.ContainsKey(t)).ToList();
        if (missing.Count > 0)
            throw new InvalidOperationException($"The calibration pass did not collect the bias-correction statistics of {string.Join(", ", missing)}: give these options as a variant to Create.");
        var statistics = _calibrated.Statistics.WithEstimator(options.ActivationRange);
        var setup = _calibrated.Setup with
        {
            Options = options,
            ModelType = TransformerModelType.Resolve(options, FloatModel),
            Settings = PresetResolution.Resolve(options, HardwareProfile.Current),
            Estimator = options.ActivationRange.EffectiveKind,
            Statistics = statistics,
            CalibrationReused = true,
            PrepareTime = TimeSpan.Zero,
            PrecisionTime = TimeSpan.Zero,
            CalibrationTime = TimeSpan.Zero,
        };
        return Finish(_calibrated, options, statistics, setup, progress, cancellationToken);
    }

    /// <summary>
    /// The builder of this model smoothed with SmoothQuant at <paramref name="alpha"/> (Onnx/SmoothQuant.cs), from the
    /// per-channel maxima this builder's calibration pass collected, calibrated again on the smoothed model (with the
    /// same items, estimators and variants), or null when nothing could be smoothed. The smoothed float model computes
    /// what the prepared one does (within float rounding); its Setup lists the groups smoothed.
    /// </summary>
    public QuantizedModelBuilder? Smoothed(double alpha, IProgress<PotProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var maxima = _calibrated.Statistics.ChannelAbsMax.Where(kv => kv.Value.Items > 0)
            .ToDictionary(kv => kv.Key, kv => kv.Value.Maxima, StringComparer.Ordinal);
        if (maxima.Count == 0) return null;
        var (smoothed, groups) = SmoothQuant.Smooth(_calibrated.Prepared, _calibrated.Layers.Select(l => l.Node).ToList(), maxima, alpha);
        if (groups.Count == 0) return null;
        new StageReporter(progress).Report("Calibrating the smoothed model", 50);
        var watch = Stopwatch.StartNew();
        var options = _calibrated.Setup.Options;
        var layers = QdqEmitter.Layers(smoothed, _calibrated.FloatLayers);
        var request = CalibrationRequestFor(smoothed, _calibrated.FloatLayers, layers, options) with
        {
            AlternativeEstimators = _calibrated.Variants.Skip(1).Select(v => v.ActivationRange).ToList(),
            ChannelMeanTensors = ChannelMeansFor(smoothed, layers, _calibrated.Variants),
        };
        var statistics = ActivationCollector.Collect(smoothed, _calibrated.Data, _calibrated.Statistics.Items, request, progress, cancellationToken, _calibrated.Setup.ModelPath);
        var setup = _calibrated.Setup with
        {
            Smoothed = groups,
            SmoothQuantAlpha = alpha,
            Statistics = statistics,
            Warnings = _calibrated.Setup.Warnings.Concat(statistics.Warnings.Except(_calibrated.Statistics.Warnings)).ToList(),
            CalibrationTime = _calibrated.Setup.CalibrationTime + watch.Elapsed,
        };
        var calibrated = _calibrated with { Prepared = smoothed, Unsmoothed = _calibrated.Unsmoothed ?? _calibrated.Prepared, Layers = layers, Statistics = statistics, Setup = setup };
        var main = Finish(calibrated, options, statistics, setup, progress, cancellationToken);
        return Setup.Options == options ? main : main.Variant(Setup.Options, progress, cancellationToken);
    }

    /// <summary>This builder with <paramref name="verdict"/> as its SmoothQuant text (also for the variants made from it).</summary>
    public QuantizedModelBuilder WithSmoothQuantVerdict(string verdict)
    {
        var calibrated = _calibrated with { Setup = _calibrated.Setup with { SmoothQuantVerdict = verdict } };
        return new QuantizedModelBuilder(FloatModel, Plan, Layers) { Setup = Setup with { SmoothQuantVerdict = verdict }, _calibrated = calibrated };
    }

    /// <summary>Plan and bias correction from calibration statistics: everything after calibration.</summary>
    private static QuantizedModelBuilder Finish(Calibrated calibrated, DefaultQuantizationOptions options, CalibrationStatistics statistics, QuantizationSetup setup,
        IProgress<PotProgress>? progress, CancellationToken cancellationToken)
    {
        var stage = new StageReporter(progress);
        var prepared = calibrated.Prepared;
        var layers = calibrated.Layers;
        var plan = new QuantizationPlan
        {
            Types = setup.Settings.Types,
            SymmetricActivations = setup.Settings.SymmetricActivations,
            SymmetricWeights = setup.Settings.SymmetricWeights,
            PerChannelWeights = options.PerChannelWeights,
            WeightOutlierProbability = options.WeightOutlierProbability,
            Ranges = statistics.Ranges,
            FloatLayers = calibrated.FloatLayers,
            FloatReasons = FloatReasonsOf(setup),
            SymmetricActivationProducts = TransformerModelType.SymmetricProducts(setup.ModelType, options),
            SevenBitLayers = options.FixFirstLayerSaturation && setup.Settings.Types != QuantizationTypes.U8S7
                ? FirstLayerSaturation.Find(prepared, layers)
                : new HashSet<string>(),
        };

        // Bias correction compares the FP32 layers with the quantized ones, so it needs one emission first.
        var watch = Stopwatch.StartNew();
        BiasCorrectionOutcome? outcome = null;
        if (options.BiasCorrection && layers.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            stage.Report(options.UseFastBiasCorrection ? "Fast bias correction" : "Bias correction", 60);
            var quantized = QdqEmitter.Emit(prepared, plan);
            outcome = options.UseFastBiasCorrection
                ? BiasCorrection.Fast(prepared, quantized, layers, statistics, options.BiasCorrectionThreshold ?? BiasCorrection.PotThreshold, options.Threads, cancellationToken)
                : BiasCorrection.Full(prepared, quantized, layers, calibrated.Data, statistics, options.BiasCorrectionThreshold ?? BiasCorrection.PotThreshold,
                    statistics.BatchSize, options.Threads, progress, cancellationToken, options.SkipNonFiniteValues); // the batch size calibration could use
            plan = plan with { CorrectedBiases = outcome.Corrected };
        }

        return new QuantizedModelBuilder(prepared, plan, layers)
        {
            Setup = setup with { BiasCorrection = outcome, BiasCorrectionTime = watch.Elapsed },
            _calibrated = calibrated,
        };
    }

    /// <summary>Why the layers the plan keeps float are float: the ignored scope, or latency-aware precision.</summary>
    private static IReadOnlyDictionary<string, FloatReason> FloatReasonsOf(QuantizationSetup setup)
    {
        var reasons = new SortedDictionary<string, FloatReason>(StringComparer.Ordinal);
        foreach (var node in setup.Precision.FloatLayers)
            reasons[node] = new FloatReason(LayerReason.FasterInFloat, setup.Precision.FloatReasons.GetValueOrDefault(node) ?? "faster in float");
        foreach (var node in setup.IgnoredNodes) reasons[node] = new FloatReason(LayerReason.IgnoredScope, "ignored scope");
        return reasons;
    }

    /// <summary>What every builder made from one calibration pass shares.</summary>
    /// <param name="FirstItem">The first calibration item: the one layer timings measure activation shapes on.</param>
    /// <param name="Variants">The option variants this pass measured statistics for (the base options first); a smoothed model is calibrated again for all of them.</param>
    /// <param name="Restore">What reverted layers give back (<see cref="WithRestoreMode"/>), shared by every variant.</param>
    private sealed record Calibrated(ModelProto Prepared, IReadOnlyList<QuantizableLayer> Layers, IReadOnlySet<string> FloatLayers, IDataset Data,
        int FirstItem, CalibrationStatistics Statistics, IReadOnlyList<DefaultQuantizationOptions> Variants, QuantizationSetup Setup)
    {
        public RestoreChoice Restore { get; init; } = RestoreChoice.Float;

        /// <summary>The prepared model before SmoothQuant rewrote it (null: <see cref="Prepared"/> is that model).</summary>
        public ModelProto? Unsmoothed { get; init; }
    }

    private sealed record RestoreChoice(RestoreMode Mode, DynamicFallbackOutcome Outcome)
    {
        public static RestoreChoice Float { get; } = new(RestoreMode.ActivationsAndWeights, DynamicFallbackOutcome.None);
    }

    /// <summary>What a reverted layer gives back in the candidates this builder (and its variants) builds.</summary>
    public RestoreMode RestoreMode => _calibrated.Restore.Mode;

    /// <summary>With restore_mode only_activations: the layers that keep INT8 weights when reverted, and the timings that chose them.</summary>
    public DynamicFallbackOutcome DynamicFallback => _calibrated.Restore.Outcome;

    /// <summary>
    /// This builder (and every variant made from it) with reverted layers restored as <paramref name="mode"/> says. For
    /// only_activations it times each MatMul and Gemm's dynamic form against float on this CPU (cached; see
    /// <see cref="Quantization.DynamicFallback"/>): those whose dynamic form is faster are <see cref="DynamicCapable"/>, and
    /// AccuracyAwareQuantization's dynamic pass keeps that form for a reverted one where the target still holds.
    /// </summary>
    public QuantizedModelBuilder WithRestoreMode(RestoreMode mode, IProgress<PotProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (mode == RestoreMode) return this;
        var outcome = mode == RestoreMode.OnlyActivations
            ? Quantization.DynamicFallback.Choose(FloatModel, Layers, Setup.Settings, Setup.Options, _calibrated.Data, _calibrated.FirstItem, Setup.ModelPath, progress, cancellationToken)
            : DynamicFallbackOutcome.None;
        return new QuantizedModelBuilder(FloatModel, Plan, Layers)
        {
            Setup = Setup with { Warnings = Setup.Warnings.Concat(outcome.Warnings).ToList() },
            _calibrated = _calibrated with { Restore = new RestoreChoice(mode, outcome) },
        };
    }

    private Calibrated _calibrated = null!;

    /// <summary>FP32 channel means the bias correction of any of <paramref name="options"/> reads (fast needs the layer inputs too).</summary>
    private static IReadOnlyDictionary<string, int> ChannelMeansFor(ModelProto prepared, IReadOnlyList<QuantizableLayer> layers, IEnumerable<DefaultQuantizationOptions> options)
    {
        var result = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (bool fast in options.Where(o => o.BiasCorrection).Select(o => o.UseFastBiasCorrection).Distinct())
            foreach (var (tensor, axis) in BiasCorrection.StatisticsNeeded(prepared, layers, fast))
                result[tensor] = axis;
        return result;
    }

    /// <summary>
    /// A variant shares the calibration pass of <paramref name="main"/> when it differs only in what is applied after
    /// calibration; anything that changes the prepared model, the float layers or the calibration items would not.
    /// </summary>
    private static void CheckCalibrationShared(DefaultQuantizationOptions main, DefaultQuantizationOptions variant)
    {
        var aligned = variant with
        {
            Preset = main.Preset,
            ActivationRange = main.ActivationRange,
            UseFastBiasCorrection = main.UseFastBiasCorrection,
            BiasCorrection = main.BiasCorrection,
            BiasCorrectionThreshold = main.BiasCorrectionThreshold,
            PerChannelWeights = main.PerChannelWeights,
            WeightOutlierProbability = main.WeightOutlierProbability,
            SymmetricWeights = main.SymmetricWeights,
            SymmetricActivations = main.SymmetricActivations,
            Types = main.Types,
            FixFirstLayerSaturation = main.FixFirstLayerSaturation,
        };
        if (aligned != main)
            throw new ArgumentException("A variant can change only the preset, range estimators, bias correction, types, saturation fix, symmetry and per-channel weights: "
                + "anything else (data subset, seed, ignored scope, target device, threads) needs its own calibration.", nameof(variant));
    }

    /// <summary>The layers the ignored scope keeps float (with its warnings added to <paramref name="warnings"/>), and a set to add more to.</summary>
    internal static (IReadOnlySet<string> Ignored, HashSet<string> All) FloatLayers(ModelProto original, ModelProto prepared,
        DefaultQuantizationOptions options, List<string> warnings)
    {
        var scope = IgnoredScope.Resolve(prepared.Graph, options.IgnoredNodes, options.IgnoredOperations,
            original.Graph.Node.Select(n => n.Name).Where(n => n.Length > 0));
        warnings.AddRange(scope.Warnings);
        return (scope.Nodes, new HashSet<string>(scope.Nodes, StringComparer.Ordinal));
    }

    /// <summary>What calibration measures: the ranges of every tensor the emitter quantizes, plus the FP32 channel means bias correction needs.</summary>
    internal static CalibrationRequest CalibrationRequestFor(ModelProto prepared, IReadOnlySet<string> floatLayers, IReadOnlyList<QuantizableLayer> layers,
        DefaultQuantizationOptions options) => new()
    {
        RangeTensors = QdqEmitter.TensorsToCalibrate(prepared, floatLayers),
        Estimator = options.ActivationRange.EffectiveKind,
        EstimatorOptions = options.ActivationRange,
        ChannelMeanTensors = options.BiasCorrection
            ? BiasCorrection.StatisticsNeeded(prepared, layers, options.UseFastBiasCorrection)
            : new Dictionary<string, int>(),
        BatchSize = options.StatBatchSize,
        Threads = options.Threads,
        SkipNonFiniteValues = options.SkipNonFiniteValues,
        // A float model, so every ORT optimization is allowed: the requested tensors are graph outputs and survive, and
        // the NCHWc convolutions of ORT_ENABLE_ALL are what makes calibration cost about what plain inference costs
        // (see CalibrationGraph.All for what it changes).
        Graph = CalibrationGraph.All,
    };

    /// <summary>
    /// This builder with the bias-correction verdict of <see cref="BiasCorrectionVerification"/>; without
    /// <paramref name="kept"/>, also without the corrections (each corrected layer's note says they were dropped).
    /// </summary>
    public QuantizedModelBuilder WithBiasCorrectionVerdict(bool kept, string verdict)
    {
        var outcome = Setup.BiasCorrection;
        if (kept || outcome == null) return new QuantizedModelBuilder(FloatModel, Plan, Layers) { Setup = Setup with { BiasCorrectionVerdict = verdict }, _calibrated = _calibrated };
        var notes = new SortedDictionary<string, string>(outcome.Notes.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal);
        foreach (var node in outcome.Corrected.Keys) notes[node] = BiasCorrectionVerification.DroppedNote;
        var none = new Dictionary<string, float[]>(StringComparer.Ordinal);
        return new QuantizedModelBuilder(FloatModel, Plan with { CorrectedBiases = none }, Layers)
        {
            Setup = Setup with { BiasCorrection = outcome with { Corrected = none, Notes = notes }, BiasCorrectionVerdict = verdict },
            _calibrated = _calibrated,
        };
    }

    /// <summary>The quantized model with <paramref name="revertedLayers"/> back in float, with their original weights and biases.</summary>
    public ModelProto Build(IReadOnlySet<string> revertedLayers) => Emit(revertedLayers).Model;

    /// <inheritdoc/>
    public ModelProto Build(IReadOnlySet<string> revertedLayers, IReadOnlySet<string> dynamicLayers) => Emit(revertedLayers, dynamicLayers).Model;

    /// <summary>
    /// As <see cref="Build(IReadOnlySet{string}, IReadOnlySet{string})"/>, with the emitter's record of every weighted
    /// layer (precision, reason, quantizer parameters).
    /// </summary>
    public Emission Emit(IReadOnlySet<string> revertedLayers, IReadOnlySet<string>? dynamicLayers = null)
    {
        ArgumentNullException.ThrowIfNull(revertedLayers);
        dynamicLayers ??= IQuantizedModelBuilder.EmptyLayers;
        if (dynamicLayers.FirstOrDefault(l => !revertedLayers.Contains(l) || !DynamicCapable.Contains(l)) is { } wrong)
            throw new ArgumentException($"'{wrong}' cannot run in its dynamic form here: only reverted layers of DynamicCapable can.", nameof(dynamicLayers));
        if (revertedLayers.Count == 0) return QdqEmitter.EmitWithRecord(FloatModel, Plan, _weights);
        var floatLayers = new HashSet<string>(Plan.FloatLayers, StringComparer.Ordinal);
        floatLayers.UnionWith(revertedLayers);
        // A reverted layer gets its original bias back: drop its correction.
        var biases = Plan.CorrectedBiases.Where(kv => !revertedLayers.Contains(kv.Key))
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return QdqEmitter.EmitWithRecord(FloatModel, WithDynamicLayers(Plan with { FloatLayers = floatLayers, CorrectedBiases = biases }, revertedLayers, dynamicLayers), _weights);
    }

    /// <inheritdoc/>
    public IReadOnlySet<string> DynamicCapable =>
        _calibrated.Restore.Mode == RestoreMode.OnlyActivations ? _calibrated.Restore.Outcome.Layers : IQuantizedModelBuilder.EmptyLayers;

    /// <summary>restore_mode only_activations: <paramref name="dynamic"/> keep INT8 weights; the other reverted layers say why they are float.</summary>
    private QuantizationPlan WithDynamicLayers(QuantizationPlan plan, IReadOnlySet<string> revertedLayers, IReadOnlySet<string> dynamic)
    {
        var restore = _calibrated.Restore;
        if (restore.Mode != RestoreMode.OnlyActivations) return plan;
        var reasons = new SortedDictionary<string, FloatReason>(plan.FloatReasons.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal);
        foreach (var layer in revertedLayers.Where(l => !dynamic.Contains(l)))
            reasons[layer] = !restore.Outcome.Timings.TryGetValue(layer, out var timing)
                ? new FloatReason(LayerReason.Reverted, "reverted to float (no dynamic form timed for it: only MatMul and Gemm with a 2-D constant weight have one, on target devices ANY and CPU)")
                : timing.Faster ? new FloatReason(LayerReason.Reverted, "reverted to float (its faster dynamic form, INT8 weights with activations quantized at run time, missed the target)")
                : new FloatReason(LayerReason.Reverted, Quantization.DynamicFallback.SlowerText(timing, restore.Outcome.BatchSize));
        var sevenBit = new HashSet<string>(plan.SevenBitLayers, StringComparer.Ordinal);
        if (restore.Outcome.SevenBitWeights) sevenBit.UnionWith(dynamic);
        return plan with { DynamicLayers = dynamic.ToHashSet(StringComparer.Ordinal), FloatReasons = reasons, SevenBitLayers = sevenBit };
    }

    /// <summary>
    /// The quantized weights of this builder's layers, kept across <see cref="Emit"/> calls: candidates differ in a few
    /// reverted layers, so the others' weights are quantized once (same bytes as without; see <see cref="QdqWeightCache"/>).
    /// </summary>
    private readonly QdqWeightCache _weights = new();

    /// <summary>How often <see cref="Emit"/> quantized a layer's weights, and how often it reused them (tests read this).</summary>
    internal (int Quantized, int Reused) WeightCacheUse => (_weights.Misses, _weights.Hits);

    /// <summary>
    /// A model that already holds quantization ops (a QDQ model, or one with QLinear*/…Integer kernels) would be
    /// quantized twice: refuse it and point at its float original.
    /// </summary>
    private static void RejectQuantized(ModelProto model, string modelPath)
    {
        var quantOps = model.Graph.Node.Where(n => OpCatalog.IsQuantizationOp(n.OpType)).ToList();
        if (quantOps.Count == 0) return;
        var kinds = quantOps.GroupBy(n => n.OpType).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}");
        throw new PotException("ModelAlreadyQuantized", PotErrorCategory.InvalidArgument,
            $"'{modelPath}' is already quantized: it holds {string.Join(", ", kinds)}. Give the float (FP32) model it was made from.", modelPath);
    }

    /// <summary>What widening a 16-bit float model (<see cref="HalfPrecision"/>) means for its output.</summary>
    private static string HalfWarning(GraphProto original, string modelPath)
    {
        bool halfInterface = original.Input.Concat(original.Output).Any(v => HalfPrecision.IsHalf(v.Type?.TensorType?.ElemType ?? 0));
        string interfaceKept = halfInterface ? "; its inputs and outputs keep their 16-bit type." : ".";
        return HalfPrecision.HoldsWeights(original)
            ? $"'{modelPath}' is a 16-bit float model: it is quantized as the FP32 model its weights widen to, so the layers left float run in FP32 " +
              "(their weights take twice their 16-bit size)" + interfaceKept
            : $"'{modelPath}' computes in 16-bit floats between Casts: it is quantized as the FP32 model it is without them, so the layers left float " +
              "run in FP32" + interfaceKept;
    }

    private static PotException NothingToQuantize(string modelPath, int ignoredLayers, GraphProto graph, string? folding) =>
        new("NothingToQuantize", PotErrorCategory.InvalidArgument,
            ignoredLayers > 0
                ? $"Every quantizable layer of '{modelPath}' is in the ignored scope ({ignoredLayers} layers), so nothing is left to quantize. Remove entries from the ignored scope (-IgnoredScope, -IgnoredOpType or ignored_scope)."
                : LayersLeftFloat.OnlyRuntimeFusions(graph, modelPath)
                    ?? LayersLeftFloat.OnlySubgraphs(graph, modelPath)
                    ?? NoLayerQuantizable(graph, modelPath, folding)
                    ?? $"'{modelPath}' has no layer that DefaultQuantization quantizes (Conv, ConvTranspose, MatMul, Gemm), so there is nothing to quantize.",
            modelPath);

    /// <summary>
    /// The message for a graph whose weighted layers read a computed weight or bias (from stored tensors that could not
    /// be computed ahead, <paramref name="folding"/>, <see cref="ComputedWeightFolding"/>'s warning, or from the model's
    /// inputs) or their stored weight as the first input (weight @ x), naming the first such layer. Null when every
    /// layer reads a stored weight and bias after its input.
    /// </summary>
    private static string? NoLayerQuantizable(GraphProto graph, string modelPath, string? folding)
    {
        var stored = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var layers = ComputedWeights.WeightedLayers(graph).ToList();
        string head = $"'{modelPath}' has {layers.Count} layer(s) (Conv, ConvTranspose, MatMul, Gemm), but none ";
        foreach (var layer in layers)
        {
            if (stored.Contains(layer.Input[0]))
                return head + $"can be quantized, so there is nothing to quantize: '{layer.Name}' reads its stored weight '{layer.Input[0]}' as its first input (weight @ x), " +
                    "and DefaultQuantization quantizes x @ weight, the activation first, only.";
            if (ComputedWeights.ConstantInputs(layer).FirstOrDefault(i => !stored.Contains(i)) is { } computed)
                return head + "reads a stored weight and bias, so there is nothing to quantize: " + (folding
                    ?? $"'{layer.Name}' reads '{computed}', which the model computes from its inputs. DefaultQuantization quantizes layers whose weights and biases are stored in the model.");
        }
        return null;
    }

    internal static void Validate(DefaultQuantizationOptions options)
    {
        if (options.StatBatchSize < 1)
            throw new PotException("StatBatchSizeInvalid", PotErrorCategory.InvalidArgument,
                $"stat_batch_size must be at least 1, not {options.StatBatchSize}.", "stat_batch_size");
        if (options.StatSubsetSize is < 1)
            throw new PotException("StatSubsetSizeInvalid", PotErrorCategory.InvalidArgument,
                $"stat_subset_size must be a positive number of items, not {options.StatSubsetSize}.", "stat_subset_size");
        if (options.BiasCorrectionThreshold is double threshold && !(threshold > 0))
            throw new PotException("BiasCorrectionThresholdInvalid", PotErrorCategory.InvalidArgument,
                $"The bias correction threshold must be above 0, not {options.BiasCorrectionThreshold}.", "threshold");
        if (options.BatchSize < 1)
            throw new PotException("BatchSizeInvalid", PotErrorCategory.InvalidArgument,
                $"The batch size for latency must be at least 1, not {options.BatchSize}.", "batch_size");
        if (options.Threads is < 0 or > OrtSessions.MaxThreads)
            throw new PotException("ThreadsInvalid", PotErrorCategory.InvalidArgument, $"Threads must be from 0 (automatic) to {OrtSessions.MaxThreads}, not {options.Threads}.", "threads");
        if (options.SmoothQuantAlpha is double alpha && !(alpha <= 1))
            throw new PotException("SmoothQuantAlphaInvalid", PotErrorCategory.InvalidArgument,
                $"smooth_quant_alpha must be at most 1 (0 to 1 applies SmoothQuant with that alpha; a negative value turns it off), not {alpha}.", "smooth_quant_alpha");
        if (options.WeightOutlierProbability is double p && !(p > 0 && p < 0.5))
            throw new PotException("OutlierProbabilityInvalid", PotErrorCategory.InvalidArgument,
                $"The weights' outlier_prob must be greater than 0 and less than 0.5, not {p}.", "weights.range_estimator");
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
    /// <summary>Whether the transformer rules apply, and why (the option or detection).</summary>
    public ModelTypeChoice ModelType { get; init; } = new(false, "model_type none");
    /// <summary>Linear layer groups SmoothQuant rescaled (empty when it did not run or was not kept).</summary>
    public IReadOnlyList<SmoothedGroup> Smoothed { get; init; } = Array.Empty<SmoothedGroup>();
    /// <summary>The alpha of <see cref="Smoothed"/>, or null.</summary>
    public double? SmoothQuantAlpha { get; init; }
    /// <summary>Whether SmoothQuant was applied and why (or why not); empty until DefaultQuantization decides.</summary>
    public string SmoothQuantVerdict { get; init; } = "";
    /// <summary>Conv pairs cross-layer equalization rescaled (empty when it is off or found none).</summary>
    public IReadOnlyList<EqualizedPair> Equalized { get; init; } = Array.Empty<EqualizedPair>();
    /// <summary>The latency-aware precision choice: layers kept float because they are faster that way, and the timings.</summary>
    public PrecisionOutcome Precision { get; init; } = PrecisionOutcome.AllInt8(PrecisionMode.AllInt8, 1);
    public required RangeEstimatorKind Estimator { get; init; }
    public required CalibrationStatistics Statistics { get; init; }
    /// <summary>Null when bias correction was off (or there was no layer).</summary>
    public BiasCorrectionOutcome? BiasCorrection { get; init; }
    /// <summary>What <see cref="BiasCorrectionVerification"/> decided, or null when it did not run.</summary>
    public string? BiasCorrectionVerdict { get; init; }
    public required IReadOnlyList<string> Warnings { get; init; }
    /// <summary>Loading and preparing the model, and the preparation checks (zero for a <see cref="QuantizedModelBuilder.Variant"/>).</summary>
    public required TimeSpan PrepareTime { get; init; }
    /// <summary>The latency-aware precision choice: timing the layers and the candidate models (nothing when cached).</summary>
    public TimeSpan PrecisionTime { get; init; }
    public required TimeSpan CalibrationTime { get; init; }
    public required TimeSpan BiasCorrectionTime { get; init; }
    /// <summary>True for a builder made from another's calibration pass (<see cref="QuantizedModelBuilder.Variant"/>): it ran no calibration of its own.</summary>
    public bool CalibrationReused { get; init; }
}
