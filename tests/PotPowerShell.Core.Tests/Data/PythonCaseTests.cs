using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Tests.Data;

/// <summary>Python's str.lower() where it differs from .NET's invariant lower case (its definition in CPython: full case mapping, Final_Sigma).</summary>
public class PythonCaseTests
{
    [Theory]
    [InlineData("ABC Déjà", "abc déjà")]
    // İ's lower case is i and a combining dot above (SpecialCasing); .NET's invariant mapping leaves İ.
    [InlineData("İ", "i\u0307")]
    // A capital sigma ends a word when a cased letter comes before it and none after it.
    [InlineData("ΟΔΟΣ", "οδος")]
    [InlineData("ΣΑ", "σα")]
    [InlineData("Σ", "σ")]
    // Case-ignorable characters (an apostrophe, a full stop, a combining accent) are looked through.
    [InlineData("ΑΣ'Α", "ασ'α")]
    [InlineData("ΑΣ.", "ας.")]
    [InlineData("Α\u0301Σ ΑΣ", "α\u0301ς ας")]
    public void Lower_is_pythons(string text, string expected) => Assert.Equal(expected, PythonCase.Lower(text));

    [Fact]
    public void Lower_case_tokenization_strips_the_dot_of_a_capital_dotted_i()
    {
        // Python lower-cases İstanbul to i + U+0307 + stanbul, and stripping accents leaves istanbul.
        var tokenizer = new WordPieceTokenizer(new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "istanbul", "οδος" }, lowerCase: true);
        Assert.Equal(new[] { "istanbul", "οδος" }, tokenizer.Tokenize("İstanbul ΟΔΟΣ"));
    }
}
