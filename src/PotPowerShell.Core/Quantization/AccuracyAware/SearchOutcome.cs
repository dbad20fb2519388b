using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// What the revert search (<see cref="GreedySearch"/>, <see cref="ConfirmedSearch"/>) and the <see cref="BackwardPass"/>
/// after it end with: the model, every iteration recorded, the layers picked for reverting with their scores, the
/// rankings made, and why the search stopped. The run's result is built from it.
/// </summary>
internal sealed record SearchOutcome(ModelCandidate Model)
{
    /// <summary>The iterations of the search, then of the backward pass, numbered from 1.</summary>
    public IReadOnlyList<AccuracyAwareIteration> Iterations { get; init; } = Array.Empty<AccuracyAwareIteration>();

    /// <summary>Per layer, how it scored when it was last picked for reverting.</summary>
    public IReadOnlyDictionary<string, RevertedLayer> Picks { get; init; } = new Dictionary<string, RevertedLayer>(StringComparer.Ordinal);

    /// <summary>Per layer, its score in the latest ranking (for a model picked up from a ranking evaluation).</summary>
    public IReadOnlyDictionary<string, LayerRank> Scores { get; init; } = new Dictionary<string, LayerRank>(StringComparer.Ordinal);

    public int Rankings { get; init; }

    /// <summary>Top-ranked reverts whose full-set drop was measured, and how many of them lowered it ("rank precision").</summary>
    public int RankTrials { get; init; }
    public int RankHits { get; init; }

    /// <summary>Why the search stopped short of the target (null: the target was met, or there was no search).</summary>
    public string? Stop { get; init; }

    /// <summary>True when <see cref="Stop"/> is a used-up budget (MaxEvaluations, TimeLimit): the run ends there.</summary>
    public bool BudgetExhausted { get; init; }

    /// <summary>Ended by a used-up budget: <paramref name="e"/>'s reason is the stop.</summary>
    public SearchOutcome Exhausted(BudgetExhaustedException e) => this with { Stop = e.Message, BudgetExhausted = true };
}
