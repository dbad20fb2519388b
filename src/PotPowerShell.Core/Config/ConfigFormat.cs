namespace PotPowerShell.Core.Config;

/// <summary>The two config syntaxes; chosen by file extension.</summary>
public enum ConfigFormat
{
    Json,
    Yaml,
}

public static class ConfigFormats
{
    /// <summary>.json -> Json, .yml/.yaml -> Yaml (case-insensitive); null for anything else.</summary>
    public static ConfigFormat? FromExtension(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".json" => ConfigFormat.Json,
        ".yml" or ".yaml" => ConfigFormat.Yaml,
        _ => null,
    };

    internal static PotException Unsupported(string path) => new(ConfigErrors.FormatUnsupported, PotErrorCategory.InvalidArgument,
        $"'{path}' has the extension '{Path.GetExtension(path)}'; config files must be .json (JSON with // and /* */ comments allowed) " +
        "or .yml/.yaml (YAML). Rename the file.", path);
}
