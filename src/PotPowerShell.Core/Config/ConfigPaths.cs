using System.Text;
using System.Text.RegularExpressions;

namespace PotPowerShell.Core.Config;

/// <summary>
/// How path values in configs are interpreted: environment variables expand ($VAR, ${VAR}, %VAR%; $$ is a literal $),
/// a leading ~ is the home folder, and relative paths resolve against the config file's folder. Shared with the
/// engine parser so that paths behave the same everywhere.
/// </summary>
public static class ConfigPaths
{
    private static readonly Regex Variable = new(
        @"\$\$|\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)\}|\$(?<name>[A-Za-z_][A-Za-z0-9_]*)|%(?<name>[A-Za-z_][A-Za-z0-9_()]*)%",
        RegexOptions.CultureInvariant);

    /// <summary>Expands environment variables; <paramref name="missing"/> receives every variable that is not set.</summary>
    public static string ExpandVariables(string value, ICollection<string>? missing = null) =>
        Variable.Replace(value, m =>
        {
            if (m.Value == "$$") return "$";
            string name = m.Groups["name"].Value;
            string? v = Environment.GetEnvironmentVariable(name);
            if (v is null) missing?.Add(name);
            return v ?? m.Value;
        });

    /// <summary>Expands variables and ~, then makes the path absolute against <paramref name="baseDirectory"/>.</summary>
    /// <exception cref="ArgumentException">A leading ~ for an account without a home folder.</exception>
    public static string Resolve(string value, string baseDirectory, ICollection<string>? missing = null) =>
        Resolve(value, baseDirectory, missing, () => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    /// <param name="home">The home folder; "" for an account without one (a service account, a scheduled task's).</param>
    internal static string Resolve(string value, string baseDirectory, ICollection<string>? missing, Func<string> home)
    {
        string expanded = ExpandVariables(value, missing);
        if (expanded == "~" || expanded.StartsWith("~/", StringComparison.Ordinal) || expanded.StartsWith("~\\", StringComparison.Ordinal))
        {
            // Without a home folder '~/data' would become '/data', a folder at the root: never that path silently.
            string folder = home();
            if (string.IsNullOrEmpty(folder))
                throw new ArgumentException("a leading ~ stands for the home folder, and this account has none; write the path out");
            expanded = folder + expanded[1..];
        }
        return Path.GetFullPath(expanded, baseDirectory);
    }

    /// <summary>True when the text holds a wildcard (POT's simplified engine accepts file-name templates).</summary>
    public static bool HasWildcards(string path) => path.IndexOfAny(new[] { '*', '?', '[' }) >= 0;

    /// <summary>
    /// How Export-PotConfig writes a path: relative (with /) when it lies inside <paramref name="configDirectory"/>,
    /// so a folder with its config, model and data moves as a whole; absolute otherwise.
    /// </summary>
    public static string ForExport(string absolutePath, string configDirectory)
    {
        string relative = Path.GetRelativePath(configDirectory, absolutePath);
        bool inside = !Path.IsPathRooted(relative) && relative != ".." &&
                      !relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal) &&
                      !relative.StartsWith("../", StringComparison.Ordinal);
        string result = inside ? relative.Replace('\\', '/') : absolutePath;
        // A literal $ or % in a path must survive our own variable expansion when read back.
        return EscapeVariables(result);
    }

    private static string EscapeVariables(string path)
    {
        if (!Variable.IsMatch(path)) return path;
        var sb = new StringBuilder();
        foreach (char c in path) sb.Append(c == '$' ? "$$" : c.ToString());
        return sb.ToString();
    }
}
