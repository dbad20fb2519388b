using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// The whole models the layer-level estimate is checked against. Layer micro-benchmarks cannot see everything ORT
/// does across a whole graph (NCHWc chains of float convolutions, layout changes around float ops), so the final say
/// is a whole-model timing of a few nested candidates: the estimate, all INT8, all float, and the estimate reduced to
/// its most profitable INT8 layers (the best three quarters, half and quarter by estimated gain). The fastest wins, but at
/// equal speed the more accurate: see <see cref="Choose"/>.
/// MatMuls of two activations (attention's products) have no weight to time: they are INT8 in every candidate but all
/// float, so that a model none of whose weighted layers gains from INT8 can come out wholly float.
/// </summary>
public static class PrecisionCandidates
{
    /// <summary>
    /// Candidate INT8 sets (as per-layer flags) in preference order for ties: estimate, all INT8, the reduced
    /// estimates, all float. Forced layers keep their state in every candidate; duplicates are dropped.
    /// <c>ProductsInt8</c> says whether the model's <paramref name="products"/> MatMuls of two activations are INT8.
    /// </summary>
    public static IReadOnlyList<(string Name, bool[] Int8, bool ProductsInt8)> Of(IReadOnlyList<PrecisionLayer> layers, PrecisionDecision decision, int products = 0)
    {
        int n = layers.Count;
        bool Free(int i) => !layers[i].ForcedFloat && !layers[i].ForcedInt8;
        var estimate = decision.Int8.ToArray();
        var allInt8 = Enumerable.Range(0, n).Select(i => !layers[i].ForcedFloat).ToArray();
        var allFloat = Enumerable.Range(0, n).Select(i => layers[i].ForcedInt8).ToArray();
        // Estimated gain of each free INT8 layer of the estimate; ties by graph order.
        var ranked = Enumerable.Range(0, n).Where(i => Free(i) && estimate[i])
            .OrderByDescending(i => decision.FloatCostMs[i] - decision.Int8CostMs[i]).ThenBy(i => i).ToList();
        bool withProducts = products > 0;
        var result = new List<(string, bool[], bool)> { ("estimate", estimate, withProducts), ("all INT8", allInt8, withProducts) };
        foreach (int quarters in new[] { 3, 2, 1 })
        {
            int keep = (ranked.Count * quarters + 3) / 4;
            var reduced = Enumerable.Range(0, n).Select(i => !Free(i) && estimate[i]).ToArray();
            foreach (int i in ranked.Take(keep)) reduced[i] = true;
            result.Add(($"best {keep} of the estimate", reduced, withProducts));
        }
        result.Add(("all float", allFloat, false));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return result.Where(c => seen.Add(new string(c.Item2.Select(b => b ? '1' : '0').Append(c.Item3 ? '1' : '0').ToArray()))).ToList();
    }

    /// <summary>
    /// Medians this close are the same speed: a candidate whose median is at most this many times the fastest one's
    /// counts as fast. Between two runs of bench/Sweep-Architectures.ps1 that timed the candidates afresh (30 models),
    /// the same candidates' medians relative to each other moved by a median 3 % (its NOTES): a smaller gap is the
    /// machine's, not the model's.
    /// </summary>
    public const double EqualSpeed = 1.03;

    /// <summary>
    /// The candidate to keep: of those as fast as the fastest (<see cref="EqualSpeed"/>), the one with the fewest INT8
    /// layers, which is the most accurate, since the candidates are nested; then the faster; then the earlier.
    /// </summary>
    public static int Choose(IReadOnlyList<PrecisionCandidate> candidates)
    {
        double fastest = candidates.Min(c => c.Ms);
        int chosen = -1;
        for (int c = 0; c < candidates.Count; c++)
        {
            if (!(candidates[c].Ms <= fastest * EqualSpeed)) continue;
            if (chosen < 0 || candidates[c].Int8Layers < candidates[chosen].Int8Layers
                || candidates[c].Int8Layers == candidates[chosen].Int8Layers && candidates[c].Ms < candidates[chosen].Ms)
                chosen = c;
        }
        return chosen;
    }
}
