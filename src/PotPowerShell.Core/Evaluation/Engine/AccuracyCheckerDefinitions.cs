using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// What Accuracy Checker (and POT, which reads an engine's Accuracy Checker configuration through it) takes from its
/// environment: DEFINITIONS_FILE names a file of dataset definitions (else the configuration's own
/// <c>global_definitions:</c> key does), and DATA_DIR, ANNOTATIONS_DIR, MODELS_DIR and MODEL_ATTRIBUTES_DIR are the
/// folders its relative paths stand in (Accuracy Checker's -s, -a, -m and --model_attributes).
/// </summary>
internal sealed record AccuracyCheckerEnvironment(
    string? DefinitionsFile = null, string? DataDir = null, string? AnnotationsDir = null, string? ModelsDir = null, string? ModelAttributesDir = null)
{
    public static AccuracyCheckerEnvironment FromProcess() =>
        new(Read("DEFINITIONS_FILE"), Read("DATA_DIR"), Read("ANNOTATIONS_DIR"), Read("MODELS_DIR"), Read("MODEL_ATTRIBUTES_DIR"));

    private static string? Read(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
}

/// <summary>
/// Open Model Zoo's configurations name their datasets and leave where the data is and how it is annotated to a file of
/// dataset definitions (<c>global_definitions: ../dataset_definitions.yml</c>, or DEFINITIONS_FILE), with paths relative
/// to DATA_DIR. This merges a model entry with those definitions as Accuracy Checker's config reader does, before the
/// entry is translated (<see cref="AccuracyCheckerConfig"/>):
/// <list type="bullet">
/// <item>the definitions' own preprocessing, metrics and postprocessing entries complete those of the same type in
/// its datasets;</item>
/// <item>a launcher takes the keys of the definitions' launcher of its framework, a dataset those of the definitions'
/// dataset of its name, that it does not give itself (a key given replaces the whole value);</item>
/// <item>relative paths are prefixed with the folder of their kind when it is set (data and the converter's files:
/// DATA_DIR; pickled annotations: ANNOTATIONS_DIR; adapter and preprocessing files: MODEL_ATTRIBUTES_DIR or
/// MODELS_DIR, the first holding the file). Where none is set, a path taken from the definitions stands in their
/// folder (Accuracy Checker: the working folder; this module's paths stand in the folder of the file that writes
/// them), one of the configuration in its folder, as before.</item>
/// </list>
/// Values taken from the definitions keep their lines in that file; <paramref name="notes"/> of
/// <see cref="Apply"/> say which they are, for the messages of any problem.
/// </summary>
internal static class AccuracyCheckerDefinitions
{
    public const string Key = "global_definitions";

    private static readonly string[] DefinitionKeys = { "datasets", "launchers", "preprocessing", "metrics", "postprocessing" };

    private enum Prefix { Data, Annotations, Models, ModelAttributes }

    /// <summary>The environment variable of each <see cref="Prefix"/>, in its order.</summary>
    private static readonly string[] VariableNames = { "DATA_DIR", "ANNOTATIONS_DIR", "MODELS_DIR", "MODEL_ATTRIBUTES_DIR" };

    private static readonly Prefix[] Data = { Prefix.Data };
    private static readonly Prefix[] Annotations = { Prefix.Annotations };
    private static readonly Prefix[] Models = { Prefix.Models };
    private static readonly Prefix[] AttributesModelsData = { Prefix.ModelAttributes, Prefix.Models, Prefix.Data };
    private static readonly Prefix[] AttributesDataModels = { Prefix.ModelAttributes, Prefix.Data, Prefix.Models };

    // Accuracy Checker's config reader: the dataset keys that are paths and the folder each is prefixed with; in the
    // converter, preprocessing and adapter every key ending in 'file' or 'dir' is a path, with these exceptions.
    private static readonly Dictionary<string, Prefix[]> DatasetPaths = new(StringComparer.Ordinal)
    {
        ["data_source"] = Data, ["segmentation_masks_source"] = Data, ["additional_data_source"] = Data,
        ["annotation"] = Annotations, ["dataset_meta"] = Annotations, ["subset_file"] = Annotations,
    };
    private static readonly Dictionary<string, Prefix[]> ConverterPaths = new(StringComparer.Ordinal)
    {
        ["vocab_file"] = AttributesDataModels, ["merges_file"] = AttributesDataModels, ["mask_file"] = AttributesDataModels,
        ["stats_file"] = AttributesDataModels, ["tokenizer_dir"] = AttributesModelsData,
    };
    private static readonly Dictionary<string, Prefix[]> PreprocessingPaths = new(StringComparer.Ordinal)
    {
        ["mask_dir"] = Data, ["vocabulary_file"] = AttributesModelsData, ["merges_file"] = AttributesModelsData,
    };
    private static readonly Dictionary<string, Prefix[]> AdapterPaths = new(StringComparer.Ordinal)
    {
        ["lm_file"] = AttributesModelsData, ["vocabulary_file"] = AttributesModelsData, ["merges_file"] = AttributesModelsData,
        ["fst_file"] = AttributesModelsData, ["words_file"] = AttributesModelsData, ["transition_model_file"] = AttributesModelsData,
    };

    /// <summary>
    /// <paramref name="model"/> (the entry at <paramref name="modelPath"/>) with the definitions merged in and its
    /// paths prefixed; the same entry when there is nothing to do. Never changes the tree it is given.
    /// </summary>
    /// <param name="root">The configuration (or the entry written in place), whose global_definitions names the definitions.</param>
    /// <param name="notes">Where values came from, for the messages of problems found later.</param>
    public static ConfigMap Apply(ConfigMap model, string modelPath, ConfigMap root, AccuracyCheckerEnvironment environment, string baseFolder,
        EngineProblems problems, List<string> warnings, List<string> notes)
    {
        var defs = ReadDefinitions(root, environment, baseFolder, problems, warnings);
        var merger = new Merger(defs, environment, modelPath, notes);
        return merger.Model(model);
    }

    private sealed record Definitions(string File, ConfigMap Tree);

    private static Definitions? ReadDefinitions(ConfigMap root, AccuracyCheckerEnvironment environment, string baseFolder, EngineProblems problems, List<string> warnings)
    {
        string? written = EngineTree.TextOf(root[Key]);
        if (EngineTree.IsValue(root[Key]) && written == null)
        {
            problems.Add(Key, $"must be the path of a dataset definitions file, not {EngineTree.Show(root[Key])}.", root.KeyLine(Key));
            return null;
        }
        if (environment.DefinitionsFile != null && written != null)
            warnings.Add($"{Key}: read and ignored: the DEFINITIONS_FILE environment variable names the dataset definitions ('{environment.DefinitionsFile}'), as in Accuracy Checker.");
        string? path = environment.DefinitionsFile ?? written;
        if (path == null) return null;
        bool fromEnvironment = environment.DefinitionsFile != null;
        string? full = PotConfigBinder.ResolvePath(fromEnvironment ? Literal(path) : path.Trim(), baseFolder, PotConfigBinder.PathKind.File, out string? problem);
        if (problem != null || full == null)
        {
            if (fromEnvironment) problems.Add("", $"the DEFINITIONS_FILE environment variable names the dataset definitions, but its path {problem} Set it to the file (Open Model Zoo's data/dataset_definitions.yml), or remove it.", 0);
            else problems.Add(Key, problem ?? "is not a valid path.", root.KeyLine(Key));
            return null;
        }
        var tree = EngineTree.Read(full);
        var unknown = tree.Keys.Where(k => !DefinitionKeys.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
            warnings.Add($"'{full}': {string.Join(", ", unknown)} {(unknown.Count == 1 ? "is" : "are")} read and ignored: a dataset definitions file gives {string.Join(", ", DefinitionKeys)}.");
        return new Definitions(full, tree);
    }

    /// <summary>A path as the configuration reader writes literally: its $ signs are not variables.</summary>
    private static string Literal(string path) => path.Replace("$", "$$", StringComparison.Ordinal);

    private sealed class Merger(Definitions? defs, AccuracyCheckerEnvironment environment, string modelPath, List<string> notes)
    {
        private readonly List<(string Key, string Path)> _prefixed = new();
        private readonly List<string> _inDefinitionsFolder = new();

        public ConfigMap Model(ConfigMap model)
        {
            var result = model;
            if (model["launchers"] is ConfigList launchers)
                result = With(result, "launchers", MapItems(launchers, (launcher, i) => Launcher(launcher, Index("launchers", i))));
            if (model["datasets"] is ConfigList datasets)
                result = With(result, "datasets", MapItems(datasets, (dataset, i) => Dataset(dataset, Index("datasets", i))));
            foreach (var group in _prefixed.GroupBy(p => p.Key))
                notes.Add($"The {group.Key} environment variable prefixes the relative paths of {string.Join(", ", group.Select(p => p.Path))}.");
            if (_inDefinitionsFolder.Count > 0)
                notes.Add($"The relative paths of {string.Join(", ", _inDefinitionsFolder)}, taken from '{defs!.File}', stand in its folder; set DATA_DIR (ANNOTATIONS_DIR for annotation and dataset_meta) to the folder of the data they name, as for Accuracy Checker.");
            return result;
        }

        private string Index(string key, int i) => EngineProblems.Index(EngineProblems.Join(modelPath, key), i);

        private ConfigMap Launcher(ConfigMap launcher, string path)
        {
            var merged = Merge(launcher, "framework", defs?.Tree["launchers"], path, "launcher");
            if (merged["adapter"] is ConfigMap adapter)
                merged = With(merged, "adapter", Paths(adapter, EngineProblems.Join(path, "adapter"), key => AdapterPaths.GetValueOrDefault(key) ?? (IsPathKey(key) ? Models : null), origin: launcher["adapter"] == null));
            return merged;
        }

        private ConfigMap Dataset(ConfigMap dataset, string path)
        {
            var merged = Merge(dataset, "name", DefinedDatasets(), path, "dataset");
            var result = Paths(merged, path, key => DatasetPaths.GetValueOrDefault(key), key => dataset[key] == null);
            if (merged["annotation_conversion"] is ConfigMap conversion)
                result = With(result, "annotation_conversion", Paths(conversion, EngineProblems.Join(path, "annotation_conversion"),
                    key => key == "converter" ? null : ConverterPaths.GetValueOrDefault(key) ?? (IsPathKey(key) ? Data : null), origin: dataset["annotation_conversion"] == null));
            if (merged["preprocessing"] is ConfigList steps)
                result = With(result, "preprocessing", MapItems(steps, (step, i) => Paths(step, EngineProblems.Index(EngineProblems.Join(path, "preprocessing"), i),
                    key => PreprocessingPaths.GetValueOrDefault(key) ?? (IsPathKey(key) ? Models : null), origin: dataset["preprocessing"] == null)));
            return result;
        }

        private static bool IsPathKey(string key) => key.EndsWith("file", StringComparison.Ordinal) || key.EndsWith("dir", StringComparison.Ordinal);

        /// <summary>The definitions' datasets, each completed by the definitions' own preprocessing, metrics and postprocessing of its types.</summary>
        private ConfigList? DefinedDatasets()
        {
            if (defs?.Tree["datasets"] is not ConfigList datasets) return null;
            return MapItems(datasets, (dataset, _) =>
            {
                var result = dataset;
                foreach (var key in new[] { "preprocessing", "metrics", "postprocessing" })
                    if (dataset[key] is ConfigList entries && defs.Tree[key] is ConfigList shared)
                        result = With(result, key, MapItems(entries, (entry, _) => ById(entry, "type", shared) is { } match ? Over(match, entry) : entry));
                return result;
            });
        }

        /// <summary>
        /// <paramref name="local"/> over the first entry of <paramref name="defined"/> with the same <paramref name="id"/>
        /// value, as Accuracy Checker merges them (a key given replaces the definition's whole value).
        /// </summary>
        private ConfigMap Merge(ConfigMap local, string id, ConfigNode? defined, string path, string what)
        {
            if (defs == null || defined is not ConfigList list) return local;
            string? name = EngineTree.TextOf(local[id]);
            if (name == null) return local;
            if (ById(local, id, list) is not { } match)
            {
                if (what == "dataset")
                {
                    var names = list.Items.OfType<ConfigMap>().Select(m => EngineTree.TextOf(m[id])).OfType<string>().ToList();
                    string? near = EditDistance.Suggest(name, names);
                    notes.Add($"{path}: '{name}' is not a dataset of '{defs.File}'{(near != null ? $" (did you mean '{near}'?)" : "")}, so nothing of it comes from there.");
                }
                return local;
            }
            var taken = match.Keys.Where(k => local[k] == null).ToList();
            if (taken.Count > 0)
                notes.Add($"{path}: {string.Join(", ", taken)} {(taken.Count == 1 ? "comes" : "come")} from the {what} '{name}' of '{defs.File}' (line {match.Line}); the lines given for {(taken.Count == 1 ? "it" : "them")} are that file's.");
            return Over(match, local);
        }

        private static ConfigMap? ById(ConfigMap entry, string id, ConfigList list)
        {
            string? value = EngineTree.TextOf(entry[id]);
            return value == null ? null : list.Items.OfType<ConfigMap>().FirstOrDefault(m => EngineTree.TextOf(m[id]) == value);
        }

        /// <summary>The keys of <paramref name="baseMap"/> with those <paramref name="over"/> gives replaced, then the rest of <paramref name="over"/>.</summary>
        private static ConfigMap Over(ConfigMap baseMap, ConfigMap over)
        {
            var result = new ConfigMap(over.Line);
            foreach (var key in baseMap.Keys)
                if (over[key] == null) result.Add(key, baseMap[key]!, baseMap.KeyLine(key));
                else result.Add(key, over[key]!, over.KeyLine(key));
            foreach (var key in over.Keys.Where(k => baseMap[k] == null)) result.Add(key, over[key]!, over.KeyLine(key));
            return result;
        }

        /// <summary>
        /// <paramref name="map"/> with each relative path of a key <paramref name="kinds"/> names prefixed (see the class
        /// summary); a path taken from the definitions (<paramref name="borrowed"/>) and not prefixed stands in their folder.
        /// </summary>
        private ConfigMap Paths(ConfigMap map, string path, Func<string, Prefix[]?> kinds, Func<string, bool> borrowed)
        {
            var result = map;
            foreach (var key in map.Keys)
            {
                if (kinds(key) is not { } candidates || map[key] is not ConfigScalar { Kind: ScalarKind.String } value) continue;
                string text = value.Written.Trim();
                if (text.Length == 0 || Path.IsPathRooted(text) || text.StartsWith('$') || text.StartsWith('~')) continue;
                string? folder = null;
                string? variable = null;
                foreach (var candidate in candidates)
                {
                    if (Folder(candidate) is not { } f) continue;
                    (folder, variable) = (f, Name(candidate));
                    if (File.Exists(Path.Combine(f, text)) || Directory.Exists(Path.Combine(f, text))) break;
                }
                if (folder != null) _prefixed.Add((variable!, EngineProblems.Join(path, key)));
                else if (defs != null && borrowed(key))
                {
                    folder = Path.GetDirectoryName(defs.File)!;
                    _inDefinitionsFolder.Add(EngineProblems.Join(path, key));
                }
                else continue;
                result = With(result, key, new ConfigScalar(ScalarKind.String, Path.Combine(Literal(folder), text), value.Line));
            }
            return result;
        }

        private ConfigMap Paths(ConfigMap map, string path, Func<string, Prefix[]?> kinds, bool origin) => Paths(map, path, kinds, _ => origin);

        private string? Folder(Prefix prefix) => prefix switch
        {
            Prefix.Data => environment.DataDir,
            Prefix.Annotations => environment.AnnotationsDir,
            Prefix.Models => environment.ModelsDir,
            _ => environment.ModelAttributesDir,
        };

        private static string Name(Prefix prefix) => VariableNames[(int)prefix];
    }

    /// <summary><paramref name="map"/> with the value of <paramref name="key"/> (one it has) replaced, in its place and with its line.</summary>
    private static ConfigMap With(ConfigMap map, string key, ConfigNode value)
    {
        var result = new ConfigMap(map.Line);
        foreach (var k in map.Keys) result.Add(k, k == key ? value : map[k]!, map.KeyLine(k));
        return result;
    }

    private static ConfigList MapItems(ConfigList list, Func<ConfigMap, int, ConfigMap> map)
    {
        var result = new ConfigList(list.Line);
        for (int i = 0; i < list.Count; i++) result.Add(list.Items[i] is ConfigMap m ? map(m, i) : list.Items[i]);
        return result;
    }
}
