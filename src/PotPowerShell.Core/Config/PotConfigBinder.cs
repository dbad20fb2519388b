
namespace PotPowerShell.Core.Config;

/// <summary>Binds the top level and the model, engine and compression sections; algorithms are in <see cref="AlgorithmBinder"/>.</summary>
internal static class PotConfigBinder
{
    internal static readonly IReadOnlyList<(string, TargetDevice)> Devices = new[]
    {
        ("ANY", TargetDevice.Any), ("CPU", TargetDevice.Cpu), ("GPU", TargetDevice.Gpu), ("NPU", TargetDevice.Npu),
    };

    internal static readonly IReadOnlyDictionary<string, string> RefusedDevices = new Dictionary<string, string>
    {
        ["VPU"] = RefusedDevice("VPU", "the VPU plugin no longer exists in OpenVINO either"),
        ["GNA"] = RefusedDevice("GNA", "GNA's INT16 weights scheme has no ONNX Runtime kernel"),
        ["GNA3"] = RefusedDevice("GNA3", "GNA's INT16 weights scheme has no ONNX Runtime kernel"),
        ["GNA3.5"] = RefusedDevice("GNA3.5", "GNA's INT16 weights scheme has no ONNX Runtime kernel"),
        ["CPU_SPR"] = RefusedDevice("CPU_SPR", "use CPU: ONNX Runtime picks the best kernels for the processor at run time"),
    };

    private static string RefusedDevice(string device, string why) =>
        $"target_device {device} is a POT device PotPowerShell does not support ({why}). Use one of ANY, CPU, GPU, NPU.";

    /// <summary>Null when the document is not even a map (a problem is recorded).</summary>
    /// <param name="given">The model and engine given apart from the file: they replace its sections, which the file may then leave out.</param>
    public static PotConfig? Bind(ConfigNode root, BindContext context, GivenSections? given = null)
    {
        if (root is not ConfigMap map)
        {
            context.Problem("", root, "the document must be a map with the sections model, engine and compression.");
            return null;
        }
        var top = new ConfigSection(context, map, "");
        var model = given?.ModelPath is { } modelPath ? GivenModel(top, context, modelPath)
            : BindModel(top.Section("model", required: true, what: "the model section: model_name, model (or give the model with -ModelPath)"));
        var engine = given?.EnginePath is { } enginePath ? GivenEngine(top, context, enginePath)
            : BindEngine(top.Section("engine", required: true, what: "the engine section: config, or type simplified + data_source (or give an engine file or data folder with -EnginePath)"));
        var compression = BindCompression(top.Section("compression", required: true, what: "the compression section: target_device, algorithms"));
        top.Explain("optimizer", "POT's optimizer section (TPE search) is not supported by PotPowerShell; remove it. " +
                                 "AccuracyAwareQuantization's tune_hyperparams, max_evaluations and time_limit cover the search.");
        top.RejectUnknownKeys();
        return new PotConfig
        {
            Path = context.Path,
            Model = model ?? new ModelSection("", ""),
            Engine = engine ?? new EngineSection { Kind = EngineKind.File },
            Compression = compression ?? new CompressionSection(),
        };
    }

    private static ModelSection? BindModel(ConfigSection? s)
    {
        if (s is null) return null;
        string? name = s.String("model_name", what: "a model name");
        string? model = PathValue(s, "model", required: true, PathKind.File, "the path of the .onnx model");
        if (model is not null && Path.GetExtension(model).ToLowerInvariant() is ".xml" or ".bin")
            s.Problem("model", "is an OpenVINO IR file; PotPowerShell quantizes ONNX models. Export the model to ONNX and give the .onnx path.");
        // "weights": "" is how a POT config says "no weights file", the natural value for ONNX.
        bool noWeights = s.Raw("weights") is ConfigScalar { Kind: ScalarKind.String } w && w.Text.Trim().Length == 0;
        string? weights = noWeights ? null : PathValue(s, "weights", required: false, PathKind.Unchecked, "a path");
        if (!noWeights && s.Has("weights"))
            s.Warn("weights", "ONNX models carry their weights, so this path is not used (it is kept when the config is exported).");
        s.Explain("cascade", "cascaded models are not supported by PotPowerShell; write one config per model.");
        s.RejectUnknownKeys();
        return new ModelSection(name ?? (model is null ? "" : Path.GetFileNameWithoutExtension(model)), model ?? "", weights);
    }

    /// <summary>
    /// The model given apart from the file (as Open Model Zoo's quantizer fills its quantization.yml templates): an .onnx
    /// file; the file's own model section, if any, is not read.
    /// </summary>
    private static ModelSection? GivenModel(ConfigSection top, BindContext context, string path)
    {
        top.Raw("model");
        string? problem = !File.Exists(path) ? (Directory.Exists(path) ? $"'{path}' is a folder; give the path of an .onnx model." : $"'{path}' does not exist.")
            : Path.GetExtension(path).ToLowerInvariant() is ".xml" or ".bin" ? $"'{path}' is an OpenVINO IR file; PotPowerShell quantizes ONNX models. Export the model to ONNX and give the .onnx path."
            : null;
        if (problem != null)
        {
            context.Problem("model", null, "(-ModelPath) " + problem);
            return null;
        }
        return new ModelSection(Path.GetFileNameWithoutExtension(path), path);
    }

    /// <summary>The engine given apart from the file: an engine file (engine.config), or a folder of calibration data (type: simplified).</summary>
    private static EngineSection? GivenEngine(ConfigSection top, BindContext context, string path)
    {
        top.Raw("engine");
        if (Directory.Exists(path)) return new EngineSection { Kind = EngineKind.Simplified, DataSource = path };
        if (File.Exists(path)) return new EngineSection { Kind = EngineKind.File, ConfigPath = path };
        context.Problem("engine", null, $"(-EnginePath) '{path}' does not exist: give an engine file (ours or Accuracy Checker's) or a folder of calibration data.");
        return null;
    }

    /// <summary>The warning for a POT key that is accepted (so POT configs load) but changes nothing here.</summary>
    internal const string NoEffect = "has no effect in PotPowerShell (it is kept when the config is exported); remove it to silence this warning.";

    private static readonly string[] PotEngineKeys = { "type", "stat_requests_number", "eval_requests_number" };

    private static EngineSection? BindEngine(ConfigSection? s)
    {
        if (s is null) return null;
        int? stat = s.Int("stat_requests_number", min: 1);
        int? eval = s.Int("eval_requests_number", min: 1);
        foreach (var key in new[] { "stat_requests_number" })
            if (s.Has(key)) s.Warn(key, NoEffect);
        var type = s.Enum("type", new[] { ("accuracy_checker", EngineType.AccuracyChecker), ("simplified", EngineType.Simplified) },
            new Dictionary<string, string>
            {
                ["data_free"] = "POT's data_free engine (generated data) is not supported by PotPowerShell: give calibration data with " +
                                "type: simplified + data_source, or an engine file with config.",
            });
        bool simplified = type == EngineType.Simplified;
        if (simplified)
        {
            string? data = PathValue(s, "data_source", required: true, PathKind.FileOrFolderOrPattern, "the folder or file of calibration data");
            // POT's image loader reads these two as well (the engine parser checks that the data are images).
            string? layout = s.String("layout")?.Trim().ToUpperInvariant();
            if (layout is not (null or "NCHW" or "NHWC"))
            {
                s.Problem("layout", $"'{layout}' is not an image layout with a batch axis: use NCHW or NHWC.");
                layout = null;
            }
            double? fraction = s.Double("central_fraction", v => v > 0 && v <= 1, "must be above 0 and at most 1 (the share of each side kept around the center)");
            s.Explain("config", "can't be combined with type: simplified; remove one of them.");
            s.RejectUnknownKeys();
            return new EngineSection
            {
                Kind = EngineKind.Simplified, DataSource = data, Layout = layout, CentralFraction = fraction, StatRequestsNumber = stat, EvalRequestsNumber = eval,
            };
        }
        if (s.Raw("config") is not null)
        {
            string? file = PathValue(s, "config", required: true, PathKind.File, "the path of the engine file");
            foreach (var key in s.Map.Keys.Where(k => k != "config" && !PotEngineKeys.Contains(k)))
                s.Explain(key, key == "data_source"
                    ? "belongs to type: simplified; with engine.config the data is described in the engine file. Remove it."
                    : "can't be combined with engine.config: either point to an engine file or write the engine inline, not both.");
            s.RejectUnknownKeys();
            return new EngineSection { Kind = EngineKind.File, ConfigPath = file, StatRequestsNumber = stat, EvalRequestsNumber = eval };
        }
        var inline = new ConfigMap(s.Map.Line);
        foreach (var (key, value) in s.Map.Entries)
            if (!PotEngineKeys.Contains(key)) inline.Add(key, value);
        if (inline.Count == 0)
            s.Context.Problem(s.KeyPath, null, "has no engine: give config (the path of an engine file), type: simplified + data_source, or the engine inline.");
        else if (inline.Count == 1 && inline.ContainsKey("data_source"))
            s.Problem("data_source", "needs type: simplified next to it (unlabelled calibration data); add it.");
        return new EngineSection { Kind = EngineKind.Inline, Inline = inline, StatRequestsNumber = stat, EvalRequestsNumber = eval };
    }

    private static CompressionSection? BindCompression(ConfigSection? s)
    {
        if (s is null) return null;
        var device = s.Enum("target_device", Devices, RefusedDevices) ?? TargetDevice.Any;
        string? modelType = s.String("model_type", what: "transformer or None");
        if (modelType is not null)
        {
            // None opts out of transformer detection (absent = detect, see Quantization/Preparation/TransformerModelType.cs).
            if (modelType.Equals("None", StringComparison.OrdinalIgnoreCase)) modelType = "none";
            else if (modelType.Equals("transformer", StringComparison.OrdinalIgnoreCase)) modelType = "transformer";
            else
            {
                s.Problem("model_type", $"must be transformer or None.{EditDistance.Hint(modelType, new[] { "transformer", "None" })}");
                modelType = null;
            }
        }
        bool inplace = s.Bool("inplace_statistics") ?? true;
        if (!inplace)
            s.Warn("inplace_statistics", "PotPowerShell always streams statistics (memory stays flat), so false changes nothing.");
        bool dump = s.Bool("dump_intermediate_model") ?? false;
        var algorithms = new List<AlgorithmConfig>();
        var list = s.List("algorithms", required: true, what: "the algorithms to run, e.g. [{ name: DefaultQuantization, params: {} }]");
        if (list is not null)
        {
            if (list.Count == 0)
                s.Problem("algorithms", "is empty: add DefaultQuantization or AccuracyAwareQuantization.");
            for (int i = 0; i < list.Count; i++)
            {
                var algorithm = AlgorithmBinder.Bind(s.Context, list.Items[i], ConfigKeyPath.Item(s.PathOf("algorithms"), i), device);
                if (algorithm is null) continue;
                if (algorithms.Any(a => a.Name == algorithm.Name))
                    s.Context.Problem(ConfigKeyPath.Item(s.PathOf("algorithms"), i), null,
                        $"{algorithm.Name} is listed twice; keep one entry per algorithm.");
                else algorithms.Add(algorithm);
            }
        }
        s.RejectUnknownKeys();
        return new CompressionSection
        {
            TargetDevice = device,
            ModelType = modelType,
            InplaceStatistics = inplace,
            DumpIntermediateModel = dump,
            Algorithms = algorithms.ToValueList(),
        };
    }

    private enum EngineType
    {
        AccuracyChecker,
        Simplified,
    }

    /// <summary>What a path key names; the one list for config and engine files.</summary>
    internal enum PathKind
    {
        Unchecked,
        File,
        Folder,
        FileOrFolder,
        FileOrFolderOrPattern,
    }

    /// <summary>A path value: variables expanded, made absolute against the config's folder, checked to exist.</summary>
    internal static string? PathValue(ConfigSection s, string key, bool required, PathKind kind, string what)
    {
        string? raw = s.String(key, required, what);
        if (raw is null) return null;
        string? resolved = ResolvePath(raw, s.Context.BaseDirectory, kind, out string? problem);
        if (problem is not null) s.Problem(key, problem);
        return resolved;
    }

    /// <summary>
    /// The one path rule of config and engine files: <see cref="ConfigPaths.Resolve"/> (variables and ~ expanded, made
    /// absolute against <paramref name="baseDirectory"/>; a variable that is not set is a problem), then checked to be
    /// what <paramref name="kind"/> asks. Returns null with <paramref name="problem"/> set when it is not.
    /// </summary>
    internal static string? ResolvePath(string raw, string baseDirectory, PathKind kind, out string? problem)
    {
        problem = null;
        var missing = new List<string>();
        string resolved;
        try
        {
            resolved = ConfigPaths.Resolve(raw, baseDirectory, missing);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            problem = $"is not a valid path ({e.Message.TrimEnd('.')}).";
            return null;
        }
        if (missing.Count > 0)
        {
            problem = $"uses the environment variable{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing.Distinct())} " +
                      "which is not set. Set it, or write the path out (use $$ for a literal $).";
            return null;
        }
        string probe = kind == PathKind.FileOrFolderOrPattern && ConfigPaths.HasWildcards(Path.GetFileName(resolved)) ? Path.GetDirectoryName(resolved)! : resolved;
        string? relativeTo = Path.IsPathRooted(raw) || raw.StartsWith('~') || raw.StartsWith('$') ? null : baseDirectory;
        problem = kind switch
        {
            PathKind.Unchecked => null,
            PathKind.FileOrFolderOrPattern when ConfigPaths.HasWildcards(probe) => "may have wildcards in its file name only, not in folder names.",
            PathKind.File when Directory.Exists(probe) => $"'{probe}' is a folder; give the path of a file.",
            PathKind.Folder when File.Exists(probe) => $"'{probe}' is a file; give the path of a folder.",
            PathKind.File when !File.Exists(probe) => NotFound(probe, relativeTo),
            PathKind.Folder when !Directory.Exists(probe) => NotFound(probe, relativeTo),
            _ when !File.Exists(probe) && !Directory.Exists(probe) => NotFound(probe, relativeTo),
            _ => null,
        };
        return problem is null ? resolved : null;
    }

    /// <param name="baseDirectory">Where the written path was relative to; null when it was absolute (or began with ~ or a variable).</param>
    private static string NotFound(string path, string? baseDirectory) => baseDirectory == null
        ? $"'{path}' does not exist."
        : $"'{path}' does not exist. Relative paths are relative to the folder of the file that names them ({baseDirectory}).";
}
