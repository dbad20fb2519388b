using PotPowerShell.Core.Evaluation;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>Adapters and metric formulas against hand-computed values.</summary>
public class MetricTests
{
    [Theory]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("", "abc", 3)]
    [InlineData("abc", "abc", 0)]
    [InlineData("flaw", "lawn", 2)]
    [InlineData("a\U0001F600", "a", 1)] // an emoji is one code point, two UTF-16 units
    public void Edit_distance(string a, string b, int expected) => Assert.Equal(expected, EditDistance.Text(a, b));

    [Fact]
    public void Ctc_greedy_merges_repeats_and_drops_blanks()
    {
        // blank = 0, a = 1, b = 2: 1 1 0 1 2 2 0 0 2 -> a, (blank), a, b, (blank), b -> "aabb".
        int[] path = { 1, 1, 0, 1, 2, 2, 0, 0, 2 };
        Assert.Equal("aabb", CtcGreedyAdapter.Decode(path, new[] { "-", "a", "b" }, blank: 0, classes: 3, "adapter"));
        // A dictionary without the blank's entry: classes after the blank shift down by one.
        Assert.Equal("aabb", CtcGreedyAdapter.Decode(path, new[] { "a", "b" }, blank: 0, classes: 3, "adapter"));
        // Blank last (index 2), a = 0, b = 1: 0 0 2 0 1 -> "aab".
        Assert.Equal("aab", CtcGreedyAdapter.Decode(new[] { 0, 0, 2, 0, 1 }, new[] { "a", "b" }, blank: 2, classes: 3, "adapter"));
        Assert.Equal("", CtcGreedyAdapter.Decode(new[] { 0, 0, 0 }, new[] { "-", "a", "b" }, blank: 0, classes: 3, "adapter"));
        var e = Assert.Throws<PotException>(() => CtcGreedyAdapter.Decode(path, new[] { "a" }, 0, 3, "adapter"));
        Assert.Equal("CtcDictionaryTooShort", e.ErrorId);
    }

    [Theory]
    [InlineData("abcd", "abed", 0.75)]
    [InlineData("", "", 1.0)]
    [InlineData("ab", "abcd", 0.5)]
    [InlineData("xyz", "", 0.0)]
    public void Character_level_accuracy_is_one_minus_normalised_edit_distance(string predicted, string label, double expected) =>
        Assert.Equal(expected, TextRunner.CharacterLevelAccuracy(predicted, label), 12);

    [Fact]
    public void Mse_psnr_and_cosine_by_hand()
    {
        float[] a = { 1, 2, 3 }, b = { 1, 2, 5 };
        Assert.Equal(4.0 / 3, TensorComparisonRunner.Mse(a, b), 12);
        Assert.Equal(10 * Math.Log10(255.0 * 255 / (4.0 / 3)), TensorComparisonRunner.Psnr(a, b, 255), 9);
        Assert.Equal(10 * Math.Log10(1 / (4.0 / 3)), TensorComparisonRunner.Psnr(a, b, 1), 9);
        Assert.Equal(100, TensorComparisonRunner.Psnr(a, a, 1), 9); // identical: capped at 100 dB
        Assert.Equal(20 / Math.Sqrt(14 * 30), TensorComparisonRunner.Cosine(a, b), 12);
        Assert.Equal(1, TensorComparisonRunner.Cosine(new float[3], new float[3]));
        Assert.Equal(0, TensorComparisonRunner.Cosine(a, new float[3]));
        Assert.Equal(-1, TensorComparisonRunner.Cosine(a, a.Select(x => -x).ToArray()), 12);
    }

    [Fact]
    public void Top_k_rank_breaks_ties_towards_the_lower_index()
    {
        float[] s = { 0.1f, 0.5f, 0.5f, 0.2f };
        Assert.Equal(1, ClassScores.ArgMax(s));
        Assert.Equal(0, ClassScores.Rank(s, 1));
        Assert.Equal(1, ClassScores.Rank(s, 2));
        Assert.Equal(2, ClassScores.Rank(s, 3));
        Assert.Equal(3, ClassScores.Rank(s, 0));
    }

    [Fact]
    public void Precision_recall_f1_macro_micro_weighted_by_hand()
    {
        // labels 0 0 1 1 2, predictions 0 1 1 1 0.
        // class 0: tp 1, fp 1, fn 1 -> P .5, R .5, F1 .5; class 1: tp 2, fp 1 -> P 2/3, R 1, F1 .8; class 2: tp 0, fn 1 -> 0, 0, 0.
        int[] labels = { 0, 0, 1, 1, 2 }, predicted = { 0, 1, 1, 1, 0 };
        double Score(MetricType t, AverageKind a)
        {
            var agg = new ConfusionAggregate(t, a);
            for (int i = 0; i < labels.Length; i++) agg.Add(labels[i], predicted[i]);
            return agg.Result();
        }
        Assert.Equal((0.5 + 2.0 / 3 + 0) / 3, Score(MetricType.Precision, AverageKind.Macro), 12);
        Assert.Equal((0.5 + 1 + 0) / 3, Score(MetricType.Recall, AverageKind.Macro), 12);
        Assert.Equal((0.5 + 0.8 + 0) / 3, Score(MetricType.F1, AverageKind.Macro), 12);
        Assert.Equal((2 * 0.5 + 2 * 0.8 + 1 * 0) / 5, Score(MetricType.F1, AverageKind.Weighted), 12);
        Assert.Equal(3.0 / 5, Score(MetricType.F1, AverageKind.Micro), 12); // single-label micro = accuracy
        Assert.Equal(3.0 / 5, Score(MetricType.Precision, AverageKind.Micro), 12);
    }
}
