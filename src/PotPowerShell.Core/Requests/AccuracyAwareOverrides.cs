using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Requests;

/// <summary>
/// The AccuracyAwareQuantization options a user gave as parameters (Invoke-AccuracyAwareQuantization, Get-LayerRanking);
/// null: keep the source's (the configuration's, the piped result's or the default).
/// </summary>
public sealed record AccuracyAwareOverrides
{
    public double? MaximalDrop { get; init; }
    public DropType? DropType { get; init; }
    public int? RankingSubsetSize { get; init; }
    public int? MaxIterations { get; init; }
    public RankingMethod? RankingMethod { get; init; }
    public int? ConfirmTopLayers { get; init; }
    public int? MaxEvaluations { get; init; }
    public bool? TuneHyperparameters { get; init; }
    public bool? ConvertToMixedPreset { get; init; }
    public int? ConfirmOnFullSet { get; init; }
    public int? EvaluationWorkers { get; init; }
    public int? EvaluationBatchSize { get; init; }
    public bool? DecideEarly { get; init; }
    public bool? ReuseActivations { get; init; }
    public TimeSpan? TimeLimit { get; init; }
    public string? CheckpointPath { get; init; }
    public RestoreMode? RestoreMode { get; init; }

    /// <summary>The DefaultQuantization parameters given (the cmdlets share them with Invoke-DefaultQuantization); null: none.</summary>
    public Func<DefaultQuantizationOptions, DefaultQuantizationOptions>? Quantization { get; init; }

    /// <summary><paramref name="options"/> with every option given here replaced.</summary>
    public AccuracyAwareOptions ApplyTo(AccuracyAwareOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (Quantization != null) options = options with { Quantization = Quantization(options.Quantization) };
        return options with
        {
            MaximalDrop = MaximalDrop ?? options.MaximalDrop,
            DropType = DropType ?? options.DropType,
            RankingSubsetSize = RankingSubsetSize ?? options.RankingSubsetSize,
            MaxIterations = MaxIterations ?? options.MaxIterations,
            RankingMethod = RankingMethod ?? options.RankingMethod,
            ConfirmTopLayers = ConfirmTopLayers ?? options.ConfirmTopLayers,
            MaxEvaluations = MaxEvaluations ?? options.MaxEvaluations,
            TuneHyperparameters = TuneHyperparameters ?? options.TuneHyperparameters,
            ConvertToMixedPreset = ConvertToMixedPreset ?? options.ConvertToMixedPreset,
            ConfirmOnFullSet = ConfirmOnFullSet ?? options.ConfirmOnFullSet,
            EvaluationWorkers = EvaluationWorkers ?? options.EvaluationWorkers,
            EvaluationBatchSize = EvaluationBatchSize ?? options.EvaluationBatchSize,
            DecideEarly = DecideEarly ?? options.DecideEarly,
            ReuseActivations = ReuseActivations ?? options.ReuseActivations,
            TimeLimit = TimeLimit ?? options.TimeLimit,
            CheckpointPath = CheckpointPath ?? options.CheckpointPath,
            RestoreMode = RestoreMode ?? options.RestoreMode,
        };
    }
}
