using PotPowerShell.Core.Config;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// Several layers reverted in one step of <see cref="ConfirmedSearch"/>, as many as a Signal ranking predicts the
/// target needs. A Signal score is the weighted mean per-item gain of the metric on items weighted to stand for the
/// whole set (<see cref="ItemSelection.HardestAndRandom"/>): an estimate of how much reverting that layer alone lowers
/// the full-set drop. Where the drops of separate layers add up (a continuous metric such as cosine similarity, whose
/// drop grows with the summed square of independent errors), the top layers whose scores cover the distance to the
/// limit are the layers one-at-a-time steps would revert, found with a full-set evaluation per group (two, mostly)
/// instead of one per layer and its confirmations. A layer's gain changes as others are reverted (MiniLM, bench/Bench-AccuracyAware.ps1: scored
/// 0.00034 and 0.00028 on the fully quantized model, its second and third layers each gained 0.00055 and 0.00044 on the
/// full set once the layers before them were float), so each kept group scales the next prediction by what the group
/// gained against its scores. A group that does not lower the drop is rolled back, and the search goes on one layer at
/// a time until the next ranking.
/// </summary>
internal sealed class GroupStep
{
    /// <summary>The gain a group achieved per unit of its scores; 1 until a group is kept.</summary>
    private double _scale = 1;

    /// <summary>False after a group was rolled back, until the next ranking.</summary>
    private bool _enabled = true;

    /// <summary>True once a group was kept on the current ranking: <see cref="_scale"/> was measured on it.</summary>
    public bool Calibrated { get; private set; }

    /// <summary>
    /// The layers of the next group. The shortest run from the top of <paramref name="ranking"/> whose scaled scores
    /// reach the distance from <paramref name="drop"/> to <paramref name="metric"/>'s limit is the prediction; the group
    /// is the first half of it (rounded up), and the whole of it once a kept group has measured the rate. Falling short
    /// costs one more full-set evaluation; each layer too many costs the backward pass a try per float layer, decided only
    /// late in the set, and tries again after each layer it quantizes again (bench/Bench-AccuracyAware.ps1: MiniLM's
    /// prediction of four layers met the target where three did, and the backward pass took 2.8 s instead of 0.6 s; the
    /// transformer case's eighteen, predicted from scores that added up to two thirds of what they gained together, took
    /// it 6.6 s to bring back to eleven). Null when there is no prediction (a score that is not a Signal gain above zero
    /// comes before the limit is reached), or the group would be one layer on an uncalibrated ranking: that is a
    /// confirmed step.
    /// </summary>
    public IReadOnlyList<LayerRank>? Next(IReadOnlyList<LayerRank> ranking, MetricCriterion metric, double drop)
    {
        if (!_enabled) return null;
        double need = drop - metric.MaxDrop;
        double sum = 0;
        for (int k = 0; k < ranking.Count; k++)
        {
            var rank = ranking[k];
            if (rank.Method != RankingMethod.Signal || !(rank.Score > 0)) return null;
            sum += rank.Score;
            if (_scale * sum < need) continue;
            int take = Calibrated ? k + 1 : (k + 2) / 2;
            return take >= (Calibrated ? 1 : 2) ? ranking.Take(take).ToList() : null;
        }
        return null;
    }

    /// <summary>The sum of the scores of <paramref name="group"/>.</summary>
    public static double Scores(IReadOnlyList<LayerRank> group) => group.Sum(r => r.Score);

    /// <summary>The gain predicted for <paramref name="group"/>: its scores at the rate of the last kept group.</summary>
    public double Predicted(IReadOnlyList<LayerRank> group) => _scale * Scores(group);

    /// <summary>A kept group lowered the drop by <paramref name="gained"/>: later groups are predicted at that rate.</summary>
    public void Kept(IReadOnlyList<LayerRank> group, double gained)
    {
        _scale = gained / Scores(group);
        Calibrated = true;
    }

    public void RolledBack() => _enabled = false;

    /// <summary>A new ranking: groups are tried again, at the rate measured so far.</summary>
    public void Ranked()
    {
        _enabled = true;
        Calibrated = false;
    }
}
