namespace PotPowerShell.Core.Config;

/// <summary>Did-you-mean suggestions by Levenshtein distance.</summary>
internal static class EditDistance
{
    public static int Between(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }

    /// <summary>
    /// The closest candidate when it is close enough to be a typo (distance at most a third of the word, at least 2;
    /// a case-only difference always counts); null otherwise. Ties go to the first candidate.
    /// </summary>
    public static string? Suggest(string word, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            int d = Between(word, c);
            if (d < bestDistance) { best = c; bestDistance = d; }
        }
        int limit = Math.Max(2, word.Length / 3);
        return best is not null && bestDistance <= limit ? best : null;
    }

    /// <summary>" Did you mean 'x'?" or "".</summary>
    internal static string Hint(string word, IEnumerable<string> candidates)
    {
        string? s = Suggest(word, candidates);
        return s is null ? "" : $" Did you mean '{s}'?";
    }
}
