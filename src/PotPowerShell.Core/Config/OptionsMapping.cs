
namespace PotPowerShell.Core.Config;

/// <summary>Typed config -> the option records the quantizers take. The table is in docs/en-US/about_PotPowerShell_Config.md.</summary>
internal static class OptionsMapping
{
    public static DefaultQuantizationOptions ToDefault(DefaultQuantizationParams p, CompressionSection compression) => new()
    {
        Preset = p.Preset,
        TargetDevice = compression.TargetDevice,
        StatSubsetSize = p.StatSubsetSize,
        StatBatchSize = p.StatBatchSize,
        ShuffleData = p.ShuffleData,
        Seed = p.Seed,
        ModelType = compression.ModelType,
        UseFastBiasCorrection = p.UseFastBias,
        BiasCorrection = p.BiasCorrection,
        BiasCorrectionThreshold = p.Threshold,
        Equalization = p.Equalization,
        SmoothQuantAlpha = p.SmoothQuantAlpha,
        ActivationRange = p.Activations.RangeEstimator,
        PerChannelWeights = p.Weights.Granularity == Granularity.PerChannel,
        WeightOutlierProbability = p.Weights.OutlierProb,
        // Null modes leave the choice to the preset and target device (PresetResolution), as POT does.
        SymmetricWeights = p.Weights.Mode is { } w ? w == QuantizationMode.Symmetric : null,
        SymmetricActivations = p.Activations.Mode is { } a ? a == QuantizationMode.Symmetric : null,
        Types = TypesOf(p),
        FixFirstLayerSaturation = p.SaturationFix == SaturationFix.FirstLayer && TypesOf(p) != QuantizationTypes.U8S7,
        IgnoredNodes = p.Ignored.Scope.ToArray(),
        IgnoredOperations = p.Ignored.Operations
            .Select(o => new IgnoredOperation(o.Type, o.Attributes.Count == 0 ? null : o.Attributes.ToDictionary(a => a.Name, a => a.Value)))
            .ToArray(),
        Threads = p.Threads,
        Precision = p.Precision,
        BatchSize = p.LatencyBatchSize,
        SkipNonFiniteValues = p.SkipNonFiniteValues,
    };

    public static AccuracyAwareOptions ToAccuracyAware(AccuracyAwareParams p, CompressionSection compression) => new()
    {
        Quantization = ToDefault(p, compression),
        BaseAlgorithm = p.BaseAlgorithm,
        MaximalDrop = p.MaximalDrop,
        DropType = p.DropType,
        RankingSubsetSize = p.RankingSubsetSize,
        MaxIterations = p.MaxIterNum,
        UsePreviousIfDropIncrease = p.UsePrevIfDropIncrease,
        ConvertToMixedPreset = p.ConvertToMixedPreset,
        Metrics = p.Metrics.ToArray(),
        MetricSubsetRatio = p.MetricSubsetRatio,
        TuneHyperparameters = p.TuneHyperparams,
        RankingMethod = p.RankingMethod,
        ConfirmTopLayers = p.ConfirmTopLayers,
        BackwardPass = p.BackwardPass,
        MaxEvaluations = p.MaxEvaluations,
        TimeLimit = p.TimeLimit,
        CheckpointPath = p.CheckpointPath,
        RestoreMode = p.RestoreMode,
        AnnotationFree = p.AnnotationFree,
        AnnotationConfidenceThreshold = p.AnnotationConfThreshold,
    };

    /// <summary>
    /// Kernel types, first rule that applies: signed activation levels -> S8S8; 7-bit weights -> U8S7;
    /// saturation_fix all -> U8S7; saturation_fix no or first_layer -> U8S8 (first_layer also sets
    /// FixFirstLayerSaturation: 7-bit weights in the first layers only); otherwise Auto (chosen from the CPU).
    /// </summary>
    public static QuantizationTypes TypesOf(DefaultQuantizationParams p)
    {
        if (p.Activations.LevelLow is < 0) return QuantizationTypes.S8S8;
        if (p.Weights.Bits == 7) return QuantizationTypes.U8S7;
        return p.SaturationFix switch
        {
            SaturationFix.All => QuantizationTypes.U8S7,
            SaturationFix.No or SaturationFix.FirstLayer => QuantizationTypes.U8S8,
            _ => QuantizationTypes.Auto,
        };
    }
}
