using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Requests;

/// <summary>
/// Runs a <see cref="LayerRankingRequest"/> through <see cref="AccuracyAwarePipeline.Rank"/>, which opens the engine
/// and the calibration data, quantizes once and ranks the layers without reverting any.
/// </summary>
public static class LayerRankingPipeline
{
    /// <param name="warnings">Hears the engine's warnings, and that a ranking has no signal left.</param>
    public static LayerRanking Run(LayerRankingRequest request, IProgress<PotProgress>? progress, IProgress<string>? warnings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var ranking = AccuracyAwarePipeline.Rank(request.Source.WithWarnings(warnings).Job, request.Method, progress, cancellationToken, request.Layers);
        if (ranking.Layers.Count > 1 && ranking.Layers.All(l => l.Score == ranking.Layers[0].Score))
            warnings?.Report($"Every layer scored {ranking.Layers[0].Score} on the {ranking.SubsetSize} ranking items, so the order is by name only: the metric has no signal left on them. Use -Method Signal, a larger -RankingSubsetSize, or a metric with per-item detail.");
        return ranking;
    }
}
