using PotPowerShell.Core.Evaluation;

namespace PotPowerShell.Infrastructure;

/// <summary>
/// The one place where cmdlets turn their engine parameters into an <see cref="EngineDefinition"/>: an engine file
/// (-EnginePath), a plain data folder (-DataPath), and (when configs arrive) a POT config's engine section.
/// </summary>
internal static class EngineResolver
{
    /// <param name="enginePath">An engine YAML file, already resolved to a file-system path.</param>
    /// <param name="dataPath">An npy folder or .npz (labels.npy gives accuracy@top1), already resolved.</param>
    public static EngineDefinition Resolve(string? enginePath, string? dataPath)
    {
        if (enginePath != null) return EngineDefinition.Load(enginePath);
        if (dataPath != null) return EngineDefinition.FromDataPath(dataPath);
        throw new ArgumentException("Give an engine file or a data path.");
    }
}
