using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;

namespace PotPowerShell.Core.Requests;

/// <summary>
/// Where the evaluation engine of a measurement or comparison comes from: an engine file, a plain data path, or a
/// POT configuration's engine section. Resolved once per request by <see cref="Resolve"/> (through
/// <see cref="EngineResolver"/>); its errors name the file (EngineNotFound, DataPathNotFound, EngineInvalid ...).
/// </summary>
public sealed record EngineSource
{
    /// <summary>An engine YAML (or JSON) file; wins over <see cref="DataPath"/>.</summary>
    public string? EnginePath { get; init; }

    /// <summary>A folder of .npy files or an .npz archive (labels.npy gives accuracy@top1).</summary>
    public string? DataPath { get; init; }

    /// <summary>A POT configuration whose engine section is the engine; used when neither path is given.</summary>
    public PotConfig? Config { get; init; }

    public static EngineSource FromPaths(string? enginePath, string? dataPath)
    {
        if (enginePath == null && dataPath == null) throw new ArgumentException("Give an engine file or a data path.");
        return new EngineSource { EnginePath = enginePath, DataPath = dataPath };
    }

    public static EngineSource FromConfig(PotConfig config) => new() { Config = config ?? throw new ArgumentNullException(nameof(config)) };

    /// <summary>The engine, read without the model: a simplified engine, or a data path the model decides, is fitted to a model by the pipeline that knows it (<see cref="EngineFit"/>).</summary>
    /// <param name="warnings">Hears the engine's warnings (keys read without effect and the like).</param>
    /// <param name="againstReference">A comparison: unlabelled data is scored by cosine similarity to the reference's outputs.</param>
    public EngineDefinition Resolve(IProgress<string>? warnings = null, bool againstReference = false)
    {
        var engine = EnginePath != null || DataPath != null
            ? EngineResolver.FromPaths(EnginePath, DataPath, againstReference)
            : EngineResolver.FromConfig(Config ?? throw new InvalidOperationException("An engine source needs a path or a configuration."));
        foreach (var warning in engine.Warnings) warnings?.Report(warning);
        return engine;
    }

    /// <summary>The same engine: equal paths, the same configuration object (a piped configuration is its own source).</summary>
    public bool SameAs(EngineSource other) =>
        EnginePath == other.EnginePath && DataPath == other.DataPath && ReferenceEquals(Config, other.Config);
}
