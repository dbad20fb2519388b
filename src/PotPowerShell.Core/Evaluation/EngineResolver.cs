using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// The one place where the cmdlets (Invoke-DefaultQuantization, Measure-PotModel, Invoke-AccuracyAwareQuantization)
/// turn what the user gave into an <see cref="EngineDefinition"/>: an engine file, a plain data path, or the engine
/// section of a POT configuration (an engine file, the engine written inline, or POT's simplified engine).
/// </summary>
public static class EngineResolver
{
    /// <summary>
    /// An engine YAML file (wins when both are given) or a plain data path (npy folder or .npz; labels give
    /// accuracy@top1, or, <paramref name="againstReference"/>, no labels cosine similarity to the reference's outputs).
    /// </summary>
    public static EngineDefinition FromPaths(string? enginePath, string? dataPath, bool againstReference = false)
    {
        if (enginePath != null) return EngineDefinition.Load(enginePath);
        if (dataPath != null) return EngineDefinition.FromDataPath(dataPath, againstReference);
        throw new ArgumentException("Give an engine file or a data path.");
    }

    /// <summary>
    /// The engine a POT configuration describes: engine.config (a file), the engine written inline, or
    /// type: simplified with data_source (a folder, an .npz/.npy file, or a file-name pattern, see <see cref="Simplified"/>).
    /// With <paramref name="annotationFree"/> its metrics may compare with annotations its data lacks (EngineDefinition.AnnotationFree).
    /// </summary>
    public static EngineDefinition FromConfig(PotConfig config, bool annotationFree = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        var engine = config.Engine;
        return engine.Kind switch
        {
            EngineKind.File => EngineDefinition.Load(engine.ConfigPath!, annotationFree),
            EngineKind.Inline => EngineDefinition.FromTree(engine.Inline!, engine.InlineKeyPath, config.Directory, annotationFree),
            _ => Simplified(engine.DataSource!, "engine.data_source", config.Directory, engine.Layout, engine.CentralFraction),
        };
    }

    /// <summary>
    /// POT's simplified engine. <paramref name="dataSource"/> is a folder (of .npy files, one per model input, or of
    /// images), an .npz or .npy file, or a pattern in the file name (* and ?):
    /// <list type="bullet">
    /// <item>matching .npy files: each holds one model input's items, named after the input (as in a folder);</item>
    /// <item>one matching .npz (or .npy) file: that file;</item>
    /// <item>only images ('*.png', 'calib_*.jpg'): the matching images, in name order (POT's glob).</item>
    /// </list>
    /// Anything else (no match, a mixture of kinds) is refused with EngineDataPatternInvalid.
    /// </summary>
    /// <param name="layout">POT's image loader's layout (NCHW or NHWC), null = from the model input; images only.</param>
    /// <param name="centralFraction">POT's image loader's central_fraction, null = none; images only.</param>
    public static EngineDefinition Simplified(string dataSource, string keyPath = "engine.data_source", string? baseFolder = null,
        string? layout = null, double? centralFraction = null)
    {
        string baseDir = Path.GetFullPath(baseFolder ?? Environment.CurrentDirectory);
        string full = Path.GetFullPath(dataSource, baseDir);
        string pattern = Path.GetFileName(full);
        if (File.Exists(full) || Directory.Exists(full) || !ConfigPaths.HasWildcards(pattern))
            return EngineDefinition.Simplified(full, keyPath, baseDir, layout, centralFraction);

        string folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder))
            throw PatternInvalid(keyPath, full, $"its folder '{folder}' does not exist");
        var matches = Directory.EnumerateFiles(folder)
            .Where(f => ImageDataset.Matches(pattern, f))
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToList();
        if (matches.Count == 0)
            throw PatternInvalid(keyPath, full, $"no file in '{folder}' matches '{pattern}'");

        var extensions = matches.Select(f => Path.GetExtension(f).ToLowerInvariant()).Distinct().ToList();
        if (extensions.Count == 1 && extensions[0] is ".npy" or ".npz" && (layout != null || centralFraction != null))
            throw PatternInvalid(keyPath, full, $"{(layout != null ? "layout" : "central_fraction")} applies to images, and it selects NumPy data, fed as it is");
        if (extensions.Count == 1 && extensions[0] == ".npy")
            return NpyFiles(full, keyPath, baseDir, folder, matches);
        if (matches.Count == 1 && extensions[0] is ".npz")
            return EngineDefinition.Simplified(matches[0], keyPath, baseDir);
        if (extensions.All(ImageDataset.DefaultExtensions.Contains))
        {
            // The matching images (POT's glob), of one extension or several.
            var parsed = EngineDefinition.Simplified(folder, keyPath, baseDir, layout, centralFraction, images: true);
            var images = parsed.Datasets.Select(d => d with { Extensions = extensions, FilePattern = pattern }).ToList();
            return new EngineDefinition(full, parsed.BaseFolder, images, parsed.Metrics, parsed.BatchSize, parsed.Threads, parsed.CacheMegabytes, isSimplified: true);
        }
        throw PatternInvalid(keyPath, full,
            $"it matches {string.Join(", ", matches.Take(5).Select(m => "'" + Path.GetFileName(m) + "'"))}{(matches.Count > 5 ? ", ..." : "")}; " +
            "a pattern must select .npy files (one per model input), a single .npz file, or images");
    }

    // Each matching .npy holds one model input's items, named after the input, as in an npy folder (labels.npy is skipped:
    // the simplified engine carries no annotations).
    private static EngineDefinition NpyFiles(string pattern, string keyPath, string baseDir, string folder, IReadOnlyList<string> files)
    {
        var inputs = files.Where(f => Path.GetFileNameWithoutExtension(f) != NpyDataset.LabelsName)
            .ToDictionary(f => Path.GetFileNameWithoutExtension(f)!, f => f, StringComparer.Ordinal);
        if (inputs.Count == 0)
            throw PatternInvalid(keyPath, pattern, "it matches only labels.npy, which holds labels, not model inputs");
        var dataset = new DatasetDefinition
        {
            Name = "data",
            DataSource = folder,
            Format = DatasetFormat.Npy,
            InputFiles = inputs,
            Adapter = AdapterDefinition.Identity,
            KeyPath = keyPath,
        };
        return new EngineDefinition(pattern, baseDir, new[] { dataset }, Array.Empty<MetricSpec>(), null, 0,
            EngineDefinition.DefaultCacheMegabytes, isSimplified: true);
    }

    private static PotException PatternInvalid(string keyPath, string pattern, string why) =>
        new("EngineDataPatternInvalid", PotErrorCategory.InvalidArgument,
            $"{keyPath}: the pattern '{pattern}' cannot be used because {why}.", pattern);
}
