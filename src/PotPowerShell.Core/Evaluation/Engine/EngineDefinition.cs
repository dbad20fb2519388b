using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Results;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// A parsed evaluation engine (our Accuracy Checker configuration): datasets, adapters, metrics and run settings.
/// Inert: nothing is opened until <see cref="OpenDataset"/> or an <see cref="Evaluator"/> uses it.
/// The file format is documented in docs/en-US/about_PotPowerShell_Engine.md.
/// </summary>
public sealed class EngineDefinition
{
    /// <summary>Items per inference when the model's batch axis is dynamic and the engine does not say.</summary>
    public const int DefaultBatchSize = 32;

    /// <summary>Preprocessed items kept in memory when the engine does not say (MB).</summary>
    public const int DefaultCacheMegabytes = 512;

    internal EngineDefinition(string source, string baseFolder, IReadOnlyList<DatasetDefinition> datasets, IReadOnlyList<MetricSpec> metrics,
        int? batchSize, int threads, int cacheMegabytes, bool isSimplified)
    {
        Source = source;
        BaseFolder = baseFolder;
        Datasets = datasets;
        Metrics = metrics;
        BatchSize = batchSize;
        Threads = threads;
        CacheMegabytes = cacheMegabytes;
        IsSimplified = isSimplified;
    }

    /// <summary>The engine file, or a description of where the engine came from.</summary>
    public string Source { get; }

    /// <summary>The folder relative paths were resolved against.</summary>
    public string BaseFolder { get; }

    public IReadOnlyList<DatasetDefinition> Datasets { get; }

    /// <summary>Every metric, in the order the engine lists them (top-level first, then per dataset).</summary>
    public IReadOnlyList<MetricSpec> Metrics { get; }

    /// <summary>batch_size, or null for the default (<see cref="DefaultBatchSize"/> when the model allows batching).</summary>
    public int? BatchSize { get; }

    /// <summary>ONNX Runtime intra-op threads (0 = ORT's default).</summary>
    public int Threads { get; }

    /// <summary>Memory budget for preprocessed items (MB); items beyond it are read again on each evaluation.</summary>
    public int CacheMegabytes { get; }

    /// <summary>Keys read without effect (from an Accuracy Checker configuration), one message each, for the cmdlets to warn with.</summary>
    public IReadOnlyList<string> Warnings { get; internal set; } = Array.Empty<string>();

    /// <summary>True for POT's 'type: simplified' engine: data only, no annotations and no metrics.</summary>
    public bool IsSimplified { get; }

    /// <summary>True when every dataset carries annotations (labels or an annotation file).</summary>
    public bool HasAnnotations => Datasets.All(d => d.HasAnnotations);

    /// <summary>
    /// Throws EngineHasNoAnnotations when this engine cannot measure accuracy (no metrics: the simplified engine or
    /// data without labels), naming <paramref name="consumer"/> and what to do.
    /// </summary>
    public void EnsureEvaluable(string consumer)
    {
        if (Metrics.Count > 0) return;
        string why = IsSimplified
            ? "the simplified engine (type: simplified) provides data without annotations and has no metrics"
            : HasAnnotations ? "the engine defines no metrics" : "the engine's data has no annotations (labels) and it defines no metrics";
        throw new PotException("EngineHasNoAnnotations", PotErrorCategory.InvalidArgument,
            $"{consumer} needs metrics computed on labelled data, but {why} ('{Source}'). " +
            "Give an engine file with labels (labels: or annotation_file:) and metrics (e.g. type: accuracy), " +
            "or a metric that compares with the FP32 model (type: cosine_similarity).", Source);
    }

    /// <summary>
    /// POT's annotation_free: the FP32 model's predictions are the labels. Detection and segmentation metrics compare
    /// with the FP32 model's detections (those of at least <paramref name="threshold"/>) and class maps instead of
    /// annotations; other metrics that need annotations go (one warning names them), metrics that compare with FP32
    /// stay, and unless a metric was turned to FP32 or the engine has an fp32_agreement metric, top-1 agreement with
    /// FP32 on the items where its confidence reaches <paramref name="threshold"/> is added.
    /// </summary>
    public EngineDefinition AnnotationFree(double threshold)
    {
        static bool Turns(MetricSpec m) => m.RequiresAnnotation && m.ComparesPredictions;
        var turned = Metrics.Where(Turns).Select(m => m.Name).ToList();
        var dropped = Metrics.Where(m => m.RequiresAnnotation && !Turns(m)).Select(m => m.Name).ToList();
        var kept = Metrics.Where(m => !m.RequiresAnnotation || Turns(m))
            .Select(m => Turns(m) ? m with { Reference = MetricReference.Fp32, ConfidenceThreshold = m.IsDetection ? threshold : m.ConfidenceThreshold } : m).ToList();
        if (turned.Count == 0 && !kept.Any(m => m.Type == MetricType.Fp32Agreement))
            kept.Add(MetricSpec.Fp32AgreementOf(threshold, Enumerable.Range(0, Datasets.Count).ToList()));
        var warnings = Warnings.ToList();
        if (dropped.Count > 0)
            warnings.Add($"annotation_free: the FP32 model's predictions are the labels, so the metrics that compare with annotations are not used: {string.Join(", ", dropped)}.");
        if (turned.Count > 0)
            warnings.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"annotation_free: {string.Join(", ", turned)} compare{(turned.Count == 1 ? "s" : "")} with the FP32 model's detections (those scored at least {threshold}, annotation_conf_threshold), class maps, answers or token classes instead of annotations."));
        return new EngineDefinition(Source, BaseFolder, Datasets, kept, BatchSize, Threads, CacheMegabytes, IsSimplified) { Warnings = warnings };
    }

    /// <summary>The error of an engine file that does not exist.</summary>
    public static PotException NotFound(string full) => Directory.Exists(full)
        ? new("EngineNotFound", PotErrorCategory.ObjectNotFound, $"'{full}' is a folder, not an engine file. Give it as -DataPath, or write an engine file whose dataset's data_source names it, with the metrics to compute.", full)
        : new("EngineNotFound", PotErrorCategory.ObjectNotFound, $"The engine file '{full}' does not exist. Check -EnginePath, or engine.config in the configuration (relative to the configuration's folder).", full);

    /// <summary>
    /// Reads an engine file (YAML, or JSON when it ends in .json) through the config loader; relative paths resolve
    /// against its folder. With <paramref name="annotationFree"/> its metrics may compare with annotations its data
    /// lacks (see <see cref="AnnotationFree"/>).
    /// </summary>
    public static EngineDefinition Load(string path, bool annotationFree = false)
    {
        string full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw NotFound(full);
        return EngineParser.Parse(EngineTree.Read(full), "", Path.GetDirectoryName(full)!, full, annotationFree: annotationFree);
    }

    /// <summary>
    /// Reads an engine from a tree of the config loader (<see cref="ConfigTree"/>), e.g. the inline engine section of a
    /// POT config, as engine files are read (every scalar as written). Problems are reported under
    /// <paramref name="keyPathPrefix"/> (e.g. 'engine') with the tree's lines; relative paths resolve against
    /// <paramref name="baseFolder"/>.
    /// </summary>
    public static EngineDefinition FromTree(ConfigMap tree, string keyPathPrefix, string baseFolder, bool annotationFree = false) =>
        EngineParser.Parse(tree, keyPathPrefix ?? "", Path.GetFullPath(baseFolder), string.IsNullOrEmpty(keyPathPrefix) ? "(inline engine)" : keyPathPrefix,
            annotationFree: annotationFree);

    /// <summary>
    /// POT's simplified engine: the data of <paramref name="dataSource"/> (npy folder/.npz/.npy or an image folder
    /// used as is) without annotations or metrics; enough for calibration.
    /// </summary>
    /// <param name="layout">POT's image loader's layout (NCHW or NHWC), null = from the model input.</param>
    /// <param name="centralFraction">POT's image loader's central_fraction, null = none.</param>
    /// <param name="images">Read the folder as images even when it holds .npy files too (see <see cref="EngineParser.Parse"/>).</param>
    public static EngineDefinition Simplified(string dataSource, string keyPath = "engine.data_source", string? baseFolder = null,
        string? layout = null, double? centralFraction = null, bool images = false)
    {
        var tree = EngineTree.Map(0, ("type", EngineTree.Text("simplified")), ("data_source", EngineTree.Text(dataSource)));
        if (layout != null) tree.Add("layout", EngineTree.Text(layout));
        if (centralFraction is double fraction) tree.Add("central_fraction", EngineTree.Number(fraction));
        string prefix = keyPath.EndsWith(".data_source", StringComparison.Ordinal) ? keyPath[..^".data_source".Length] : "";
        return EngineParser.Parse(tree, prefix, Path.GetFullPath(baseFolder ?? Environment.CurrentDirectory), dataSource, images);
    }

    /// <summary>
    /// The engine for a plain data path (Measure-PotModel and Compare-PotModel -DataPath): an npy folder or .npz, a
    /// folder of one .npy per item (format npy_files: files whose first axes differ
    /// (<see cref="NpyDataset.HoldsOneItemPerFile"/>), or, given the model the data serves, files a rank below its one
    /// input or of its rank with a batch axis of 1, <see cref="CalibrationData.IsItemFolder"/>, as -CalibrationDataPath reads them), or a folder of images and
    /// no .npy file, read as POT's simplified engine reads its data_source (as -CalibrationDataPath reads it, fitted to
    /// the model by <see cref="EngineFit"/>, which also reads a folder of .npy files again for the model). When it holds
    /// labels (labels.npy / a 'labels' array), a classification adapter and accuracy@top1. Without labels and with
    /// <paramref name="againstReference"/> (Compare-PotModel, which always has a reference model), cosine similarity to
    /// the reference's outputs, so that unlabelled data still gives a drop; for a model whose output is each item's
    /// class (<see cref="OutputsClassesOnly"/>, known given <paramref name="modelPath"/>), agreement with the reference's
    /// classes (fp32_agreement), as the cosine of two class numbers says nothing.
    /// </summary>
    public static EngineDefinition FromDataPath(string dataPath, bool againstReference = false, string? modelPath = null)
    {
        string full = Path.GetFullPath(dataPath);
        if (!Directory.Exists(full) && !File.Exists(full))
            throw new PotException("DataPathNotFound", PotErrorCategory.ObjectNotFound,
                $"The data path '{full}' does not exist. Give a folder of .npy files (one per model input, labels.npy for labels), an .npz archive, or a folder of images.", full);
        EngineDefinition engine;
        if (CalibrationData.IsImageFolder(full))
            engine = Simplified(full, "", Path.GetDirectoryName(full));
        else
        {
            bool itemFiles = NpyDataset.HoldsOneItemPerFile(full) || modelPath != null && CalibrationData.IsItemFolder(full, modelPath);
            var tree = EngineTree.Map(0, ("dataset", EngineTree.Map(0, ("data_source", EngineTree.Text(full)), ("format", EngineTree.Text(itemFiles ? "npy_files" : "npy")))));
            engine = EngineParser.Parse(tree, "", Path.GetDirectoryName(full) ?? full, full);
            if (engine.HasAnnotations)
            {
                tree.Add("adapter", EngineTree.Text("classification"));
                tree.Add("metrics", EngineTree.List(new[] { EngineTree.Map(0, ("type", EngineTree.Text("accuracy")), ("top_k", EngineTree.Number(1))) }));
                engine = EngineParser.Parse(tree, "", Path.GetDirectoryName(full) ?? full, full);
            }
        }
        // Labels in text beside the arrays are not the folder's labels (a labels.txt is as often a list of class names).
        string textLabels = Path.Combine(full, "labels.txt");
        if (!engine.HasAnnotations && File.Exists(textLabels))
            engine.Warnings = engine.Warnings.Append($"'{textLabels}' is not read as the labels of '{full}': a data folder's labels are labels.npy (one per item). Save them as labels.npy, or give an engine file with 'labels: labels.txt' in its dataset.").ToList();
        if (!engine.HasAnnotations && againstReference)
        {
            bool classes = modelPath != null && OutputsClassesOnly(OnnxModelFile.Load(modelPath));
            var datasets = classes ? engine.Datasets.Select(d => d with { Adapter = AdapterDefinition.Classification }).ToList() : engine.Datasets;
            engine = new EngineDefinition(engine.Source, engine.BaseFolder, datasets, new[] { classes ? AgreementWithReference : CosineToReference }, engine.BatchSize, engine.Threads,
                engine.CacheMegabytes, engine.IsSimplified) { Warnings = engine.Warnings };
        }
        engine.DataPath = (full, againstReference);
        return engine;
    }

    /// <summary>Compare-PotModel's metric for unlabelled data: as <c>- type: cosine_similarity, reference: fp32</c> in an engine.</summary>
    private static readonly MetricSpec CosineToReference =
        new("cosine_similarity", MetricType.CosineSimilarity, MetricDirection.HigherBetter, new[] { 0 }, "metrics[0]", Reference: MetricReference.Fp32);

    /// <summary>The metric for unlabelled data of a model that outputs each item's class: as <c>- type: fp32_agreement</c>.</summary>
    private static readonly MetricSpec AgreementWithReference =
        new("fp32_agreement", MetricType.Fp32Agreement, MetricDirection.HigherBetter, new[] { 0 }, "metrics[0]", Reference: MetricReference.Fp32);

    /// <summary>
    /// The model's outputs hold no floating-point values and its first holds integers or booleans: each item's class, as
    /// a classifier that ends in ArgMax gives it (the engines' default output is the first floating-point one; the
    /// classification adapter reads such an output as classes, SessionRunner.IntegerOutputs).
    /// </summary>
    internal static bool OutputsClassesOnly(global::Onnx.ModelProto model)
    {
        var types = model.Graph.Output.Select(o => o.Type?.TensorType is { } t ? (DataType)t.ElemType : DataType.Undefined).ToList();
        return types.Count > 0 && types[0] is DataType.Int64 or DataType.Int32 or DataType.Int16 or DataType.Int8
                or DataType.Uint64 or DataType.Uint32 or DataType.Uint16 or DataType.Uint8 or DataType.Bool
            && !types.Any(t => t is DataType.Float or DataType.Float16 or DataType.Double or DataType.Bfloat16 or DataType.Undefined);
    }

    /// <summary>The data path this engine was made from, and whether it compares with a reference (<see cref="FromDataPath"/>); null for any other engine.</summary>
    internal (string Path, bool AgainstReference)? DataPath { get; private set; }

    /// <summary>
    /// The model-ready items of every dataset, concatenated in engine order (item indices are global). Items are read
    /// lazily; dispose the result to close files.
    /// </summary>
    public EngineDataset OpenDataset() => EngineDataset.Open(this);
}
