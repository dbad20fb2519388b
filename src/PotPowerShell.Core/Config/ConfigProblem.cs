namespace PotPowerShell.Core.Config;

/// <summary>
/// One thing wrong in a config file: where (<see cref="KeyPath"/>, e.g. <c>compression.algorithms[0].params.maximal_drop</c>),
/// the offending value as written (null when the key is missing), and a message that says what to do.
/// </summary>
/// <param name="KeyPath">Dotted key path with [index] for list items; empty for the whole document.</param>
/// <param name="Value">The bad value as text, or null when a required key is missing.</param>
/// <param name="Message">What is wrong and how to fix it.</param>
/// <param name="Line">1-based line in the file, 0 when unknown.</param>
public sealed record ConfigProblem(string KeyPath, string? Value, string Message, int Line = 0)
{
    /// <summary>What an empty key path is called in messages: the whole file.</summary>
    public string Whole { get; init; } = "(document)";

    public override string ToString()
    {
        string where = KeyPath.Length == 0 ? Whole : KeyPath;
        string value = Value is null ? "" : $" = {Value}";
        string line = Line > 0 ? $" (line {Line})" : "";
        return $"{where}{value}{line}: {Message}";
    }
}

/// <summary>Builds key paths the way messages and <see cref="ConfigProblem.KeyPath"/> show them.</summary>
public static class ConfigKeyPath
{
    public static string Child(string parent, string key) => parent.Length == 0 ? key : parent + "." + key;

    public static string Item(string parent, int index) => $"{parent}[{index}]";
}

/// <summary>Error ids and the ConfigInvalid exception that carries every problem of a file.</summary>
public static class ConfigErrors
{
    public const string Invalid = "ConfigInvalid";
    public const string NotFound = "ConfigNotFound";
    public const string SyntaxError = "ConfigSyntaxError";
    public const string FormatUnsupported = "ConfigFormatUnsupported";
    public const string AlgorithmMissing = "ConfigAlgorithmMissing";

    private const string ProblemsKey = "ConfigProblems";

    /// <summary>One PotException for all problems; its message lists them one per line (the first <see cref="TreeLimits.MaxListedProblems"/>), its Data holds every record.</summary>
    public static PotException CreateInvalid(string path, IReadOnlyList<ConfigProblem> problems)
    {
        string noun = problems.Count == 1 ? "problem" : "problems";
        string message = $"The config file '{path}' has {problems.Count} {noun}:" + Environment.NewLine +
                         TreeLimits.ListProblems(problems.Select(p => p.ToString()), problems.Count);
        var e = new PotException(Invalid, PotErrorCategory.InvalidData, message, path);
        AttachProblems(e, problems);
        return e;
    }

    /// <summary>Puts the problem records on an exception (configuration or engine file), for <see cref="GetConfigProblems"/>.</summary>
    internal static void AttachProblems(PotException e, IReadOnlyList<ConfigProblem> problems) => e.Data[ProblemsKey] = problems;

    /// <summary>The problems a ConfigInvalid exception carries (empty for any other exception).</summary>
    public static IReadOnlyList<ConfigProblem> GetConfigProblems(this PotException exception) =>
        exception.Data[ProblemsKey] as IReadOnlyList<ConfigProblem> ?? Array.Empty<ConfigProblem>();
}
