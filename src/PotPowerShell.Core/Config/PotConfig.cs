
namespace PotPowerShell.Core.Config;

/// <summary>
/// A validated POT configuration file (Import-PotConfig's output). Every key holds its effective value: POT's default
/// when the file leaves it out. Paths are absolute.
/// Equality compares what the config makes a run do (<see cref="Model"/>, <see cref="Engine"/>, <see cref="Compression"/>),
/// not where it was read from (<see cref="Path"/>) nor the <see cref="Warnings"/> reading it gave.
/// </summary>
public sealed record PotConfig
{
    /// <summary>The file it was read from (absolute).</summary>
    public required string Path { get; init; }
    public required ModelSection Model { get; init; }
    public required EngineSection Engine { get; init; }
    public required CompressionSection Compression { get; init; }
    /// <summary>Things that are accepted but deserve attention (e.g. model.weights, which ONNX models don't use).</summary>
    public ValueList<string> Warnings { get; init; } = ValueList<string>.Empty;

    /// <summary>The folder of <see cref="Path"/>: what relative paths in the file (and in an inline engine) are relative to.</summary>
    public string Directory => System.IO.Path.GetDirectoryName(Path)!;

    /// <summary>The algorithm entry with this name (case-insensitive), or null.</summary>
    public AlgorithmConfig? FindAlgorithm(string name) =>
        Compression.Algorithms.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// DefaultQuantization options: from the DefaultQuantization entry, or else from the AccuracyAwareQuantization
    /// entry (whose parameters include all of DefaultQuantization's). Throws ConfigAlgorithmMissing when there is neither.
    /// </summary>
    public DefaultQuantizationOptions ToDefaultQuantizationOptions()
    {
        var algorithm = FindAlgorithm(AlgorithmNames.Default) ?? FindAlgorithm(AlgorithmNames.AccuracyAware)
            ?? throw Missing("DefaultQuantization or AccuracyAwareQuantization");
        return OptionsMapping.ToDefault(algorithm.Params, Compression);
    }

    /// <summary>AccuracyAwareQuantization options from the AccuracyAwareQuantization entry; throws ConfigAlgorithmMissing without one.</summary>
    public AccuracyAwareOptions ToAccuracyAwareOptions()
    {
        var algorithm = FindAlgorithm(AlgorithmNames.AccuracyAware) ?? throw Missing("AccuracyAwareQuantization");
        var options = OptionsMapping.ToAccuracyAware((AccuracyAwareParams)algorithm.Params, Compression);
        // eval_requests_number: the workers that evaluate side by side.
        return Engine?.EvalRequestsNumber is int workers ? options with { EvaluationWorkers = workers } : options;
    }

    public bool Equals(PotConfig? other) =>
        other is not null && Model == other.Model && Engine == other.Engine && Compression == other.Compression;

    public override int GetHashCode() => HashCode.Combine(Model, Engine, Compression);

    public override string ToString() => $"{Model.ModelName} ({System.IO.Path.GetFileName(Path)})";

    private PotException Missing(string what) => new(ConfigErrors.AlgorithmMissing, PotErrorCategory.InvalidArgument,
        $"The config '{Path}' has no {what} entry in compression.algorithms. Add one, e.g. {{ \"name\": \"{what.Split(' ')[0]}\", \"params\": {{ }} }}.", Path);
}

/// <summary>POT's model section. <see cref="WeightsPath"/> is kept for round trips but ONNX models carry their weights.</summary>
public sealed record ModelSection(string ModelName, string ModelPath, string? WeightsPath = null)
{
    public override string ToString() => $"{ModelName}: {ModelPath}";
}

/// <summary>Which form the engine section has.</summary>
public enum EngineKind
{
    /// <summary>engine.config: a path to an engine file.</summary>
    File,
    /// <summary>engine.type simplified + data_source: unlabelled data, enough for DefaultQuantization only.</summary>
    Simplified,
    /// <summary>The engine written in the config itself (kept as a tree for the engine parser).</summary>
    Inline,
}

/// <summary>POT's engine section.</summary>
public sealed record EngineSection
{
    public required EngineKind Kind { get; init; }
    /// <summary>Absolute path of the engine file (Kind File).</summary>
    public string? ConfigPath { get; init; }
    /// <summary>Absolute path of the data folder or file, or a path with a file-name wildcard (Kind Simplified).</summary>
    public string? DataSource { get; init; }
    /// <summary>Kind Simplified, images: POT's image loader's layout (NCHW or NHWC); null = from the model input.</summary>
    public string? Layout { get; init; }
    /// <summary>Kind Simplified, images: POT's image loader's central_fraction (each side's central share kept before the resize); null = all.</summary>
    public double? CentralFraction { get; init; }
    /// <summary>
    /// The inline engine (Kind Inline): the engine section without POT's own keys (type, stat_requests_number,
    /// eval_requests_number), unvalidated. Relative paths in it are relative to <see cref="PotConfig.Directory"/>.
    /// </summary>
    public ConfigMap? Inline { get; init; }
    /// <summary>Where <see cref="Inline"/> sits in the file, for the engine parser's messages.</summary>
    public string InlineKeyPath { get; init; } = "engine";
    /// <summary>POT's stat_requests_number (parallel inference requests while collecting statistics); null = automatic.</summary>
    public int? StatRequestsNumber { get; init; }
    /// <summary>POT's eval_requests_number (parallel inference requests while evaluating); null = automatic.</summary>
    public int? EvalRequestsNumber { get; init; }

    public override string ToString() => Kind switch
    {
        EngineKind.File => $"File: {ConfigPath}",
        EngineKind.Simplified => $"Simplified: {DataSource}",
        _ => $"Inline: {string.Join(", ", Inline?.Keys ?? Enumerable.Empty<string>())}",
    };
}

/// <summary>POT's compression section.</summary>
public sealed record CompressionSection
{
    public TargetDevice TargetDevice { get; init; } = TargetDevice.Any;
    /// <summary>"transformer" or null.</summary>
    public string? ModelType { get; init; }
    /// <summary>POT's memory-saving statistics mode; PotPowerShell always streams statistics, so this changes nothing.</summary>
    public bool InplaceStatistics { get; init; } = true;
    /// <summary>Save the intermediate models an algorithm produces.</summary>
    public bool DumpIntermediateModel { get; init; }
    public ValueList<AlgorithmConfig> Algorithms { get; init; } = ValueList<AlgorithmConfig>.Empty;

    public override string ToString() => $"{TargetDevice}: {Algorithms}";
}

/// <summary>One entry of compression.algorithms. <see cref="Params"/> is <see cref="AccuracyAwareParams"/> for AccuracyAwareQuantization.</summary>
public sealed record AlgorithmConfig(string Name, DefaultQuantizationParams Params)
{
    public override string ToString() => Params is AccuracyAwareParams a
        ? $"{Name} (preset {Params.Preset}, maximal_drop {a.MaximalDrop} {a.DropType})"
        : $"{Name} (preset {Params.Preset})";
}

/// <summary>The algorithm names PotPowerShell runs.</summary>
public static class AlgorithmNames
{
    public const string Default = "DefaultQuantization";
    public const string AccuracyAware = "AccuracyAwareQuantization";
}
