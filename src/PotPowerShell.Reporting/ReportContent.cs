using PotPowerShell.Core.Comparison;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Quantization.AccuracyAware;

namespace PotPowerShell.Reporting;

/// <summary>The results one report shows, by kind, in the order they arrived.</summary>
public sealed class ReportContent
{
    public List<QuantizationResult> Quantizations { get; } = new();
    public List<AccuracyAwareResult> AccuracyAware { get; } = new();
    public List<ComparisonResult> Comparisons { get; } = new();
    /// <summary>Layer ranks as Get-LayerRanking emits them: one ranking is a run of ranks starting at rank 1.</summary>
    public List<LayerRank> Ranks { get; } = new();
    public List<MeasurementResult> Evaluations { get; } = new();

    public bool IsEmpty => Quantizations.Count + AccuracyAware.Count + Comparisons.Count + Ranks.Count + Evaluations.Count == 0;

    /// <summary>The ranks split into rankings: a new ranking starts at every rank 1.</summary>
    public IReadOnlyList<IReadOnlyList<LayerRank>> Rankings()
    {
        var rankings = new List<List<LayerRank>>();
        foreach (var rank in Ranks)
        {
            if (rankings.Count == 0 || rank.Rank == 1) rankings.Add(new List<LayerRank>());
            rankings[^1].Add(rank);
        }
        return rankings;
    }
}
