namespace PotPowerShell.Core.Results;

/// <summary>
/// Inference latency of the timed runs (after warm-up). Percentiles are nearest-rank over the runs; per-item values
/// are each run's time divided by its item count, and the per-item mean is total time / total items.
/// </summary>
public sealed record LatencyStatistics(
    int Runs, int WarmupRuns, int BatchSize,
    double BatchMeanMs, double BatchP50Ms, double BatchP90Ms,
    double ItemMeanMs, double ItemP50Ms, double ItemP90Ms)
{
    public static LatencyStatistics? From(EvaluationResult result)
    {
        var runs = result.BatchMilliseconds;
        if (runs.Count == 0) return null;
        var perItem = runs.Select((ms, i) => ms / Math.Max(1, result.BatchItems[i])).ToArray();
        double total = runs.Sum();
        int items = result.BatchItems.Sum();
        return new LatencyStatistics(runs.Count, result.WarmupRuns, result.BatchSize,
            total / runs.Count, Percentile(runs, 0.5), Percentile(runs, 0.9),
            total / Math.Max(1, items), Percentile(perItem, 0.5), Percentile(perItem, 0.9));
    }

    public override string ToString() => string.Format(System.Globalization.CultureInfo.InvariantCulture,
        "{0:0.####} ms/item p50, {1:0.####} p90, {2:0.####} mean ({3} runs of up to {4} items)", ItemP50Ms, ItemP90Ms, ItemMeanMs, Runs, BatchSize);

    /// <summary>Nearest-rank percentile: the smallest value with at least <paramref name="q"/> of the values at or below it.</summary>
    public static double Percentile(IReadOnlyList<double> values, double q)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        int rank = (int)Math.Ceiling(q * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
