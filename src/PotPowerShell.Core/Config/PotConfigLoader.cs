using System.Text;

namespace PotPowerShell.Core.Config;

/// <summary>
/// Reads POT configuration files (.json with comments and trailing commas, or .yml/.yaml) into a <see cref="PotConfig"/>.
/// Reading goes in two steps: text -> neutral tree (syntax errors: ConfigSyntaxError), tree -> typed config (every
/// problem collected, then one ConfigInvalid carrying them all; see <see cref="ConfigErrors.GetConfigProblems"/>).
/// </summary>
public static class PotConfigLoader
{
    /// <summary>Reads and validates a config file.</summary>
    /// <param name="given">A model and engine given apart from the file (absolute paths), which replace its sections.</param>
    /// <exception cref="PotException">ConfigNotFound, ConfigFormatUnsupported, ConfigSyntaxError or ConfigInvalid.</exception>
    public static PotConfig Load(string path, GivenSections? given = null)
    {
        string full = Path.GetFullPath(path);
        var format = ConfigFormats.FromExtension(full) ?? throw ConfigFormats.Unsupported(full);
        return Parse(ReadText(full), format, full, given);
    }

    /// <summary>Validates config text as if it were the file <paramref name="path"/> (relative paths resolve against its folder).</summary>
    public static PotConfig Parse(string text, ConfigFormat format, string path, GivenSections? given = null)
    {
        string full = Path.GetFullPath(path);
        var context = new BindContext(full);
        var root = ConfigTree.Parse(text, format, full, context.Problems);
        var config = PotConfigBinder.Bind(root, context, given);
        if (context.Problems.Count > 0 || config is null)
            // In file order; problems without a line (a missing section) last.
            throw ConfigErrors.CreateInvalid(full, context.Problems.OrderBy(p => p.Line == 0 ? int.MaxValue : p.Line).ToList());
        return config with { Warnings = context.Warnings.ToValueList() };
    }

    internal static string ReadText(string full)
    {
        if (!File.Exists(full))
        {
            string why = Directory.Exists(full) ? "is a folder, not a file" : "does not exist";
            throw new PotException(ConfigErrors.NotFound, PotErrorCategory.ObjectNotFound,
                $"The config file '{full}' {why}. Check the path.", full);
        }
        // UTF-8 (with or without BOM); a UTF-16 BOM is honoured too.
        return File.ReadAllText(full, new UTF8Encoding(false));
    }
}

/// <summary>
/// The model (an .onnx file) and engine (an engine file, or a folder of calibration data) of a configuration given apart
/// from its file, which then needs only its compression section: Open Model Zoo's quantization.yml templates, as its
/// quantizer completes them. Either may be null (the file's section is read).
/// </summary>
public sealed record GivenSections(string? ModelPath, string? EnginePath);

/// <summary>
/// The one loader of YAML and JSON documents: text -> neutral tree (<see cref="ConfigNode"/>), for POT config files and
/// engine files alike. The same syntax rules, <see cref="TreeLimits"/> and wording for both; a
/// <see cref="DocumentKind"/> names the errors. Syntax errors throw; duplicate keys are collected as problems.
/// </summary>
public static class ConfigTree
{
    /// <summary>Reads a config file's tree: syntax errors as ConfigSyntaxError, duplicate keys as ConfigInvalid.</summary>
    public static ConfigNode Read(string path)
    {
        string full = Path.GetFullPath(path);
        var format = ConfigFormats.FromExtension(full) ?? throw ConfigFormats.Unsupported(full);
        var problems = new List<ConfigProblem>();
        var root = Parse(PotConfigLoader.ReadText(full), format, full, problems);
        if (problems.Count > 0) throw ConfigErrors.CreateInvalid(full, problems);
        return root;
    }

    internal static ConfigNode Parse(string text, ConfigFormat format, string path, List<ConfigProblem> problems, DocumentKind? kind = null) =>
        format == ConfigFormat.Json
            ? JsonConfigReader.Read(text, path, problems, kind ?? DocumentKind.Config)
            : YamlConfigReader.Read(text, path, problems, kind ?? DocumentKind.Config);
}
