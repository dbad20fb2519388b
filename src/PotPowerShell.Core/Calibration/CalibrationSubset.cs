namespace PotPowerShell.Core.Calibration;

/// <summary>Which calibration items are used: POT's stat_subset_size, shuffle_data and seed.</summary>
public static class CalibrationSubset
{
    /// <summary>
    /// The first <paramref name="subsetSize"/> items, or (with <paramref name="shuffle"/>) a seeded random sample of
    /// that many. The indices are returned in ascending order, so the same inputs always stream in the same order.
    /// </summary>
    public static int[] Select(int count, int? subsetSize, bool shuffle, int seed)
    {
        if (subsetSize is <= 0)
            throw new PotException("StatSubsetSizeInvalid", PotErrorCategory.InvalidArgument,
                $"stat_subset_size must be a positive number of items, not {subsetSize}.", "stat_subset_size");
        int n = Math.Min(subsetSize ?? count, count);
        if (!shuffle || n == count) return Enumerable.Range(0, n).ToArray();
        // Partial Fisher-Yates with a seeded System.Random: the same seed gives the same sample on every run.
        var random = new Random(seed);
        var order = Enumerable.Range(0, count).ToArray();
        for (int i = 0; i < n; i++)
        {
            int j = random.Next(i, count);
            (order[i], order[j]) = (order[j], order[i]);
        }
        var chosen = order[..n];
        Array.Sort(chosen);
        return chosen;
    }
}
