using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Tests.Runtime;

/// <summary>
/// The timing loop's early stop: rounds run until the sign test decides which model is fastest and the speed ratio's
/// interval is narrow.
/// </summary>
public sealed class InterleavedRoundsTests
{
    [Theory]
    // Two-sided binomial tails at 1/2, doubled: 2 * 2^-n for n of n, 2 * (1 + n) * 2^-n for n - 1 of n.
    [InlineData(10, 10, 2.0 / 1024)]
    [InlineData(11, 11, 2.0 / 2048)]
    [InlineData(0, 11, 2.0 / 2048)]
    [InlineData(13, 14, 2.0 * 15 / 16384)]
    [InlineData(3, 6, 1.0)]
    public void The_sign_test_p_value_is_the_doubled_binomial_tail(int wins, int rounds, double expected) =>
        Assert.Equal(expected, InterleavedRounds.SignTestP(wins, rounds), 12);

    /// <summary>Rounds of runs that return fixed times, so no clock is involved.</summary>
    private static int RoundsUntilDecided(Func<int, double> a, Func<int, double> b, int maxRounds = 101)
    {
        int ra = 0, rb = 0;
        var timings = InterleavedRounds.Time(new Func<double>[] { () => a(ra++), () => b(rb++) }, warmup: 0, minRounds: 5, maxRounds, TimeSpan.MaxValue,
            CancellationToken.None, untilDecided: true);
        Assert.Equal(timings[0].Count, timings[1].Count);
        return timings[0].Count;
    }

    [Fact]
    public void A_model_faster_in_every_round_is_decided_after_eleven_rounds()
    {
        // 2 * 2^-11 < 0.001 <= 2 * 2^-10.
        Assert.Equal(11, RoundsUntilDecided(_ => 2.0, _ => 1.0));
        Assert.Equal(11, RoundsUntilDecided(_ => 1.0, _ => 3.0));
    }

    [Fact]
    public void A_lost_round_costs_rounds_and_models_as_fast_as_each_other_run_to_the_limit()
    {
        // B wins every round but the third: 14 of 15 is the first such count below 0.001 (13 of 14: 2 * 15 / 2^14 = 0.0018).
        Assert.Equal(15, RoundsUntilDecided(_ => 2.0, r => r == 2 ? 3.0 : 1.0));
        // Each wins every other round: never decided.
        Assert.Equal(101, RoundsUntilDecided(r => r % 2 == 0 ? 1.0 : 2.0, r => r % 2 == 0 ? 2.0 : 1.0));
    }

    [Fact]
    public void A_clear_winner_whose_speed_ratio_still_spreads_runs_on()
    {
        // B wins every round, but by 2x in half of them and by 1.33x in the other half: the ratio's interval never narrows.
        Assert.Equal(101, RoundsUntilDecided(_ => 2.0, r => r % 2 == 0 ? 1.0 : 1.5));
        // Ratios of 2 and 1.9 (2 / 1.05) lie within 10 % of their median: decided after the sign test's 11 rounds.
        Assert.Equal(11, RoundsUntilDecided(_ => 2.0, r => r % 2 == 0 ? 1.0 : 1.05));
    }

    [Fact]
    public void Without_asking_every_round_up_to_the_limit_runs()
    {
        var timings = InterleavedRounds.Time(new Func<double>[] { () => 2.0, () => 1.0 }, warmup: 0, minRounds: 5, maxRounds: 40, TimeSpan.MaxValue, CancellationToken.None);
        Assert.Equal(40, timings[0].Count);
    }
}
