namespace PotPowerShell.Core;

/// <summary>
/// Paths with every symbolic link resolved (what realpath does), for containment checks that a link or a
/// '../name' sharing a prefix with the folder cannot get around.
/// </summary>
public static class CanonicalPath
{
    /// <summary>Links followed while resolving one path before it counts as a loop (Linux's limit).</summary>
    private const int MaxLinks = 40;

    /// <summary>How the file system compares names: ignoring case on Windows.</summary>
    public static readonly StringComparison Comparison = OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary><see cref="Comparison"/> as a comparer, for sets of paths.</summary>
    public static readonly StringComparer Comparer = OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;

    /// <summary>True when both name the same file or folder once made full (a trailing separator does not count); links are not followed.</summary>
    public static bool Same(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)), Path.TrimEndingDirectorySeparator(Path.GetFullPath(b)), Comparison);

    /// <summary>The full path with each existing component that is a symbolic link replaced by its target.</summary>
    /// <exception cref="IOException">The links form a loop or a chain longer than 40.</exception>
    public static string Resolve(string path)
    {
        string full = Path.GetFullPath(path);
        for (int links = 0; ; links++)
        {
            string? next = ResolveFirstLink(full);
            if (next == null) return full;
            if (links == MaxLinks) throw new IOException($"Resolving '{path}' follows more than {MaxLinks} symbolic links (a loop?).");
            full = next;
        }
    }

    /// <summary>True when <paramref name="path"/>, resolved, is inside <paramref name="folder"/>, resolved (not the folder itself).</summary>
    public static bool IsInside(string folder, string path)
    {
        string root = Resolve(folder);
        if (!Path.EndsInDirectorySeparator(root)) root += Path.DirectorySeparatorChar;
        return Resolve(path).StartsWith(root, Comparison);
    }

    // The path with its first link component replaced by the link's target, or null when no component is a link.
    private static string? ResolveFirstLink(string full)
    {
        string root = Path.GetPathRoot(full)!;
        string[] parts = full[root.Length..].Split(new[] { Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar }, StringSplitOptions.RemoveEmptyEntries);
        string current = root;
        for (int i = 0; i < parts.Length; i++)
        {
            string next = Path.Combine(current, parts[i]);
            string? target = new FileInfo(next).LinkTarget;
            if (target != null)
                return Path.GetFullPath(Path.Combine(Path.Combine(current, target), string.Join(Path.DirectorySeparatorChar, parts[(i + 1)..])));
            current = next;
        }
        return null;
    }
}
