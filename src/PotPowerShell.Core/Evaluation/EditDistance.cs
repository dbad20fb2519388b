using System.Text;

namespace PotPowerShell.Core.Evaluation;

/// <summary>Levenshtein distance (insert, delete, substitute, each cost 1).</summary>
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

    /// <summary>Distance between two texts counted in Unicode code points (a character outside the BMP counts once).</summary>
    public static int Text(string a, string b) => Compute<int>(CodePoints(a), CodePoints(b));

    public static int[] CodePoints(string s)
    {
        var result = new List<int>(s.Length);
        foreach (Rune r in s.EnumerateRunes()) result.Add(r.Value);
        return result.ToArray();
    }
}
