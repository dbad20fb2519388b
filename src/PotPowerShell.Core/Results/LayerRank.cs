using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Results;

/// <summary>
/// How much reverting one quantized layer to float is expected to help, on the ranking subset.
/// </summary>
/// <param name="Rank">1 = revert first.</param>
/// <param name="Layer">Node name; feed it to Invoke-DefaultQuantization's ignored scope.</param>
/// <param name="OpType">Conv, Gemm, MatMul...</param>
/// <param name="Score">
/// Method Metric: the gain of the driving metric on the ranking subset when this layer alone is reverted
/// (metric units, positive = better). Method OutputError: the layer's output error (<c>LayerError.Score</c>,
/// Quantization/AccuracyAware/ILayerOutputProbe.cs).
/// </param>
/// <param name="Method">How <paramref name="Score"/> was measured for this layer.</param>
/// <param name="MetricDeltas">Change of every metric on the ranking subset when this layer is reverted (empty when not measured).</param>
/// <param name="OutputError">
/// OutputError ranking only (else NaN): the normalized squared error of the layer's output against FP32 plus the error
/// the layer makes on its own (<c>LayerError.Score</c>).
/// </param>
public sealed record LayerRank(
    int Rank,
    string Layer,
    string OpType,
    double Score,
    RankingMethod Method,
    MetricValues MetricDeltas,
    double OutputError)
{
    /// <summary>
    /// What the run that ranked this layer warned about (the same on every rank of one ranking: a model that mixes the
    /// items of a batch, every score equal ...), so a report of the ranking read later says it too.
    /// </summary>
    public IReadOnlyList<string> Warnings { get; init => field = ValueList.From(value); } = ValueList<string>.Empty;

    /// <summary>The layer name, so a ranking binds directly to a string[] ignored scope: -IgnoredScope (Get-LayerRanking ... -Top 2).</summary>
    public override string ToString() => Layer;
}

/// <summary>A ranking of every quantized layer, with what it cost.</summary>
/// <param name="Layers">Sorted, best revert first.</param>
/// <param name="Metric">The metric the ranking optimizes.</param>
/// <param name="SubsetSize">Items in the ranking subset.</param>
/// <param name="Evaluations">Model evaluations the ranking ran.</param>
/// <param name="Inferences">Items inferred by the ranking (evaluations and output-error passes).</param>
/// <param name="Items">The ranking subset (item indices, ascending).</param>
public sealed record LayerRanking(
    IReadOnlyList<LayerRank> Layers,
    string Metric,
    int SubsetSize,
    int Evaluations,
    long Inferences,
    IReadOnlyList<int>? Items = null)
{
    /// <summary>What the run found on the way (a model that mixes the items of a batch), for the warning stream.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();
}
