using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Requests;

/// <summary>
/// One Get-LayerRanking input: the <see cref="AccuracyAwareRequest"/> whose fully quantized model is ranked, resolved
/// the one way Invoke-AccuracyAwareQuantization resolves its input (a piped quantization result, a
/// <see cref="PotConfig"/> or paths plus parameter overrides), the method and the layers to rank.
/// <see cref="LayerRankingPipeline"/> runs it; nothing is written.
/// </summary>
public sealed record LayerRankingRequest
{
    /// <summary>The AccuracyAwareQuantization input ranked (its output paths are never written).</summary>
    public required AccuracyAwareRequest Source { get; init; }

    /// <summary>The model, calibration data, engine and options (AccuracyAwarePipeline opens them).</summary>
    public AccuracyAwareJob Job => Source.Job;

    public RankingMethod Method { get; init; } = RankingMethod.Signal;

    /// <summary>Rank these layers only (one shard of a ranking, Get-LayerRanking -Layer); null: every layer.</summary>
    public IReadOnlyCollection<string>? Layers { get; init; }

    /// <summary>See <see cref="AccuracyAwareRequest.FromQuantization"/>.</summary>
    public static LayerRankingRequest FromQuantization(QuantizationResult result, string enginePath) =>
        new() { Source = AccuracyAwareRequest.FromQuantization(result, enginePath) };

    /// <summary>
    /// See <see cref="AccuracyAwareRequest.FromConfig"/>; a configuration without an AccuracyAwareQuantization entry
    /// gives its DefaultQuantization options, since a ranking reverts no layer.
    /// </summary>
    public static LayerRankingRequest FromConfig(PotConfig config, string? enginePath, string? calibrationDataPath) =>
        new() { Source = AccuracyAwareRequest.FromConfig(config, enginePath, calibrationDataPath, defaultQuantizationSuffices: true) };

    /// <summary>See <see cref="AccuracyAwareRequest.FromPaths"/>.</summary>
    public static LayerRankingRequest FromPaths(string modelPath, string calibrationDataPath, string enginePath) =>
        new() { Source = AccuracyAwareRequest.FromPaths(modelPath, calibrationDataPath, enginePath) };

    /// <summary>The request with the options the user gave (null: keep the result's, the config's or the default).</summary>
    public LayerRankingRequest WithOverrides(int? rankingSubsetSize = null, int? confirmTopLayers = null, PrecisionMode? precision = null) =>
        this with
        {
            Source = Source.WithOverrides(new AccuracyAwareOverrides
            {
                RankingSubsetSize = rankingSubsetSize,
                ConfirmTopLayers = confirmTopLayers,
                Quantization = precision is { } mode ? q => q with { Precision = mode } : null,
            }),
        };

    /// <summary>The request whose engine runs 'type: script' metrics with <paramref name="factory"/>.</summary>
    public LayerRankingRequest WithScriptMetrics(ScriptMetricFactory? factory) => this with { Source = Source.WithScriptMetrics(factory) };
}
