using System.Text;

namespace PotPowerShell.Core;

/// <summary>
/// Levenshtein distance (insert, delete, substitute, each cost 1), and the one "did you mean" rule every reader uses
/// (POT configurations, engine files, Accuracy Checker configurations, ignored scopes), so wording and thresholds are
/// the same everywhere. Text metrics use the same distance over Unicode code points.
/// </summary>
public static class EditDistance
{
    public static int Compute<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : IEquatable<T>
    {
        if (a.Length == 0) return b.Length;
        if (b.Length == 0) return a.Length;
        // Two rows of the dynamic programme are enough.
        Span<int> previous = b.Length < 256 ? stackalloc int[b.Length + 1] : new int[b.Length + 1];
        Span<int> current = b.Length < 256 ? stackalloc int[b.Length + 1] : new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) previous[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int substitute = previous[j - 1] + (a[i - 1].Equals(b[j - 1]) ? 0 : 1);
                current[j] = Math.Min(substitute, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }
            var swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.Length];
    }

    /// <summary>Distance between two strings, character by character (UTF-16 code units), case-sensitive.</summary>
    public static int Between(string a, string b) => Compute(a.AsSpan(), b.AsSpan());

    /// <summary>Distance between two texts counted in Unicode code points (a character outside the BMP counts once).</summary>
    public static int Text(string a, string b) => Compute<int>(CodePoints(a), CodePoints(b));

    public static int[] CodePoints(string s)
    {
        var result = new List<int>(s.Length);
        foreach (Rune r in s.EnumerateRunes()) result.Add(r.Value);
        return result.ToArray();
    }

    /// <summary>
    /// The closest candidate, ignoring case, when it is close enough to be a typo (distance at most a third of the
    /// word, at least 2; a case-only difference always counts); null otherwise. Ties go to the candidate first in
    /// ordinal order, so the suggestion does not depend on the order the candidates come in.
    /// </summary>
    public static string? Suggest(string word, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        string lower = word.ToLowerInvariant();
        foreach (var c in candidates)
        {
            int d = Between(lower, c.ToLowerInvariant());
            if (d < bestDistance || (d == bestDistance && string.CompareOrdinal(c, best) < 0)) { best = c; bestDistance = d; }
        }
        return best is not null && bestDistance <= Math.Max(2, word.Length / 3) ? best : null;
    }

    /// <summary>" Did you mean 'x'?" or "".</summary>
    public static string Hint(string word, IEnumerable<string> candidates)
    {
        string? s = Suggest(word, candidates);
        return s is null ? "" : $" Did you mean '{s}'?";
    }

    /// <summary>
    /// The one message for a key a section does not know, in POT configurations and engine files alike: where it
    /// stands (<paramref name="section"/>, the section's key path; empty for the top level), the did-you-mean when a
    /// known key is close, else the known keys in ordinal order.
    /// </summary>
    public static string UnknownKey(string key, string section, IEnumerable<string> known)
    {
        var keys = known.Distinct(StringComparer.Ordinal).OrderBy(k => k, StringComparer.Ordinal).ToList();
        string where = section.Length == 0 ? "at the top level" : $"in '{section}'";
        string hint = Hint(key, keys);
        return $"is not a known key {where}.{(hint.Length > 0 ? hint : $" Known keys: {string.Join(", ", keys)}.")}";
    }
}
