using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>remove_spaces (Accuracy Checker's: drops ' ' from both texts) and ignore_case on the text metrics, worked by hand.</summary>
public class TextMetricOptionsTests
{
    [Theory]
    // exact match (character_recognition_accuracy)
    [InlineData("a b", "ab", true, false, false, 0.0)]
    [InlineData("a b", "ab", true, true, false, 1.0)]
    [InlineData(" ab ", "ab", true, true, false, 1.0)] // leading and trailing spaces too
    [InlineData("a\tb", "ab", true, true, false, 0.0)] // only the space character, as Accuracy Checker
    [InlineData("AB", "ab", true, false, false, 0.0)]
    [InlineData("AB", "ab", true, false, true, 1.0)]
    [InlineData("A b", "ab", true, true, true, 1.0)]
    // character level (character_level_accuracy): 1 - edit distance / longer length
    [InlineData("a bc", "abc", false, false, false, 0.75)] // one insertion in 4
    [InlineData("a bc", "abc", false, true, false, 1.0)]
    [InlineData("Ab c", "abc", false, true, false, 2.0 / 3)] // "Abc" against "abc": one substitution in 3
    [InlineData("Ab c", "abc", false, true, true, 1.0)]
    [InlineData("   ", "", false, true, false, 1.0)] // both empty once the spaces are gone
    public void Text_metrics_compare_normalized_texts(string predicted, string label, bool exact, bool removeSpaces, bool ignoreCase, double expected) =>
        Assert.Equal(expected, TextRunner.Score(TextRunner.Normalize(predicted, removeSpaces, ignoreCase), TextRunner.Normalize(label, removeSpaces, ignoreCase), exact), 12);

    [Theory]
    [InlineData("abc", "abc", 1.0)]
    [InlineData("abd", "abc", 0.5)] // one substitution
    [InlineData("ab", "abc", 0.5)] // one deletion
    [InlineData("xyz", "abc", 0.25)] // three substitutions
    [InlineData("", "", 1.0)]
    [InlineData("\U0001D49Cb", "ab", 0.5)] // a character outside the BMP (two UTF-16 units) is one code point
    public void Exact_match_signal_is_one_over_one_plus_the_edit_distance(string predicted, string label, double expected) =>
        Assert.Equal(expected, TextRunner.ExactMatchSignal(predicted, label), 12);

    [Fact]
    public void Exact_match_signal_gains_most_from_the_edit_that_makes_a_line_right()
    {
        double lastEdit = TextRunner.ExactMatchSignal("abc", "abc") - TextRunner.ExactMatchSignal("abd", "abc");
        double oneOfThree = TextRunner.ExactMatchSignal("axy", "abc") - TextRunner.ExactMatchSignal("wxy", "abc");
        Assert.True(lastEdit > 4 * oneOfThree, $"{lastEdit} against {oneOfThree}");
        // The character-level score weighs both the same.
        Assert.Equal(TextRunner.CharacterLevelAccuracy("abc", "abc") - TextRunner.CharacterLevelAccuracy("abd", "abc"),
            TextRunner.CharacterLevelAccuracy("axy", "abc") - TextRunner.CharacterLevelAccuracy("wxy", "abc"), 12);
    }

    [Fact]
    public void The_engine_reads_remove_spaces_and_ignore_case_on_text_metrics_only()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("img"));
        File.WriteAllText(tmp.File("chars.txt"), "-\na\nb\n");
        ConfigMap Tree(string type, string option) => EngineTree.Map(0,
            ("adapter", EngineTree.Map(0, ("type", ConfigScalar.From("ctc_greedy")), ("dictionary", ConfigScalar.From("chars.txt")), ("blank_index", ConfigScalar.From(0L)))),
            ("metrics", EngineTree.List(new[] { EngineTree.Map(0, ("type", ConfigScalar.From(type)), (option, ConfigScalar.From(true))) })),
            ("datasets", EngineTree.List(new[] { EngineTree.Map(0, ("data_source", ConfigScalar.From("img")), ("labels", ConfigScalar.From("chars.txt"))) })));
        var engine = EngineDefinition.FromTree(Tree("character_recognition_accuracy", "remove_spaces"), "engine", tmp.Path);
        Assert.True(engine.Metrics[0].RemoveSpaces);
        Assert.False(engine.Metrics[0].IgnoreCase);
        engine = EngineDefinition.FromTree(Tree("character_level_accuracy", "ignore_case"), "engine", tmp.Path);
        Assert.True(engine.Metrics[0].IgnoreCase);
        var e = Assert.Throws<PotException>(() => EngineDefinition.FromTree(Tree("accuracy", "remove_spaces"), "engine", tmp.Path));
        Assert.Contains("remove_spaces", string.Join("\n", (string[])e.Data["Problems"]!));
    }
}
