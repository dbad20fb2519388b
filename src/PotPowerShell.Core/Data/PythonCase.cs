using System.Globalization;
using System.Text;

namespace PotPowerShell.Core.Data;

/// <summary>
/// Python's str.lower(), which the tokenizers and metrics whose results we match call: each character's Unicode lower
/// case, as .NET's invariant mapping gives it, except where Python's differs: U+0130 (İ) becomes i and a combining dot
/// above (.NET's invariant casing leaves it), and a capital sigma becomes the final sigma ς where it ends a word (a cased
/// letter before it, none after it, case-ignorable characters between left out; Unicode's Final_Sigma, as CPython
/// applies it).
/// </summary>
public static class PythonCase
{
    public static string Lower(string text)
    {
        var lower = new StringBuilder(text.Length);
        var runes = text.EnumerateRunes().ToArray();
        for (int i = 0; i < runes.Length; i++)
        {
            var rune = runes[i];
            if (rune.Value == 0x130) lower.Append("i\u0307");
            else if (rune.Value == 0x3A3) lower.Append(FinalSigma(runes, i) ? 'ς' : 'σ');
            else lower.Append(Rune.ToLowerInvariant(rune).ToString());
        }
        return lower.ToString();
    }

    private static bool FinalSigma(Rune[] runes, int at)
    {
        int before = at - 1;
        while (before >= 0 && CaseIgnorable(runes[before])) before--;
        if (before < 0 || !Cased(runes[before])) return false;
        int after = at + 1;
        while (after < runes.Length && CaseIgnorable(runes[after])) after++;
        return after == runes.Length || !Cased(runes[after]);
    }

    /// <summary>
    /// Unicode's Cased: upper, lower or title case letters, other characters with a case mapping (Ⓐ, Ⅰ), and the squared
    /// and negative squared capital letters (🄰, 🅐, 🅰), which have none.
    /// </summary>
    private static bool Cased(Rune c) =>
        Rune.GetUnicodeCategory(c) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
        || Rune.ToLowerInvariant(c) != c || Rune.ToUpperInvariant(c) != c || c.Value is >= 0x1F130 and <= 0x1F149 or >= 0x1F150 and <= 0x1F169 or >= 0x1F170 and <= 0x1F189;

    /// <summary>Unicode's Case_Ignorable: marks, format characters, modifier letters and symbols, and the word-internal punctuation (' . : · ’ ...).</summary>
    private static bool CaseIgnorable(Rune c) =>
        Rune.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
            or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol
        || c.Value is '\'' or '.' or ':' or 0xB7 or 0x387 or 0x55F or 0x5F4 or 0x2018 or 0x2019 or 0x2024 or 0x2027 or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A;
}
