namespace PotPowerShell.Core.Config;

/// <summary>
/// What a YAML or JSON document is to its reader, for the reader's errors: a POT config file or an engine file. Both
/// go through the same loader (<see cref="ConfigTree"/>), limits (<see cref="TreeLimits"/>) and wording; only the noun
/// and the error ids differ (ConfigSyntaxError / ConfigTooDeep ... for configs, EngineInvalid / EngineTooDeep ... for engines).
/// </summary>
public sealed record DocumentKind(string Noun, string ErrorPrefix, string SyntaxErrorId)
{
    public static readonly DocumentKind Config = new("config file", "Config", ConfigErrors.SyntaxError);

    public static readonly DocumentKind Engine = new("engine", "Engine", "EngineInvalid");

    /// <summary>The error of a document that is not valid YAML or JSON, with the line when known.</summary>
    internal PotException SyntaxError(string path, ConfigFormat format, string detail, int line, Exception? inner = null) =>
        new(SyntaxErrorId, PotErrorCategory.InvalidData,
            $"The {Noun} '{path}' is not valid {(format == ConfigFormat.Yaml ? "YAML" : "JSON")}" +
            (line > 0 ? $" (line {line})" : "") + $": {detail.TrimEnd('.')}. Fix the syntax and try again.", path, inner);
}
