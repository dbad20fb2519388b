namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// Keeps the best model evaluated on the full set (POT and NNCF return the last one). A model that meets the target
/// beats one that does not; among those that meet it, fewer reverted layers win, then fewer of them in float (the others
/// run in their dynamic form), then the smaller excess; among those that do not, the smaller excess over the limit wins,
/// then fewer reverted layers. Ties keep the earlier model, so the choice is deterministic.
/// </summary>
internal sealed class BestModelTracker(MetricCriteria criteria)
{
    public ModelCandidate? Candidate { get; private set; }
    public IReadOnlyDictionary<string, double>? Values { get; private set; }
    public bool Met { get; private set; }

    public void Consider(ModelCandidate candidate, IReadOnlyDictionary<string, double> values)
    {
        bool met = criteria.AllMet(values);
        if (Candidate == null || IsBetter(met, candidate.Reverted.Count, candidate.FloatCount, criteria.WorstExcess(values)))
        {
            Candidate = candidate;
            Values = values;
            Met = met;
        }
    }

    private bool IsBetter(bool met, int reverted, int floatCount, double excess)
    {
        double bestExcess = criteria.WorstExcess(Values!);
        int bestReverted = Candidate!.Reverted.Count, bestFloat = Candidate.FloatCount;
        if (met != Met) return met;
        if (met) return (reverted, floatCount).CompareTo((bestReverted, bestFloat)) is var order && (order < 0 || (order == 0 && excess < bestExcess));
        return excess < bestExcess || (excess == bestExcess && reverted < bestReverted);
    }
}
