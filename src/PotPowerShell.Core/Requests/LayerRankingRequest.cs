using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Requests;

/// <summary>
/// One Get-LayerRanking input, resolved once from a piped quantization result, a <see cref="PotConfig"/> or paths plus
/// parameter overrides: the <see cref="AccuracyAwareJob"/> whose fully quantized model is ranked, the method and the
/// layers to rank. <see cref="LayerRankingPipeline"/> runs it.
/// </summary>
public sealed record LayerRankingRequest
{
    /// <summary>The model, calibration data, engine and options (AccuracyAwarePipeline opens them).</summary>
    public required AccuracyAwareJob Job { get; init; }

    public RankingMethod Method { get; init; } = RankingMethod.Signal;

    /// <summary>Rank these layers only (one shard of a ranking, Get-LayerRanking -Layer); null: every layer.</summary>
    public IReadOnlyCollection<string>? Layers { get; init; }

    /// <summary>
    /// An Invoke-DefaultQuantization result: its model, calibration data and options are quantized again the same way
    /// (see <see cref="AccuracyAwareJob.FromQuantization"/>), evaluated with <paramref name="enginePath"/>.
    /// </summary>
    public static LayerRankingRequest FromQuantization(QuantizationResult result, string enginePath) =>
        new() { Job = AccuracyAwareJob.FromQuantization(result, enginePath) };

    /// <summary>
    /// A configuration: its model, its engine (replaced by <paramref name="enginePath"/> when given) and its
    /// AccuracyAwareQuantization options, or its DefaultQuantization options when it has no AccuracyAwareQuantization
    /// entry. <paramref name="calibrationDataPath"/> replaces the engine's data as calibration data.
    /// </summary>
    public static LayerRankingRequest FromConfig(PotConfig config, string? enginePath, string? calibrationDataPath)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new()
        {
            Job = new AccuracyAwareJob
            {
                ModelPath = config.Model.ModelPath,
                Config = config,
                EnginePath = enginePath,
                CalibrationDataPath = calibrationDataPath,
                Options = config.FindAlgorithm(AlgorithmNames.AccuracyAware) != null
                    ? config.ToAccuracyAwareOptions()
                    : new AccuracyAwareOptions { Quantization = config.ToDefaultQuantizationOptions() },
            },
        };
    }

    /// <summary>A model, its calibration data and an engine, with the default options.</summary>
    public static LayerRankingRequest FromPaths(string modelPath, string calibrationDataPath, string enginePath) => new()
    {
        Job = new AccuracyAwareJob
        {
            ModelPath = modelPath,
            CalibrationDataPath = calibrationDataPath,
            EnginePath = enginePath,
            Options = new AccuracyAwareOptions(),
        },
    };

    /// <summary>The request with the options the user gave (null: keep the result's, the config's or the default).</summary>
    public LayerRankingRequest WithOverrides(int? rankingSubsetSize = null, int? confirmTopLayers = null, PrecisionMode? precision = null)
    {
        var options = Job.Options;
        if (rankingSubsetSize is { } subset) options = options with { RankingSubsetSize = subset };
        if (confirmTopLayers is { } confirm) options = options with { ConfirmTopLayers = confirm };
        if (precision is { } mode) options = options with { Quantization = options.Quantization with { Precision = mode } };
        return this with { Job = Job with { Options = options } };
    }

    /// <summary>The request whose engine runs 'type: script' metrics with <paramref name="factory"/>.</summary>
    public LayerRankingRequest WithScriptMetrics(ScriptMetricFactory? factory) => this with { Job = Job with { ScriptMetrics = factory } };
}
