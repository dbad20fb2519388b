using System.IO.Compression;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Results;
using PathKind = PotPowerShell.Core.Config.PotConfigBinder.PathKind;

namespace PotPowerShell.Core.Evaluation;

/// <summary>Turns the tree of an engine (<see cref="EngineTree"/>) into an <see cref="EngineDefinition"/>, collecting every problem.</summary>
internal static class EngineParser
{
    private static readonly string[] TopKeys = { "name", "batch_size", "threads", "cache_mb", "adapter", "metrics", "dataset", "datasets" };
    private static readonly string[] SimplifiedKeys = { "type", "data_source", "batch_size", "threads", "cache_mb", "layout", "central_fraction" };
    private static readonly string[] DatasetKeys =
    {
        "name", "data_source", "format", "inputs", "labels", "annotation_file", "file_column", "label_column", "classes",
        "input", "channels", "color_order", "layout", "preprocessing", "extensions", "subsample_size", "subsample_seed",
        "adapter", "metrics", "label_offset", "postprocessing", "voc_annotations", "imageset_file", "class_folders", "annotation_separator",
        "masks", "image_prefix", "image_postfix", "mask_prefix", "mask_postfix", "mask_colors", "coco_labels", "other_inputs", "camvid_list",
        "wider_annotations", "cvat_annotations", "cvat_labels", "reid_layout", "reid_gallery", "reid_queries",
        "vocab_file", "max_seq_length", "max_query_length", "doc_stride", "lower_case", "padding", "squad_layout",
        "include_special_token_labels", "labels_file",
    };
    private static readonly string[] AdapterKeys =
    {
        "type", "output", "dictionary", "alphabet", "blank_index", "layout", "beam_size", "probabilities", "labels", "scores", "normalized", "conf_threshold", "nms_threshold", "max_detections",
        "make_argmax", "argmax_output",
        "outputs", "anchors", "anchor_masks", "num", "classes", "coords", "threshold", "raw_output", "output_format", "cells", "do_reshape", "transpose",
        "output_layout", "multiple_labels", "softmax", "box_decode", "strides", "scale", "indices", "reg_max", "legacy",
        "min_sizes", "densities", "variance", "grids", "clip_priors", "num_detections", "box_order", "normalize", "mean_pooling",
        "end_output", "max_answer", "n_best_size", "no_answer_threshold",
    };
    private static readonly string[] ClassificationKeys = { "argmax_output" };
    private static readonly string[] CtcKeys = { "dictionary", "alphabet", "blank_index", "layout", "beam_size", "probabilities" };
    private static readonly string[] SsdKeys = { "labels", "num_detections", "box_order" };
    private static readonly string[] NormalizedKeys = { "normalized" };
    private static readonly string[] ScoresKeys = { "scores" };
    private static readonly string[] IndicesKeys = { "indices" };
    private static readonly string[] YoloKeys = { "nms_threshold", "max_detections" };
    private static readonly string[] ConfidenceKeys = { "conf_threshold" };
    private static readonly string[] SegmentationKeys = { "make_argmax" };
    private static readonly string[] ReidKeys = { "normalize", "mean_pooling" };
    private static readonly string[] QuestionAnsweringKeys = { "end_output", "max_answer", "n_best_size", "no_answer_threshold" };
    /// <summary>yolo_v3's keys, Accuracy Checker's (its configurations' adapters are read with them).</summary>
    internal static readonly string[] GridKeys =
    {
        "outputs", "anchors", "anchor_masks", "num", "classes", "coords", "threshold", "raw_output", "output_format", "cells", "do_reshape", "transpose",
        "output_layout", "multiple_labels",
    };

    /// <summary>
    /// yolo_v2's keys that Accuracy Checker's yolo_v2 adapter has (its output is the adapter's output), also yolo_v3's.
    /// </summary>
    internal static readonly string[] V2GridKeys = { "anchors", "num", "classes", "coords", "raw_output", "output_format", "cells" };

    // The adapters each key applies to (a key of several is checked once).
    private static readonly string[] V3OnlyKeys = { "outputs", "anchor_masks", "do_reshape", "transpose", "output_layout", "multiple_labels", "box_decode" };
    private static readonly string[] ThresholdKeys = { "threshold" };
    private static readonly string[] SoftmaxKeys = { "softmax" };
    private static readonly string[] StridesKeys = { "strides" };
    private static readonly string[] ClassesKeys = { "classes" };
    private static readonly string[] NanoDetKeys = { "reg_max", "legacy" };
    private static readonly string[] ClassAgnosticKeys = { "scale" };
    private static readonly string[] PriorKeys = { "min_sizes", "densities", "variance", "grids", "clip_priors" };

    /// <summary>Accuracy Checker's named anchor sets: yolo_v3's (width, height pairs in input pixels) and yolo_v2's (in grid cells).</summary>
    private static readonly Dictionary<string, double[]> AnchorPresets = new(StringComparer.OrdinalIgnoreCase)
    {
        ["yolo_v3"] = new double[] { 10, 13, 16, 30, 33, 23, 30, 61, 62, 45, 59, 119, 116, 90, 156, 198, 373, 326 },
        ["tiny_yolo_v3"] = new double[] { 10, 14, 23, 27, 37, 58, 81, 82, 135, 169, 344, 319 },
    };
    private static readonly Dictionary<string, double[]> V2AnchorPresets = new(StringComparer.OrdinalIgnoreCase)
    {
        ["yolo_v2"] = new[] { 1.3221, 1.73145, 3.19275, 4.00944, 5.05587, 8.09892, 9.47112, 4.84053, 11.2364, 10.0071 },
        ["tiny_yolo_v2"] = new[] { 1.08, 1.19, 3.42, 4.41, 6.63, 11.38, 9.42, 5.11, 16.62, 10.52 },
    };

    private static readonly Dictionary<string, AdapterType> AdapterWords = new(StringComparer.OrdinalIgnoreCase)
    {
        ["classification"] = AdapterType.Classification,
        ["ctc_greedy"] = AdapterType.CtcGreedy,
        ["identity"] = AdapterType.Identity,
        ["ssd"] = AdapterType.Ssd,
        ["yolo_v8"] = AdapterType.YoloV8,
        ["yolo_v5"] = AdapterType.YoloV5,
        ["yolo_v3"] = AdapterType.YoloV3,
        ["yolo_v2"] = AdapterType.YoloV2,
        ["yolox"] = AdapterType.Yolox,
        ["class_agnostic"] = AdapterType.ClassAgnostic,
        ["prior_boxes"] = AdapterType.PriorBoxes,
        ["yolo_v3_onnx"] = AdapterType.YoloV3Onnx,
        ["nanodet"] = AdapterType.NanoDet,
        ["detr"] = AdapterType.Detr,
        ["segmentation"] = AdapterType.Segmentation,
        ["reid"] = AdapterType.Reid,
        ["question_answering"] = AdapterType.QuestionAnswering,
        ["token_classification"] = AdapterType.TokenClassification,
    };

    private static readonly Dictionary<string, MetricType> MetricWords = new(StringComparer.OrdinalIgnoreCase)
    {
        ["accuracy"] = MetricType.Accuracy,
        ["precision"] = MetricType.Precision,
        ["recall"] = MetricType.Recall,
        ["f1"] = MetricType.F1,
        ["character_recognition_accuracy"] = MetricType.CharacterRecognitionAccuracy,
        ["character_level_accuracy"] = MetricType.CharacterLevelAccuracy,
        ["mse"] = MetricType.MeanSquaredError,
        ["mae"] = MetricType.MeanAbsoluteError,
        ["map"] = MetricType.Map,
        ["coco_precision"] = MetricType.CocoPrecision,
        ["coco_orig_precision"] = MetricType.CocoPrecision,
        ["psnr"] = MetricType.Psnr,
        ["cosine_similarity"] = MetricType.CosineSimilarity,
        ["script"] = MetricType.Script,
        ["fp32_agreement"] = MetricType.Fp32Agreement,
        ["segmentation_accuracy"] = MetricType.SegmentationAccuracy,
        ["mean_iou"] = MetricType.MeanIou,
        ["mean_accuracy"] = MetricType.MeanAccuracy,
        ["frequency_weighted_accuracy"] = MetricType.FrequencyWeightedAccuracy,
        ["cmc"] = MetricType.Cmc,
        ["reid_map"] = MetricType.ReidMap,
        ["squad_f1"] = MetricType.SquadF1,
        ["squad_exact_match"] = MetricType.SquadExactMatch,
        ["qa_embedding_accuracy"] = MetricType.QaEmbeddingAccuracy,
        ["ner_accuracy"] = MetricType.NerAccuracy,
        ["ner_precision"] = MetricType.NerPrecision,
        ["ner_recall"] = MetricType.NerRecall,
        ["ner_f_score"] = MetricType.NerFScore,
    };

    /// <param name="images">A simplified engine's data_source folder is read as images even when it holds .npy files too
    /// (a data_source pattern that selects the folder's images).</param>
    /// <param name="annotationFree">POT's annotation_free: the FP32 model's predictions are the labels, so metrics that
    /// compare with annotations may name data without them (<see cref="EngineDefinition.AnnotationFree"/> then turns
    /// them to FP32 or drops them).</param>
    /// <param name="environment">What an Accuracy Checker configuration takes from the environment; null = this process's.</param>
    public static EngineDefinition Parse(ConfigMap tree, string prefix, string baseFolder, string source, bool images = false, bool annotationFree = false,
        AccuracyCheckerEnvironment? environment = null)
    {
        var warnings = new List<string>();
        var notes = new List<string>();
        if (AccuracyCheckerConfig.Matches(tree))
        {
            // An Accuracy Checker file or model entry: translated into our tree (whose nodes keep the file's lines), then
            // checked as ours with its datasets' key paths.
            var acProblems = new EngineProblems(source, prefix, notes);
            tree = AccuracyCheckerConfig.Translate(tree, acProblems, warnings, notes, baseFolder, environment ?? AccuracyCheckerEnvironment.FromProcess(), out string modelPath);
            acProblems.ThrowIfAny();
            prefix = EngineProblems.Join(prefix, modelPath);
        }
        var engine = ParseEngine(tree, prefix, baseFolder, source, images, annotationFree, notes);
        engine.Warnings = warnings;
        return engine;
    }

    private static EngineDefinition ParseEngine(ConfigMap tree, string prefix, string baseFolder, string source, bool images, bool annotationFree, IReadOnlyList<string> notes)
    {
        var problems = new EngineProblems(source, prefix, notes);
        bool simplified = EngineTree.IsValue(tree["type"]);
        var root = new MapReader(tree, "", problems, simplified ? SimplifiedKeys : TopKeys);

        int? batchSize = root.Int("batch_size", 1, 1 << 20);
        int threads = root.Int("threads", 0, Runtime.OrtSessions.MaxThreads) ?? 0;
        int cache = root.Int("cache_mb", 0, 1 << 20) ?? EngineDefinition.DefaultCacheMegabytes;

        var datasets = new List<DatasetDefinition>();
        var metrics = new List<MetricSpec>();
        if (simplified)
        {
            string? word = root.String("type");
            if (word != null && !word.Trim().Equals("simplified", StringComparison.OrdinalIgnoreCase))
                root.Problem("type", $"'{word}' is not an engine type this module knows: use 'simplified' (data without annotations), or leave type out and describe dataset:, adapter: and metrics:.");
            string? data = root.ExistingPath("data_source", baseFolder, PathKind.FileOrFolder, required: true,
                hint: "Name a folder of .npy files, an .npz/.npy file, an image folder or a .txt file listing images.");
            // POT's image loader also reads layout (else guessed from the model input) and central_fraction (a central
            // crop of each side before the resize to the input).
            var layout = root.Choice("layout", new Dictionary<string, TensorLayout> { ["NCHW"] = TensorLayout.Nchw, ["NHWC"] = TensorLayout.Nhwc });
            double? fraction = root.Double("central_fraction", 0, 1, exclusiveMin: true);
            if (data != null)
            {
                var d = ParseDataSource(root, data, baseFolder, "", 0, forceUnlabelled: true, images ? DatasetFormat.Images : null);
                if (d?.Image is { } image)
                    d = d with
                    {
                        Image = image with
                        {
                            Layout = layout ?? image.Layout,
                            LayoutGiven = layout != null,
                            Steps = fraction is double f ? image.Steps.Append(new CentralFractionStep(f)).ToList() : image.Steps,
                        },
                    };
                else if (d != null && (layout != null || fraction != null))
                    root.Problem(layout != null ? "layout" : "central_fraction", $"applies to images; '{data}' is NumPy data, fed as it is.");
                if (d != null) datasets.Add(d with { Adapter = AdapterDefinition.Identity });
            }
            problems.ThrowIfAny();
            return new EngineDefinition(source, baseFolder, datasets, metrics, batchSize, threads, cache, isSimplified: true);
        }

        // Top-level adapter and metrics apply to every dataset; a dataset may bring its own.
        var topAdapter = root.Has("adapter") ? ParseAdapter(root, "adapter", baseFolder) : null;
        var topMetricMaps = root.List("metrics");

        var datasetMaps = new List<(MapReader Reader, string Path)>();
        if (root.Has("dataset") && root.Has("datasets"))
            root.Problem("datasets", "give either dataset: (one) or datasets: (a list), not both.");
        else if (root.Has("dataset"))
        {
            var m = root.Map("dataset", DatasetKeys);
            if (m != null) datasetMaps.Add((m, "dataset"));
        }
        else if (root.Has("datasets"))
        {
            var list = root.List("datasets");
            if (list != null && list.Count == 0) root.Problem("datasets", "is empty: list at least one dataset.");
            for (int i = 0; list != null && i < list.Count; i++)
            {
                string path = EngineProblems.Index("datasets", i);
                if (list.Items[i] is not ConfigMap map)
                {
                    problems.Add(path, $"must be a mapping with data_source: and more, not {EngineTree.Show(list.Items[i])}.", list.Items[i].Line);
                    continue;
                }
                datasetMaps.Add((new MapReader(map, path, problems, DatasetKeys), path));
            }
        }
        else
        {
            problems.Add("", "has no data: add dataset: with a data_source: (see about_PotPowerShell_Engine).", tree.Line);
        }

        var pendingMetrics = new List<(ConfigNode Raw, string Path, int? Dataset)>();
        for (int i = 0; topMetricMaps != null && i < topMetricMaps.Count; i++)
            pendingMetrics.Add((topMetricMaps.Items[i], EngineProblems.Index("metrics", i), null));

        var datasetAdapters = new List<AdapterDefinition?>();
        // A dataset whose data could not be read: its metrics are not checked against it (it has no annotations only
        // because it was not read).
        var unread = new List<bool>();
        foreach (var (reader, path) in datasetMaps)
        {
            int index = datasets.Count;
            var adapter = reader.Has("adapter") ? ParseAdapter(reader, "adapter", baseFolder) : null;
            var ownMetrics = reader.List("metrics");
            for (int i = 0; ownMetrics != null && i < ownMetrics.Count; i++)
                pendingMetrics.Add((ownMetrics.Items[i], EngineProblems.Index(EngineProblems.Join(path, "metrics"), i), index));
            string? data = reader.ExistingPath("data_source", baseFolder, PathKind.FileOrFolder, required: true,
                hint: "Name a folder of .npy files, an .npz/.npy file or an image folder.");
            DatasetDefinition? d = data == null ? null : ParseDataSource(reader, data, baseFolder, path, index, forceUnlabelled: false);
            // Keep indices aligned with the engine's dataset order even when a dataset has problems.
            datasets.Add(d ?? new DatasetDefinition { Name = $"dataset{index}", DataSource = data ?? "", Format = DatasetFormat.Npy, Adapter = AdapterDefinition.Identity, KeyPath = path });
            datasetAdapters.Add(adapter);
            unread.Add(d == null);
        }

        var all = Enumerable.Range(0, datasets.Count).ToList();
        var metricMaps = new List<ConfigMap>();
        foreach (var (raw, path, dataset) in pendingMetrics)
        {
            var spec = ParseMetric(raw, path, problems, baseFolder, dataset == null ? all : new List<int> { dataset.Value });
            if (spec == null) continue;
            if (metrics.Any(m => m.Name.Equals(spec.Name, StringComparison.Ordinal)))
            {
                problems.Add(EngineProblems.Join(path, "name"), $"the metric name '{spec.Name}' is used twice: give each metric its own name:.", ((ConfigMap)raw).KeyLine("name"));
                continue;
            }
            metrics.Add(spec);
            metricMaps.Add((ConfigMap)raw);
        }

        // Each dataset's adapter: its own, the top-level one, or a default that fits its metrics.
        for (int i = 0; i < datasets.Count; i++)
        {
            var scopedIndices = Enumerable.Range(0, metrics.Count).Where(j => metrics[j].Datasets.Contains(i)).ToList();
            var scoped = scopedIndices.Select(j => metrics[j]).ToList();
            var adapter = datasetAdapters[i] ?? topAdapter ?? DefaultAdapter(scoped);
            if (datasetMaps[i].Reader.Has("postprocessing"))
            {
                if (!adapter.IsDetection)
                    datasetMaps[i].Reader.Problem("postprocessing", $"applies to detections (a detection adapter: ssd, yolo_v8, yolo_v5, yolo_v3, yolo_v2, yolox, yolo_v3_onnx, nanodet, detr, class_agnostic or prior_boxes), but dataset '{datasets[i].Name}' uses the {adapter.Type.ToString().ToLowerInvariant()} adapter.");
                else adapter = adapter with { Postprocessing = ParsePostprocessing(datasetMaps[i].Reader) };
            }
            datasets[i] = datasets[i] with { Adapter = adapter };
            // Annotations written but not read (a file that does not exist) are a problem already: no second one for each metric.
            bool annotationsWritten = AnnotationKeys.Any(datasetMaps[i].Reader.Has);
            if (!unread[i])
                foreach (int j in scopedIndices) CheckMetricFits(metrics[j], metricMaps[j], datasets[i], problems, annotationFree || annotationsWritten && !datasets[i].HasAnnotations);
        }

        problems.ThrowIfAny();
        return new EngineDefinition(source, baseFolder, datasets, metrics, batchSize, threads, cache, isSimplified: false);
    }

    /// <summary>The dataset keys that annotate its items.</summary>
    private static readonly string[] AnnotationKeys = { "labels", "annotation_file", "voc_annotations", "wider_annotations", "cvat_annotations", "class_folders", "masks", "camvid_list", "reid_layout", "reid_gallery" };

    private static AdapterDefinition DefaultAdapter(IReadOnlyList<MetricSpec> metrics) =>
        metrics.Any(m => m.Type is MetricType.Accuracy or MetricType.Precision or MetricType.Recall or MetricType.F1 or MetricType.Fp32Agreement) ? AdapterDefinition.Classification
        : metrics.Any(m => m.IsSegmentation) ? new AdapterDefinition(AdapterType.Segmentation)
        : metrics.Any(m => m.IsReid) ? new AdapterDefinition(AdapterType.Reid)
        : metrics.Any(m => m.IsQuestionAnswering) ? new AdapterDefinition(AdapterType.QuestionAnswering, QuestionAnsweringAdapter.DefaultStart)
        : metrics.Any(m => m.Type == MetricType.QaEmbeddingAccuracy) ? new AdapterDefinition(AdapterType.Reid) { NormalizeEmbeddings = false }
        : metrics.Any(m => m.IsNer) ? new AdapterDefinition(AdapterType.TokenClassification)
        : AdapterDefinition.Identity;

    /// <param name="annotationsAside">Whether metrics may lack annotations: POT's annotation_free, or annotations written
    /// but not read (their problem is raised already).</param>
    private static void CheckMetricFits(MetricSpec metric, ConfigMap node, DatasetDefinition dataset, EngineProblems problems, bool annotationsAside)
    {
        var adapter = dataset.Adapter;
        int typeLine = node.KeyLine("type");
        switch (metric.Type)
        {
            case MetricType.Accuracy or MetricType.Precision or MetricType.Recall or MetricType.F1 when adapter.Type == AdapterType.CtcGreedy:
                problems.Add(EngineProblems.Join(metric.KeyPath, "type"),
                    $"{metric.Type.ToString().ToLowerInvariant()} needs class scores, but dataset '{dataset.Name}' uses the ctc_greedy adapter: use adapter type classification, or a text metric.", typeLine);
                break;
            case MetricType.CharacterRecognitionAccuracy or MetricType.CharacterLevelAccuracy when adapter.Type != AdapterType.CtcGreedy:
                problems.Add(EngineProblems.Join(metric.KeyPath, "type"),
                    $"this text metric compares decoded text, but dataset '{dataset.Name}' has no ctc_greedy adapter: add adapter: {{type: ctc_greedy, dictionary: ..., blank_index: ...}}.", typeLine);
                break;
        }
        if (metric.Type is MetricType.Map or MetricType.CocoPrecision && !adapter.IsDetection)
            problems.Add(EngineProblems.Join(metric.KeyPath, "type"),
                $"{(metric.Type == MetricType.Map ? "map" : "coco_precision")} compares detections, but dataset '{dataset.Name}' uses the {adapter.Type.ToString().ToLowerInvariant()} adapter: use a detection adapter (ssd, yolo_v8, yolo_v5, yolo_v3, yolo_v2, yolox, yolo_v3_onnx, nanodet, detr, class_agnostic or prior_boxes).", typeLine);
        if (metric.IsSegmentation && adapter.Type != AdapterType.Segmentation)
            problems.Add(EngineProblems.Join(metric.KeyPath, "type"),
                $"{EngineTree.TextOf(node["type"])?.Trim()} compares class maps, but dataset '{dataset.Name}' uses the {adapter.Type.ToString().ToLowerInvariant()} adapter: use adapter type segmentation.", typeLine);
        if (metric.IsReid && adapter.Type != AdapterType.Reid)
            problems.Add(EngineProblems.Join(metric.KeyPath, "type"),
                $"{EngineTree.TextOf(node["type"])?.Trim()} compares embeddings, but dataset '{dataset.Name}' uses the {adapter.Type.ToString().ToLowerInvariant()} adapter: use adapter type reid.", typeLine);
        if (metric.IsReid && !dataset.HasReid && (dataset.HasAnnotations || !annotationsAside))
            problems.Add(metric.KeyPath, $"metric '{metric.Name}' ranks a gallery for each query: give dataset '{dataset.Name}' a re-identification set (reid_layout: market1501 or veri776) or retrieval lists (reid_gallery: and reid_queries:).", node.Line);
        else if (dataset.HasReid && !metric.IsReid && metric.RequiresAnnotation)
            problems.Add(metric.KeyPath, $"metric '{metric.Name}' compares with labels, but dataset '{dataset.Name}' annotates ids and cameras (reid_layout): use cmc or reid_map.", node.Line);
        if (metric.IsQuestionAnswering && adapter.Type != AdapterType.QuestionAnswering)
            problems.Add(EngineProblems.Join(metric.KeyPath, "type"),
                $"{EngineTree.TextOf(node["type"])?.Trim()} compares answer texts, but dataset '{dataset.Name}' uses the {adapter.Type.ToString().ToLowerInvariant()} adapter: use adapter type question_answering.", typeLine);
        bool retrieval = metric.Type == MetricType.QaEmbeddingAccuracy, squadMetric = metric.IsQuestionAnswering || retrieval;
        if (squadMetric != (dataset.Squad != null) && (metric.RequiresAnnotation || squadMetric) && (dataset.HasAnnotations || !annotationsAside))
            problems.Add(metric.KeyPath, squadMetric
                ? $"metric '{metric.Name}' reads a SQuAD file's questions: give dataset '{dataset.Name}' format: squad with its .json file and vocab_file:{(retrieval ? " and squad_layout: embeddings" : "")}."
                : $"metric '{metric.Name}' compares with labels, but dataset '{dataset.Name}' holds SQuAD questions: use squad_f1, squad_exact_match or qa_embedding_accuracy.", node.Line);
        else if (dataset.Squad is { } squad && squadMetric && squad.Embeddings != retrieval)
            problems.Add(metric.KeyPath, retrieval
                ? $"metric '{metric.Name}' ranks contexts by embedding: give dataset '{dataset.Name}' squad_layout: embeddings."
                : $"metric '{metric.Name}' scores answers in windows, but dataset '{dataset.Name}' has squad_layout: embeddings: use qa_embedding_accuracy.", node.Line);
        if (retrieval && adapter.Type != AdapterType.Reid)
            problems.Add(EngineProblems.Join(metric.KeyPath, "type"),
                $"qa_embedding_accuracy compares embeddings, but dataset '{dataset.Name}' uses the {adapter.Type.ToString().ToLowerInvariant()} adapter: use adapter type reid (normalize: false for the embeddings as they are).", typeLine);
        if (metric.IsNer && adapter.Type != AdapterType.TokenClassification)
            problems.Add(EngineProblems.Join(metric.KeyPath, "type"),
                $"{EngineTree.TextOf(node["type"])?.Trim()} compares each token's class, but dataset '{dataset.Name}' uses the {adapter.Type.ToString().ToLowerInvariant()} adapter: use adapter type token_classification.", typeLine);
        if (metric.IsNer != (dataset.Conll != null) && (metric.RequiresAnnotation || metric.IsNer) && (dataset.HasAnnotations || !annotationsAside))
            problems.Add(metric.KeyPath, metric.IsNer
                ? $"metric '{metric.Name}' compares each word's entity label: give dataset '{dataset.Name}' format: conll with its CoNLL file and vocab_file:."
                : $"metric '{metric.Name}' compares with labels, but dataset '{dataset.Name}' holds sentences labelled per word: use ner_accuracy, ner_precision, ner_recall or ner_f_score.", node.Line);
        if (metric.Type is MetricType.Map or MetricType.CocoPrecision && dataset.HasAnnotations && !dataset.HasBoxes)
            problems.Add(metric.KeyPath, $"metric '{metric.Name}' needs boxes: annotate dataset '{dataset.Name}' with a COCO detection file (annotation_file: instances.json), VOC annotations (voc_annotations: Annotations), WIDER FACE's (wider_annotations: wider_face_val_bbx_gt.txt) or CVAT's (cvat_annotations: annotations.xml).", node.Line);
        if (metric.RequiresAnnotation && !dataset.HasAnnotations && !annotationsAside && !metric.IsReid && !metric.IsQuestionAnswering && !metric.IsNer)
            problems.Add(metric.KeyPath,
                $"metric '{metric.Name}' compares with annotations, but dataset '{dataset.Name}' has none: add labels: (.npy or .txt) or annotation_file: (images){(metric.Type is MetricType.MeanSquaredError or MetricType.MeanAbsoluteError or MetricType.Psnr or MetricType.CosineSimilarity ? ", or compare with the FP32 model (reference: fp32)" : "")}.", node.Line);
    }

    private static AdapterDefinition? ParseAdapter(MapReader parent, string key, string baseFolder)
    {
        string path = parent.KeyPath(key);
        var raw = parent.Raw(key);
        if (raw is ConfigScalar)
        {
            var t = parent.Choice(key, AdapterWords);
            if (t == null) return null;
            if (t == AdapterType.CtcGreedy)
            {
                parent.Problem(key, "ctc_greedy needs a dictionary: write it as a mapping: {type: ctc_greedy, dictionary: chars.txt, blank_index: 0}.");
                return null;
            }
            return new AdapterDefinition(t.Value, KeyPath: path);
        }
        var m = parent.Map(key, AdapterKeys);
        if (m == null) return null;
        var type = m.Choice("type", AdapterWords, required: true);
        string? output = m.String("output");
        foreach (var (keys, owners) in new[]
                 {
                     (ClassificationKeys, new[] { AdapterType.Classification }), (CtcKeys, new[] { AdapterType.CtcGreedy }), (SsdKeys, new[] { AdapterType.Ssd }),
                     (NormalizedKeys, new[] { AdapterType.Ssd, AdapterType.ClassAgnostic }),
                     (YoloKeys, new[] { AdapterType.YoloV8, AdapterType.YoloV5, AdapterType.NanoDet, AdapterType.PriorBoxes }), (SegmentationKeys, new[] { AdapterType.Segmentation }), (ReidKeys, new[] { AdapterType.Reid }),
                     (QuestionAnsweringKeys, new[] { AdapterType.QuestionAnswering }),
                     (ConfidenceKeys, new[] { AdapterType.YoloV8, AdapterType.YoloV5, AdapterType.NanoDet, AdapterType.Ssd, AdapterType.PriorBoxes }),
                     (PriorKeys, new[] { AdapterType.PriorBoxes }),
                     (V3OnlyKeys, new[] { AdapterType.YoloV3 }), (V2GridKeys.Except(ClassesKeys).ToArray(), new[] { AdapterType.YoloV3, AdapterType.YoloV2 }),
                     (ClassesKeys, new[] { AdapterType.YoloV3, AdapterType.YoloV2, AdapterType.NanoDet }), (NanoDetKeys, new[] { AdapterType.NanoDet }),
                     (ThresholdKeys, new[] { AdapterType.YoloV3, AdapterType.YoloV2, AdapterType.Yolox }), (SoftmaxKeys, new[] { AdapterType.YoloV2 }),
                     (StridesKeys, new[] { AdapterType.Yolox, AdapterType.NanoDet, AdapterType.PriorBoxes }), (ClassAgnosticKeys, new[] { AdapterType.ClassAgnostic }),
                     (ScoresKeys, new[] { AdapterType.Ssd, AdapterType.YoloV3Onnx, AdapterType.Detr, AdapterType.PriorBoxes }), (IndicesKeys, new[] { AdapterType.YoloV3Onnx }),
                 })
            if (type == null || !owners.Contains(type.Value))
                foreach (var k in keys.Where(m.Has))
                {
                    var names = owners.Select(o => AdapterWords.First(kv => kv.Value == o).Key).ToList();
                    string list = names.Count == 1 ? names[0] : $"{string.Join(", ", names.Take(names.Count - 1))} and {names[^1]}";
                    m.Problem(k, $"applies to the {list} adapter{(names.Count > 1 ? "s" : "")} only.");
                }
        if (type == AdapterType.Ssd)
        {
            // Without labels: and scores: the one output holds DetectionOutput rows [1, 1, M, 7]; with scores: alone,
            // scores are per box and class [N, classes], class 0 the background; with labels: alone, each box's score
            // is its fifth column.
            string? labels = m.String("labels");
            string? scores = m.String("scores");
            if (output == null && (scores != null || labels != null))
                m.Problem("output", $"is required when {(scores != null ? "scores" : "labels")} is given: the output of boxes [N, {(scores != null ? 4 : 5)}] (x1, y1, x2, y2{(scores != null ? "" : ", score")}).");
            if (m.Has("conf_threshold") && (scores == null || labels != null))
                m.Problem("conf_threshold", "applies to ssd with scores: of every class (and no labels:) only.");
            foreach (var tfKey in new[] { "num_detections", "box_order" })
                if (m.Has(tfKey) && (scores == null || labels == null)) m.Problem(tfKey, "applies to ssd with labels: and scores: (three outputs) only.");
            bool yFirst = m.Choice("box_order", new Dictionary<string, bool> { ["x1y1x2y2"] = false, ["y1x1y2x2"] = true }) ?? false;
            // normalized: false says the boxes are in the input's pixels, as torchvision's detection models give them.
            return new AdapterDefinition(AdapterType.Ssd, output, KeyPath: path)
            {
                LabelsOutput = labels, ScoresOutput = scores, NormalizedBoxes = m.Bool("normalized") ?? true, ConfidenceThreshold = m.Double("conf_threshold", 0, 1) ?? 0.05,
                CountOutput = m.String("num_detections"), BoxesYFirst = yFirst,
            };
        }
        // make_argmax: the class map is the per-pixel argmax of class scores either way (as Accuracy Checker's metrics
        // take it with their default use_argmax), so both values are read and mean the same.
        if (type == AdapterType.Segmentation) m.Bool("make_argmax");
        if (type == AdapterType.Reid)
            return new AdapterDefinition(AdapterType.Reid, output, KeyPath: path) { NormalizeEmbeddings = m.Bool("normalize") ?? true, MeanPooling = m.Bool("mean_pooling") ?? false };
        if (type == AdapterType.QuestionAnswering)
            return new AdapterDefinition(AdapterType.QuestionAnswering, output ?? QuestionAnsweringAdapter.DefaultStart, KeyPath: path)
            {
                EndOutput = m.String("end_output"), MaxAnswer = m.Int("max_answer", 1, 1 << 16) ?? 30, NBestSize = m.Int("n_best_size", 1, 1 << 16) ?? 20,
                NoAnswerThreshold = m.Double("no_answer_threshold", double.MinValue, double.MaxValue),
            };
        if (type == AdapterType.YoloV3) return ParseGrid(m, path);
        if (type == AdapterType.YoloV2) return ParseV2Grid(m, output, path);
        if (type == AdapterType.Yolox) return ParseYolox(m, output, path);
        if (type == AdapterType.NanoDet)
            return Strides(m) is { } strides
                ? new AdapterDefinition(AdapterType.NanoDet, output, KeyPath: path)
                {
                    Classes = m.Int("classes", 1, 1 << 16) ?? 80,
                    ConfidenceThreshold = m.Double("conf_threshold", 0, 1) ?? 0.05,
                    NmsThreshold = m.Double("nms_threshold", 0, 1) ?? 0.6,
                    MaxDetections = m.Int("max_detections", 1, 1 << 20) ?? 100,
                    RegMax = m.Int("reg_max", 0, 1 << 10) ?? 7,
                    CellCentres = m.Bool("legacy") ?? false,
                    Strides = strides,
                }
                : null;
        if (type == AdapterType.ClassAgnostic) return ParseClassAgnostic(m, output, path);
        if (type == AdapterType.PriorBoxes) return ParsePriorBoxes(m, output, path);
        if (type is AdapterType.YoloV3Onnx or AdapterType.Detr)
        {
            // Outputs each required: a model of several outputs has no default for them.
            var required = type == AdapterType.Detr
                ? new[] { ("output", "boxes [N, 4] (centre x, centre y, width, height as fractions of the input)"), ("scores", "class logits [N, classes + 1]") }
                : new[] { ("output", "boxes [N, 4] (y1, x1, y2, x2 in the image's pixels)"), ("scores", "scores [classes, N]"), ("indices", "the selected indices [M, 3] (image, class, box)") };
            foreach (var (name, what) in required)
                if (m.String(name) == null) m.Problem(name, $"is required for {(type == AdapterType.Detr ? "detr" : "yolo_v3_onnx")}: the model output of {what}.");
            return new AdapterDefinition(type.Value, output, KeyPath: path) { ScoresOutput = m.String("scores"), IndicesOutput = m.String("indices") };
        }
        if (type is AdapterType.YoloV8 or AdapterType.YoloV5)
            return new AdapterDefinition(type.Value, output, KeyPath: path)
            {
                ConfidenceThreshold = m.Double("conf_threshold", 0, 1) ?? 0.25,
                NmsThreshold = m.Double("nms_threshold", 0, 1) ?? 0.5,
                MaxDetections = m.Int("max_detections", 1, 1 << 20) ?? 300,
            };
        // argmax_output (Accuracy Checker's): the output holds each item's class itself, as a model that ends in ArgMax
        // gives it; an output of integers is read so without it.
        if (type == AdapterType.Classification) return new AdapterDefinition(AdapterType.Classification, output, KeyPath: path) { ArgmaxOutput = m.Bool("argmax_output") ?? false };
        if (type != AdapterType.CtcGreedy) return type == null ? null : new AdapterDefinition(type.Value, output, KeyPath: path);
        int blank = m.Int("blank_index", 0, 1 << 20) ?? 0;
        var layout = m.Choice("layout", new Dictionary<string, CtcLayout> { ["NTC"] = CtcLayout.Ntc, ["TNC"] = CtcLayout.Tnc }) ?? CtcLayout.Ntc;
        IReadOnlyList<string>? symbols = null;
        if (m.Has("dictionary") && m.Has("alphabet"))
            m.Problem("alphabet", "give either dictionary: (a file) or alphabet: (inline text), not both.");
        else if (m.Has("dictionary"))
        {
            string? file = m.ExistingPath("dictionary", baseFolder, PathKind.File);
            if (file != null)
            {
                symbols = TextFiles.ReadLines(file);
                if (symbols.Count == 0) m.Problem("dictionary", $"'{file}' is empty: list one symbol per line, in class-index order.");
            }
        }
        else if (m.Has("alphabet"))
        {
            string? alphabet = m.String("alphabet");
            if (alphabet != null)
            {
                symbols = EditDistance.CodePoints(alphabet).Select(char.ConvertFromUtf32).ToList();
                if (symbols.Count == 0) m.Problem("alphabet", "is empty: give the symbols in class-index order, e.g. '0123456789'.");
            }
        }
        else
        {
            m.Problem("dictionary", "is required for ctc_greedy: a UTF-8 file with one symbol per line in class-index order (or alphabet: 'abc...').");
        }
        int beam = m.Int("beam_size", 1, 1 << 12) ?? 1;
        bool probabilities = m.Bool("probabilities") ?? false;
        if (m.Has("probabilities") && beam == 1) m.Problem("probabilities", "applies with beam_size above 1 (the best class per step is the same either way).");
        return new AdapterDefinition(AdapterType.CtcGreedy, output, symbols, blank, layout, path) { BeamSize = beam, Probabilities = probabilities };
    }

    private static MetricSpec? ParseMetric(ConfigNode raw, string path, EngineProblems problems, string baseFolder, IReadOnlyList<int> datasets)
    {
        if (raw is not ConfigMap map)
        {
            problems.Add(path, $"must be a mapping such as {{name: top1, type: accuracy, top_k: 1}}, not {EngineTree.Show(raw)}.", raw.Line);
            return null;
        }
        // Read the type first: the keys a metric accepts depend on it.
        var probe = new MapReader(Only(map, "type"), path, problems, new[] { "type" });
        var type = probe.Choice("type", MetricWords, required: true);
        bool pycocotools = EngineTree.TextOf(map["type"])?.Trim().ToLowerInvariant() == "coco_orig_precision";
        var keys = new List<string> { "name", "type" };
        keys.AddRange(type switch
        {
            MetricType.Accuracy => new[] { "top_k" },
            MetricType.Precision or MetricType.Recall or MetricType.F1 => new[] { "average" },
            MetricType.MeanSquaredError or MetricType.MeanAbsoluteError or MetricType.CosineSimilarity => new[] { "reference", "output" },
            MetricType.Map => new[] { "overlap_threshold", "integral", "include_boundaries", "reference", "reference_confidence", "matching", "allow_multiple_matches_per_ignored", "distinct_conf", "use_filtered_tp", "ignore_difficult" },
            // coco_orig_precision keeps pycocotools' 100 detections per image and class.
            MetricType.CocoPrecision when pycocotools => new[] { "threshold", "include_boundaries", "reference", "reference_confidence" },
            MetricType.CocoPrecision => new[] { "threshold", "max_detections", "include_boundaries", "reference", "reference_confidence", "matching" },
            MetricType.Psnr => new[] { "reference", "output", "max_value" },
            MetricType.Fp32Agreement => new[] { "output", "threshold" },
            MetricType.Script => new[] { "path", "direction", "requires_annotation", "level" },
            MetricType.CharacterRecognitionAccuracy or MetricType.CharacterLevelAccuracy => new[] { "remove_spaces", "ignore_case" },
            MetricType.SegmentationAccuracy or MetricType.MeanIou or MetricType.MeanAccuracy or MetricType.FrequencyWeightedAccuracy => new[] { "use_argmax", "ignore_label", "reference" },
            MetricType.Cmc => new[] { "top_k", "separate_camera_set", "first_match_break" },
            MetricType.ReidMap => new[] { "interpolated_auc" },
            MetricType.SquadF1 or MetricType.SquadExactMatch => new[] { "reference" },
            MetricType.QaEmbeddingAccuracy => new[] { "top_k" },
            MetricType.NerAccuracy or MetricType.NerPrecision or MetricType.NerRecall or MetricType.NerFScore => new[] { "include_all_tokens", "reference" },
            _ => Array.Empty<string>(),
        });
        var m = new MapReader(type == null ? new ConfigMap(map.Line) : map, path, problems, keys);
        if (type == null) return null;

        // qa_embedding_accuracy's top_k is 5 unless given, as Accuracy Checker's.
        int topK = m.Int("top_k", 1, 1 << 20) ?? (type == MetricType.QaEmbeddingAccuracy ? 5 : 1);
        var average = m.Choice("average", new Dictionary<string, AverageKind> { ["macro"] = AverageKind.Macro, ["micro"] = AverageKind.Micro, ["weighted"] = AverageKind.Weighted }) ?? AverageKind.Macro;
        var reference = m.Choice("reference", new Dictionary<string, MetricReference> { ["annotation"] = MetricReference.Annotation, ["fp32"] = MetricReference.Fp32 })
            ?? (type is MetricType.CosineSimilarity or MetricType.Fp32Agreement ? MetricReference.Fp32 : MetricReference.Annotation);
        // fp32_agreement: items where the FP32 model's top-1 confidence is below the threshold are left out. Detection
        // metrics against FP32: its detections below reference_confidence are no objects.
        double threshold = type switch
        {
            MetricType.Fp32Agreement => m.Double("threshold", 0, 1) ?? 0,
            MetricType.Map or MetricType.CocoPrecision => m.Double("reference_confidence", 0, 1) ?? DefaultReferenceConfidence,
            _ => 0,
        };
        if (m.Has("reference_confidence") && reference != MetricReference.Fp32)
            m.Problem("reference_confidence", "applies with reference: fp32 (the FP32 model's detections as the objects); add it, or remove reference_confidence.");
        double maxValue = m.Double("max_value", 0, double.MaxValue, exclusiveMin: true) ?? 255;
        string? output = m.String("output");
        bool removeSpaces = m.Bool("remove_spaces") ?? false;
        bool ignoreCase = m.Bool("ignore_case") ?? false;
        string? script = null;
        bool scriptNeedsAnnotation = true;
        var direction = type switch
        {
            MetricType.MeanSquaredError or MetricType.MeanAbsoluteError => MetricDirection.HigherWorse,
            _ => MetricDirection.HigherBetter,
        };
        if (type == MetricType.Script)
        {
            script = m.ExistingPath("path", baseFolder, PathKind.File, required: true, hint: "Name a .ps1 file that returns one number per sample.");
            if (script != null && !script.EndsWith(".ps1", StringComparison.OrdinalIgnoreCase))
                m.Problem("path", $"'{script}' is not a .ps1 script file.");
            direction = m.Choice("direction", DirectionWords) ?? MetricDirection.HigherBetter;
            scriptNeedsAnnotation = m.Bool("requires_annotation") ?? true;
        }
        var level = type == MetricType.Script ? m.Choice("level", new Dictionary<string, MetricLevel> { ["item"] = MetricLevel.Item, ["dataset"] = MetricLevel.Dataset }) ?? MetricLevel.Item : MetricLevel.Item;
        double overlap = m.Double("overlap_threshold", 0, 1) ?? 0.5;
        var integral = m.Choice("integral", new Dictionary<string, ApIntegral> { ["max"] = ApIntegral.Area, ["11point"] = ApIntegral.ElevenPoint }) ?? ApIntegral.Area;
        bool boundaries = m.Bool("include_boundaries") ?? true;
        // map's matching: VOC's devkit, or Accuracy Checker's with its own keys; coco_precision's: COCO's, or Accuracy Checker's.
        bool accuracyChecker = m.Choice("matching", new Dictionary<string, bool> { [type == MetricType.Map ? "voc" : "coco"] = false, ["accuracy_checker"] = true }) ?? false;
        bool multiplePerIgnored = m.Bool("allow_multiple_matches_per_ignored") ?? false, distinctConf = m.Bool("distinct_conf") ?? false, filteredTp = m.Bool("use_filtered_tp") ?? false;
        foreach (var key in new[] { "allow_multiple_matches_per_ignored", "distinct_conf", "use_filtered_tp" })
            if (!accuracyChecker && m.Has(key)) m.Problem(key, "applies with matching: accuracy_checker (as Accuracy Checker's map matches).");
        int maxDetections = m.Int("max_detections", 1, 1 << 20) ?? 100;
        var thresholds = m.Has("threshold") ? IouThresholds(m) : null;
        // use_argmax (Accuracy Checker's, default true): the segmentation adapter's class map is the argmax of class
        // scores, or the model's own class map; false says the output is that map (Open Model Zoo's deeplabv3 ends in
        // an ArgMax), and a model that outputs scores instead is an error when it is evaluated.
        bool useArgmax = m.Bool("use_argmax") ?? true;
        long? ignoreLabel = m.Has("ignore_label") ? m.Int("ignore_label", 0, int.MaxValue) : null;
        string name = m.String("name") ?? type switch
        {
            MetricType.Accuracy => $"accuracy@top{topK}",
            MetricType.Cmc => $"rank@{topK}",
            _ => EngineTree.TextOf(map["type"])?.Trim().ToLowerInvariant() ?? "metric",
        };
        if (name.Trim().Length == 0)
        {
            m.Problem("name", "is empty: AccuracyAwareQuantization refers to metrics by name.");
            return null;
        }
        var spec = new MetricSpec(name.Trim(), type.Value, direction, datasets, path, topK, average, reference, output, maxValue, script, scriptNeedsAnnotation, removeSpaces, ignoreCase, threshold)
        {
            Level = level,
            OverlapThreshold = overlap,
            Integral = integral,
            IncludeBoundaries = boundaries,
            MaxDetections = maxDetections,
            PycocotoolsOverlap = pycocotools,
            AccuracyCheckerMatching = accuracyChecker ? new AccuracyCheckerMatching(multiplePerIgnored, distinctConf, filteredTp) : null,
            IgnoreDifficult = m.Bool("ignore_difficult") ?? true,
            IgnoreLabel = ignoreLabel,
            UseArgmax = useArgmax,
            SeparateCameraSet = m.Bool("separate_camera_set") ?? false,
            FirstMatchBreak = m.Bool("first_match_break") ?? true,
            InterpolatedAuc = m.Bool("interpolated_auc") ?? true,
            IncludeAllTokens = m.Bool("include_all_tokens") ?? false,
        };
        return thresholds == null ? spec : spec with { IouThresholds = thresholds };
    }

    /// <summary>
    /// reference_confidence's default: an FP32 detection is an object when the model gives it at least an even chance;
    /// lower-scored ones are the ones quantization noise reorders, and would count as objects missed.
    /// </summary>
    public const double DefaultReferenceConfidence = 0.5;

    /// <summary>The entry of <paramref name="key"/> alone (with its line), or an empty mapping.</summary>
    private static ConfigMap Only(ConfigMap map, string key)
    {
        var only = new ConfigMap(map.Line);
        if (map[key] is { } value) only.Add(key, value, map.KeyLine(key));
        return only;
    }

    /// <summary>
    /// coco_precision's threshold: one IoU, a list of them, or a range 'start:step:end' as Accuracy Checker writes it
    /// ('.50:.05:.95', both ends included).
    /// </summary>
    private static IReadOnlyList<double>? IouThresholds(MapReader m)
    {
        var raw = m.Raw("threshold");
        const string hint = "give an IoU such as 0.5, a list of them, or a range start:step:end such as .50:.05:.95.";
        if (EngineTree.TextOf(raw) is { } text && text.Split(':') is { Length: 3 } parts)
        {
            var v = parts.Select(p => double.TryParse(p.Trim(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double x) ? x : double.NaN).ToArray();
            if (v.All(double.IsFinite) && v[1] > 0 && v[0] > 0 && v[2] <= 1 && v[0] <= v[2])
                return Enumerable.Range(0, (int)Math.Floor((v[2] - v[0]) / v[1] + 1e-9) + 1).Select(i => Math.Round((v[0] + i * v[1]) * 1e6) / 1e6).ToArray();
            m.Problem("threshold", $"'{text}' is not a range of IoUs in (0, 1]: {hint}");
            return null;
        }
        var values = (raw is ConfigList list ? list.Items.ToArray() : new[] { raw }).Select(MapReader.ToDouble).ToList();
        if (values.Count > 0 && values.All(x => x is > 0 and <= 1)) return values.Select(x => x!.Value).ToArray();
        m.Problem("threshold", $"{EngineTree.Show(raw)} is not an IoU in (0, 1]: {hint}");
        return null;
    }

    // Before PostprocessingKeys, whose initializer reads it.
    private static readonly Dictionary<string, FilterKind> FilterKeys = new(StringComparer.Ordinal)
    {
        ["labels"] = FilterKind.Labels, ["min_confidence"] = FilterKind.MinConfidence, ["top_k"] = FilterKind.TopK,
        ["height_range"] = FilterKind.HeightRange, ["width_range"] = FilterKind.WidthRange, ["aspect_ratio"] = FilterKind.AspectRatio,
        ["area_ratio"] = FilterKind.AreaRatio, ["is_empty"] = FilterKind.IsEmpty, ["invalid_boxes"] = FilterKind.InvalidBoxes,
    };

    private static readonly Dictionary<string, string[]> PostprocessingKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        ["nms"] = new[] { "type", "overlap", "include_boundaries", "per_class", "keep_top_k" },
        ["diou_nms"] = new[] { "type", "overlap", "include_boundaries", "per_class", "keep_top_k" },
        ["filter"] = new[] { "type", "apply_to", "remove_filtered" }.Concat(FilterKeys.Keys).ToArray(),
        ["clip_boxes"] = new[] { "type", "apply_to", "size", "dst_width", "dst_height", "to" },
        ["cast_to_int"] = new[] { "type", "round_policy", "apply_to" },
        ["shift_labels"] = new[] { "type", "offset" },
    };

    /// <summary>yolo_v3: its grids (<see cref="YoloGrid"/>), with Accuracy Checker's keys and defaults.</summary>
    private static AdapterDefinition? ParseGrid(MapReader m, string path)
    {
        var outputs = m.List("outputs")?.Items.Select(EngineTree.TextOf).ToList();
        if (outputs == null || outputs.Count == 0 || outputs.Any(o => string.IsNullOrWhiteSpace(o)))
        {
            m.Problem("outputs", "is required: the model outputs of the grids, one name each, in the order of cells and anchor_masks.");
            return null;
        }
        var anchors = Anchors(m, AnchorPresets, "yolo_v3", "10,13, 16,30, ...");
        int num = m.Int("num", 1, 1 << 10) ?? 3;
        int classes = m.Int("classes", 1, 1 << 16) ?? 80;
        Coords(m);
        if (m.Bool("multiple_labels") == true) m.Problem("multiple_labels", "is not supported: each candidate takes its best class.");
        List<IReadOnlyList<int>>? masks = null;
        if (m.List("anchor_masks") is { } maskList)
        {
            masks = new();
            foreach (var item in maskList.Items)
            {
                var ids = (item as ConfigList)?.Items.Select(MapReader.ToDouble).ToList();
                if (ids == null || ids.Count == 0 || ids.Any(i => i is not double d || d != Math.Floor(d) || d < 0 || anchors != null && d >= anchors.Length / 2))
                {
                    m.Problem("anchor_masks", $"must list, per output, the indices of its anchors (0 to {(anchors?.Length ?? 2) / 2 - 1}), not {EngineTree.Show(item)}.");
                    return null;
                }
                masks.Add(ids.Select(i => (int)i!.Value).ToList());
            }
            if (masks.Count != outputs.Count) m.Problem("anchor_masks", $"lists {masks.Count} masks for {outputs.Count} outputs: give one per output.");
        }
        else if (anchors != null && anchors.Length / 2 < num) m.Problem("num", $"is {num}, but anchors gives {anchors.Length / 2} pairs.");
        var cells = m.List("cells") is { } cellList ? cellList.Items.Select(c => MapReader.ToDouble(c) is double d && d >= 1 && d == Math.Floor(d) ? (int)d : -1).ToList() : new List<int> { 13, 26, 52 };
        if (cells.Any(c => c < 1)) m.Problem("cells", "must list whole numbers of at least 1, a grid size per output.");
        bool reshape = m.Bool("do_reshape") ?? false;
        if (reshape && cells.Count != outputs.Count) m.Problem("cells", $"lists {cells.Count} grid sizes for {outputs.Count} outputs: do_reshape needs one per output.");
        List<int>? transpose = null;
        if (m.List("transpose") is { } t)
        {
            transpose = t.Items.Select(x => MapReader.ToDouble(x) is double d ? (int)d : -1).ToList();
            if (!transpose.OrderBy(x => x).SequenceEqual(new[] { 0, 1, 2 })) m.Problem("transpose", "must be an order of the three axes of an item's output, such as [1, 2, 0].");
        }
        var format = m.Choice("output_format", new Dictionary<string, bool> { ["BHW"] = false, ["HWB"] = true }) ?? false;
        var layout = m.Choice("output_layout", new Dictionary<string, bool> { ["NCHW"] = false, ["NHWC"] = true }) ?? false;
        double threshold = m.Double("threshold", 0, 1) ?? 0.001;
        bool rawOutput = m.Bool("raw_output") ?? false;
        // box_decode: yolo_v5 decodes raw grids as YOLOv5 does (Accuracy Checker's yolo_v5 adapter).
        bool v5 = m.Choice("box_decode", new Dictionary<string, bool> { ["yolo_v3"] = false, ["yolo_v5"] = true }) ?? false;
        if (v5 && !rawOutput) m.Problem("box_decode", "yolo_v5 decodes raw grids: it applies with raw_output: true.");
        if (anchors == null) return null;
        return new AdapterDefinition(AdapterType.YoloV3, outputs[0], KeyPath: path)
        {
            NormalizedBoxes = true,
            Grid = new YoloGrid(outputs!, anchors, masks, num, classes, threshold, rawOutput, format, cells, reshape, transpose, layout) { V5Boxes = v5 },
        };
    }

    /// <summary>The anchors: a preset's name, or width, height pairs of positive numbers (a list or comma text).</summary>
    private static double[]? Anchors(MapReader m, Dictionary<string, double[]> presets, string preset, string example)
    {
        var raw = m.Raw("anchors");
        if (raw == null) return presets[preset];
        if (EngineTree.TextOf(raw) is { } word && presets.TryGetValue(word.Trim(), out var named)) return named;
        if (MapReader.NumberList(raw) is { } given && given.Length % 2 == 0 && given.Length > 0 && given.All(a => a > 0 && double.IsFinite(a))) return given;
        m.Problem("anchors", $"must be {string.Join(" or ", presets.Keys)}, or width, height pairs of positive numbers ('{example}'), not {EngineTree.Show(raw)}.");
        return null;
    }

    private static void Coords(MapReader m)
    {
        if (m.Int("coords", 1, 1 << 10) is int coords && coords != 4) m.Problem("coords", $"is {coords}: boxes of 4 coordinates (x, y, width, height) are read.");
    }

    /// <summary>
    /// yolo_v2: one grid, Accuracy Checker's keys and defaults (anchors in grid cells, 5 of them, 20 classes, a 13x13
    /// grid where the output must be reshaped) and <c>softmax</c>, ours: how raw class scores become probabilities.
    /// </summary>
    private static AdapterDefinition? ParseV2Grid(MapReader m, string? output, string path)
    {
        var anchors = Anchors(m, V2AnchorPresets, "yolo_v2", "1.08,1.19, 3.42,4.41, ...");
        int num = m.Int("num", 1, 1 << 10) ?? 5;
        int classes = m.Int("classes", 1, 1 << 16) ?? 20;
        Coords(m);
        int cells = m.Int("cells", 1, 1 << 12) ?? 13;
        var format = m.Choice("output_format", new Dictionary<string, bool> { ["BHW"] = false, ["HWB"] = true }) ?? false;
        double threshold = m.Double("threshold", 0, 1) ?? 0.001;
        bool rawOutput = m.Bool("raw_output") ?? false;
        var softmax = m.Choice("softmax", new Dictionary<string, YoloSoftmax> { ["image"] = YoloSoftmax.Image, ["box"] = YoloSoftmax.Box }) ?? YoloSoftmax.Image;
        if (anchors != null && anchors.Length / 2 < num) m.Problem("num", $"is {num}, but anchors gives {anchors.Length / 2} pairs.");
        if (anchors == null) return null;
        return new AdapterDefinition(AdapterType.YoloV2, output, KeyPath: path)
        {
            NormalizedBoxes = true,
            Grid = new YoloGrid(new[] { output ?? "" }, anchors, null, num, classes, threshold, rawOutput, format, new[] { cells }, false, null, false)
            {
                AnchorsInCells = true,
                Softmax = softmax,
            },
        };
    }

    /// <summary>yolox: the strides of its grids (8, 16, 32) and the threshold of objectness and class scores (0.001).</summary>
    private static AdapterDefinition? ParseYolox(MapReader m, string? output, string path) =>
        Strides(m) is { } strides ? new AdapterDefinition(AdapterType.Yolox, output, KeyPath: path) { Threshold = m.Double("threshold", 0, 1) ?? 0.001, Strides = strides } : null;

    /// <summary>yolox's and nanodet's grids: strides, [8, 16, 32] unless given; null after a problem.</summary>
    private static int[]? Strides(MapReader m)
    {
        if (m.Raw("strides") is not { } raw) return new[] { 8, 16, 32 };
        if (MapReader.NumberList(raw) is { Length: > 0 } given && given.All(x => x >= 1 && x == Math.Floor(x) && x <= 4096)) return given.Select(x => (int)x).ToArray();
        m.Problem("strides", $"must list the grids' strides in input pixels per cell, whole numbers in the order of the candidates ([8, 16, 32]), not {EngineTree.Show(raw)}.");
        return null;
    }

    /// <summary>prior_boxes: its two outputs, its priors (min_sizes per stride, required) and its thresholds.</summary>
    private static AdapterDefinition? ParsePriorBoxes(MapReader m, string? output, string path)
    {
        foreach (var (name, what) in new[] { ("output", "offsets [N, 4] from the priors"), ("scores", "class scores [N, classes]") })
            if (m.String(name) == null) m.Problem(name, $"is required for prior_boxes: the model output of {what}.");
        var strides = Strides(m);
        var sizes = NumberLists(m, "min_sizes", "the prior sizes in input pixels of each stride's grid, e.g. [[16, 32], [64, 128], [256, 512]]", x => x > 0 && double.IsFinite(x));
        var densities = m.Has("densities") ? NumberLists(m, "densities", "how many priors across and down each min size places in a cell, e.g. [[4, 2, 1], [1], [1]]", x => x >= 1 && x <= 64 && x == Math.Floor(x)) : null;
        if (strides != null && sizes != null && sizes.Count != strides.Length)
            m.Problem("min_sizes", $"lists {sizes.Count} grids, but strides lists {strides.Length}: one list of sizes per stride.");
        if (sizes != null && densities != null && (densities.Count != sizes.Count || densities.Where((d, i) => d.Count != sizes[i].Count).Any()))
            m.Problem("densities", "must give one density per min size, grid by grid.");
        double[] variance = { 0.1, 0.2 };
        if (m.Raw("variance") is { } raw)
        {
            if (MapReader.NumberList(raw) is { Length: 2 } given && given.All(x => x > 0 && double.IsFinite(x))) variance = given;
            else m.Problem("variance", $"must be two positive numbers (the centre's and the size's), not {EngineTree.Show(raw)}.");
        }
        bool ceil = m.Choice("grids", new Dictionary<string, bool> { ["ceil"] = true, ["round"] = false }) ?? true;
        if (strides == null || sizes == null || m.Has("densities") && densities == null) return null;
        return new AdapterDefinition(AdapterType.PriorBoxes, output, KeyPath: path)
        {
            ScoresOutput = m.String("scores"),
            Strides = strides,
            Priors = new PriorBoxes(sizes, densities?.Select(d => (IReadOnlyList<int>)d.Select(x => (int)x).ToArray()).ToList(), ceil, m.Bool("clip_priors") ?? false, variance[0], variance[1]),
            ConfidenceThreshold = m.Double("conf_threshold", 0, 1) ?? 0.05,
            NmsThreshold = m.Double("nms_threshold", 0, 1) ?? 0.4,
            MaxDetections = m.Int("max_detections", 1, 1 << 20) ?? 750,
        };
    }

    /// <summary>A list of number lists (a list for each grid); null after a problem, which says <paramref name="what"/>.</summary>
    private static List<IReadOnlyList<double>>? NumberLists(MapReader m, string key, string what, Func<double, bool> valid)
    {
        if (m.Raw(key) is ConfigList { Count: > 0 } list)
        {
            var lists = list.Items.Select(i => MapReader.NumberList(i)).ToList();
            if (lists.All(l => l is { Length: > 0 } && l.All(valid))) return lists.Select(l => (IReadOnlyList<double>)l!).ToList();
        }
        if (m.Has(key) || key == "min_sizes") m.Problem(key, m.Has(key) ? $"must list {what}, not {EngineTree.Show(m.Raw(key))}." : $"is required for prior_boxes: {what}.");
        return null;
    }

    /// <summary>class_agnostic: <c>scale</c>, one factor of every coordinate or one of x and one of y (Accuracy Checker's).</summary>
    private static AdapterDefinition? ParseClassAgnostic(MapReader m, string? output, string path)
    {
        double[] scale = { 1, 1, 1, 1 };
        if (m.Raw("scale") is { } raw)
        {
            var given = MapReader.NumberList(raw);
            if (given is { Length: 1 or 2 } && given.All(x => x > 0 && double.IsFinite(x))) scale = given.Length == 1 ? new[] { given[0], given[0], given[0], given[0] } : new[] { given[0], given[1], given[0], given[1] };
            else
            {
                m.Problem("scale", $"must be a positive number, or two (x, y), that turn the boxes into fractions of the input (1 / 640 for a 640-pixel input), not {EngineTree.Show(raw)}.");
                return null;
            }
        }
        // normalized: false: the boxes are in the input's pixels (Accuracy Checker's mask_rcnn boxes output).
        bool normalized = m.Bool("normalized") ?? true;
        if (!normalized && m.Has("scale")) m.Problem("scale", "turns boxes into fractions of the input; with normalized: false they are its pixels: give one or the other.");
        return new AdapterDefinition(AdapterType.ClassAgnostic, output, KeyPath: path) { NormalizedBoxes = normalized, BoxScale = scale };
    }

    /// <summary>A dataset's postprocessing of detections (after boxes are scaled to the image), in order.</summary>
    private static IReadOnlyList<DetectionStep> ParsePostprocessing(MapReader m)
    {
        var steps = new List<DetectionStep>();
        var list = m.List("postprocessing");
        for (int i = 0; list != null && i < list.Count; i++)
        {
            string path = EngineProblems.Index(m.KeyPath("postprocessing"), i);
            var map = list.Items[i] as ConfigMap;
            string type = EngineTree.TextOf(map?["type"])?.Trim().ToLowerInvariant() ?? "";
            if (map == null || !PostprocessingKeys.TryGetValue(type, out var keys))
            {
                string? near = EditDistance.Suggest(type, PostprocessingKeys.Keys.ToList());
                m.Problems.Add(map == null ? path : EngineProblems.Join(path, "type"), (map == null ? $"must be a mapping such as {{type: nms, overlap: 0.5}}, not {EngineTree.Show(list.Items[i])}." : type.Length == 0 ? "is required." : $"'{type}' is not supported{(near != null ? $" (did you mean '{near}'?)" : "")}.") +
                    $" Supported steps: {string.Join(", ", PostprocessingKeys.Keys)}.", map == null ? list.Items[i].Line : map.KeyLine("type"));
                continue;
            }
            var s = new MapReader(map, path, m.Problems, keys);
            switch (type)
            {
                case "nms" or "diou_nms":
                    steps.Add(new NmsStep(s.Double("overlap", 0, 1) ?? 0.5, s.Bool("include_boundaries") ?? true, path)
                    {
                        PerClass = s.Bool("per_class") ?? type == "nms",
                        KeepTopK = s.Int("keep_top_k", 1, 1 << 20),
                        Diou = type == "diou_nms",
                    });
                    break;
                case "filter":
                    var (predictions, annotations) = Targets(s, (true, false));
                    var criteria = FilterCriteria(s);
                    if (criteria != null)
                        steps.Add(new FilterStep(criteria, path) { Predictions = predictions, Annotations = annotations, Remove = s.Bool("remove_filtered") ?? false });
                    break;
                case "shift_labels":
                    if (s.Int("offset", -(1 << 20), 1 << 20, required: true) is int offset) steps.Add(new ShiftLabelsStep(offset, path));
                    break;
                case "cast_to_int":
                    var policy = s.Choice("round_policy", new Dictionary<string, RoundPolicy>
                    {
                        ["nearest"] = RoundPolicy.Nearest, ["nearest_to_zero"] = RoundPolicy.NearestToZero, ["lower"] = RoundPolicy.Lower, ["greater"] = RoundPolicy.Greater,
                    }) ?? RoundPolicy.Nearest;
                    var target = Targets(s, (true, true));
                    steps.Add(new CastToIntStep(policy, target.Predictions, target.Annotations, path));
                    break;
                default:
                    int? size = s.Int("size", 1, 1 << 20);
                    foreach (var key in new[] { "dst_width", "dst_height" })
                        if (size != null && s.Has(key)) s.Problem(key, "give size: or dst_width: and dst_height:, not both.");
                    var clip = Targets(s, (true, false));
                    // to: input clips to the part of the image the model input shows (after a crop or with padding, less or more than the image).
                    bool toInput = s.Choice("to", new Dictionary<string, bool> { ["image"] = false, ["input"] = true }) ?? false;
                    if (toInput && new[] { "size", "dst_width", "dst_height" }.Any(s.Has)) s.Problem("to", "input clips to the model input's part of the image: give no size with it.");
                    steps.Add(new ClipBoxesStep(path)
                    {
                        Predictions = clip.Predictions, Annotations = clip.Annotations, ToInput = toInput,
                        Width = size ?? s.Int("dst_width", 1, 1 << 20), Height = size ?? s.Int("dst_height", 1, 1 << 20),
                    });
                    break;
            }
        }
        return steps;
    }

    /// <summary>apply_to: which boxes a step changes (detections, annotated objects or both).</summary>
    private static (bool Predictions, bool Annotations) Targets(MapReader s, (bool, bool) fallback) =>
        s.Choice("apply_to", new Dictionary<string, (bool, bool)> { ["all"] = (true, true), ["prediction"] = (true, false), ["annotation"] = (false, true) }) ?? fallback;

    /// <summary>filter's criteria in the order written (with remove_filtered each sees what those before it left).</summary>
    private static List<FilterCriterion>? FilterCriteria(MapReader s)
    {
        var criteria = new List<FilterCriterion>();
        foreach (var (key, _) in s.Node.Entries)
        {
            if (!FilterKeys.TryGetValue(key, out var kind) || !s.Has(key)) continue;
            switch (kind)
            {
                case FilterKind.IsEmpty or FilterKind.InvalidBoxes:
                    if (s.Bool(key) == true) criteria.Add(new FilterCriterion(kind));
                    break;
                case FilterKind.MinConfidence:
                    if (s.Double(key) is double min) criteria.Add(new FilterCriterion(kind, min));
                    break;
                case FilterKind.TopK:
                    if (s.Int(key, 0, int.MaxValue) is int k) criteria.Add(new FilterCriterion(kind, k));
                    break;
                case FilterKind.Labels:
                    var labels = MapReader.NumberList(s.Raw(key));
                    if (labels == null || labels.Any(l => l != Math.Floor(l) || l < 0 || l > int.MaxValue))
                        s.Problem(key, $"must be class indices such as [1, 3], not {EngineTree.Show(s.Raw(key))}.");
                    else criteria.Add(new FilterCriterion(kind, Labels: labels.Select(l => (int)l).ToArray()));
                    break;
                default:
                    // A lower end, or 'lower, upper' (upper excluded; 0 is none, as Accuracy Checker's in_interval reads it).
                    var range = MapReader.NumberList(s.Raw(key));
                    if (range is not { Length: 1 or 2 } || range.Any(x => !double.IsFinite(x)) || range.Length == 2 && range[1] != 0 && range[1] < range[0])
                        s.Problem(key, $"must be a lower end or 'lower, upper' such as '64, 1024', not {EngineTree.Show(s.Raw(key))}.");
                    else criteria.Add(new FilterCriterion(kind, range[0], range.Length == 2 ? range[1] : null));
                    break;
            }
        }
        if (criteria.Count > 0 || FilterKeys.Keys.Any(s.Has)) return criteria.Count > 0 ? criteria : null;
        s.Problem("type", $"filter needs a criterion: one or more of {string.Join(", ", FilterKeys.Keys)}.");
        return null;
    }

    internal static readonly Dictionary<string, MetricDirection> DirectionWords = new(StringComparer.OrdinalIgnoreCase)
    {
        ["higher-better"] = MetricDirection.HigherBetter,
        ["higher-worse"] = MetricDirection.HigherWorse,
    };

    private static DatasetDefinition? ParseDataSource(MapReader m, string data, string baseFolder, string path, int index, bool forceUnlabelled,
        DatasetFormat? forced = null)
    {
        string name = forceUnlabelled ? "data" : m.String("name") ?? $"dataset{index}";
        DatasetFormat? format = forced ?? (forceUnlabelled ? null : m.Choice("format", new Dictionary<string, DatasetFormat> { ["npy"] = DatasetFormat.Npy, ["images"] = DatasetFormat.Images, ["npy_files"] = DatasetFormat.NpyFiles, ["squad"] = DatasetFormat.Squad, ["conll"] = DatasetFormat.Conll }));
        bool isFolder = Directory.Exists(data);
        // A folder that holds one .npz archive and no .npy file is that archive.
        if (isFolder && !forceUnlabelled && format is null or DatasetFormat.Npy && NpyDataset.SoleArchive(data) is { } archive)
        {
            data = archive;
            isFolder = false;
        }
        // POT's simplified engine also takes a .txt file listing the images (its collect_img_files).
        string? imageList = forceUnlabelled && !isFolder && ImageDataset.IsImageList(data) ? data : null;
        if (imageList != null)
        {
            data = Path.GetDirectoryName(data)!;
            isFolder = true;
            format = DatasetFormat.Images;
        }
        if (format == null)
        {
            if (!isFolder && !forceUnlabelled && data.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) format = DatasetFormat.Squad;
            else if (!isFolder) format = DatasetFormat.Npy;
            else if (NpyDataset.HoldsNpzItems(data)) format = DatasetFormat.NpyFiles;
            else if (Directory.EnumerateFiles(data, "*.npy").Any()) format = DatasetFormat.Npy;
            else format = DatasetFormat.Images;
        }
        int? subsample = forceUnlabelled ? null : m.Int("subsample_size", 1, int.MaxValue);
        int seed = forceUnlabelled ? 0 : m.Int("subsample_seed", 0, int.MaxValue) ?? 0;
        string? labels = forceUnlabelled ? null : m.ExistingPath("labels", baseFolder, PathKind.File);
        if (labels != null && !(labels.EndsWith(".npy", StringComparison.OrdinalIgnoreCase) || labels.EndsWith(".txt", StringComparison.OrdinalIgnoreCase)))
        {
            m.Problem("labels", $"'{labels}' is neither a .npy array nor a .txt file with one label per line.");
            labels = null;
        }
        IReadOnlyList<string>? classes = forceUnlabelled ? null : ParseClasses(m, baseFolder);
        int labelOffset = forceUnlabelled ? 0 : m.Int("label_offset", 0, 1 << 20) ?? 0;
        var def = new DatasetDefinition
        {
            Name = name,
            DataSource = data,
            Format = format.Value,
            LabelsPath = labels,
            Classes = classes,
            LabelOffset = labelOffset,
            SubsampleSize = subsample,
            SubsampleSeed = seed,
            Adapter = AdapterDefinition.Identity,
            KeyPath = path,
            ImageList = imageList,
        };
        return format switch
        {
            DatasetFormat.Npy => ParseNpy(m, def, isFolder, forceUnlabelled),
            DatasetFormat.Squad => ParseSquad(m, def, baseFolder),
            DatasetFormat.Conll => ParseConll(m, def, baseFolder),
            _ => ParseImages(m, def, baseFolder, isFolder, forceUnlabelled),
        };
    }

    private static readonly string[] SquadKeys = { "max_query_length", "doc_stride", "squad_layout" };
    private static readonly string[] ConllKeys = { "include_special_token_labels", "labels_file" };
    private static readonly string[] TokenKeys = { "vocab_file", "max_seq_length", "lower_case", "padding" };

    /// <summary>Data that is no text: the keys of SQuAD and CoNLL data are problems.</summary>
    private static void TextOnly(MapReader m)
    {
        foreach (var k in TokenKeys.Concat(SquadKeys).Concat(ConllKeys))
            if (m.Has(k)) m.Problem(k, $"applies to {(ConllKeys.Contains(k) ? "CoNLL data (format: conll)" : SquadKeys.Contains(k) ? "SQuAD data (format: squad, a .json data_source)" : "SQuAD or CoNLL data (format: squad or conll)")} only.");
    }

    /// <summary>inputs: model input -> the item's array that feeds it (<see cref="BertInputs.Names"/>), for models whose inputs have other names.</summary>
    private static Dictionary<string, string> TokenInputs(MapReader m)
    {
        var inputs = new Dictionary<string, string>(StringComparer.Ordinal);
        if (m.Raw("inputs") is { } raw)
        {
            if (raw is not ConfigMap map) m.Problem("inputs", $"must map model input names to the items' arrays ({string.Join(", ", BertInputs.Names)}), not {EngineTree.Show(raw)}.");
            else
                foreach (var (input, node) in map.Entries)
                    if (EngineTree.TextOf(node)?.Trim() is { } array && BertInputs.Names.Contains(array)) inputs[input] = array;
                    else m.Problems.Add(EngineProblems.Join(m.KeyPath("inputs"), input), $"must name one of the items' arrays: {string.Join(", ", BertInputs.Names)}; not {EngineTree.Show(node)}.", map.KeyLine(input));
        }
        return inputs;
    }

    /// <summary>
    /// What SQuAD and CoNLL data share: keys of other data are problems (<paramref name="refusal"/>), inputs:, the data
    /// file (<paramref name="notAFile"/> when it is none) and its vocabulary. Null when there is no data file.
    /// </summary>
    private static (Dictionary<string, string> Inputs, string? Vocab)? TokenData(MapReader m, DatasetDefinition def, string baseFolder, IEnumerable<string> otherKeys,
        string refusal, string notAFile)
    {
        foreach (var k in otherKeys)
            if (m.Has(k)) m.Problem(k, refusal);
        var inputs = TokenInputs(m);
        if (!File.Exists(def.DataSource))
        {
            m.Problem("data_source", notAFile);
            return null;
        }
        return (inputs, m.ExistingPath("vocab_file", baseFolder, PathKind.File, required: true, hint: "Name the model's WordPiece vocabulary (vocab.txt), one token per line."));
    }

    /// <summary>format conll: a CoNLL-2003 file and its vocabulary, tokenized as Accuracy Checker's conll_ner converter does (its defaults).</summary>
    private static DatasetDefinition? ParseConll(MapReader m, DatasetDefinition def, string baseFolder)
    {
        if (TokenData(m, def, baseFolder, ImageOnlyKeys.Concat(SquadKeys).Concat(new[] { "labels", "label_offset" }),
                $"does not apply to CoNLL data ('{def.DataSource}', format: conll): its items are sentences of tokens labelled per word.",
                $"'{def.DataSource}' is not a CoNLL text file ('word ... label' lines).") is not { } data)
            return null;
        var (inputs, vocab) = data;
        // The labels in id order: classes: (a list, or a file of one per line, as for classification) or Accuracy
        // Checker's labels_file (JSON); CoNLL-2003's nine without either.
        bool both = m.Has("classes") && m.Has("labels_file");
        if (both) m.Problem("labels_file", "and classes: both name the labels: keep one.");
        string? labelsFile = both ? null : m.ExistingPath("labels_file", baseFolder, PathKind.File);
        var labels = labelsFile != null ? ConllFile.ReadLabels(labelsFile) : def.Classes;
        if (labelsFile == null && labels != null && !ConllFile.ValidLabels(labels))
            m.Problem("classes", "must list the labels in id order, each a non-empty text without spaces, none twice (e.g. [O, B-PER, I-PER]).");
        var options = new ConllOptions(m.Int("max_seq_length", 2, 1 << 16) ?? 128, m.Bool("lower_case") ?? false, m.Bool("padding") ?? true,
            m.Bool("include_special_token_labels") ?? false, labels);
        return vocab == null ? null : def with { Conll = options, VocabFile = vocab, InputFiles = inputs };
    }

    /// <summary>format squad: a SQuAD .json file and its vocabulary, tokenized as Accuracy Checker's squad converter does (its defaults).</summary>
    private static DatasetDefinition? ParseSquad(MapReader m, DatasetDefinition def, string baseFolder)
    {
        if (TokenData(m, def, baseFolder, ImageOnlyKeys.Concat(ConllKeys).Concat(new[] { "labels", "classes", "label_offset" }),
                $"does not apply to SQuAD data ('{def.DataSource}', format: squad): its items are token windows annotated with the file's answers.",
                $"'{def.DataSource}' is not a SQuAD .json file.") is not { } data)
            return null;
        var (inputs, vocab) = data;
        int seq = m.Int("max_seq_length", 4, 1 << 16) ?? 128;
        int query = m.Int("max_query_length", 0, 1 << 16) ?? 64;
        int stride = m.Int("doc_stride", 1, 1 << 16) ?? 128;
        bool embeddings = m.Choice("squad_layout", new Dictionary<string, bool> { ["windows"] = false, ["embeddings"] = true }) ?? false;
        if (embeddings && m.Has("doc_stride")) m.Problem("doc_stride", "applies to squad_layout: windows (contexts are cut to max_seq_length with embeddings).");
        var options = new SquadOptions(seq, query, stride, m.Bool("lower_case") ?? false, m.Bool("padding") ?? true, embeddings);
        return vocab == null ? null : def with { Squad = options, VocabFile = vocab, InputFiles = inputs };
    }

    private static IReadOnlyList<string>? ParseClasses(MapReader m, string baseFolder)
    {
        var raw = m.Raw("classes");
        if (raw == null) return null;
        if (raw is ConfigList list) return list.Items.Select(x => EngineTree.TextOf(x) ?? "").ToList();
        string? file = m.ExistingPath("classes", baseFolder, PathKind.File);
        return file == null ? null : TextFiles.ReadLines(file);
    }

    private static readonly string[] ImageOnlyKeys = { "other_inputs", "camvid_list", "annotation_file", "file_column", "label_column", "input", "channels", "color_order", "layout", "preprocessing", "extensions", "voc_annotations", "wider_annotations", "cvat_annotations", "cvat_labels", "reid_layout", "reid_gallery", "reid_queries", "imageset_file", "class_folders", "annotation_separator", "masks", "image_prefix", "image_postfix", "mask_prefix", "mask_postfix", "mask_colors" };

    private static DatasetDefinition? ParseNpy(MapReader m, DatasetDefinition def, bool isFolder, bool simplified)
    {
        foreach (var k in ImageOnlyKeys)
            if (m.Has(k)) m.Problem(k, $"applies to image folders only; '{def.DataSource}' is read as NumPy data (format: npy).");
        TextOnly(m);
        string data = def.DataSource;
        bool isNpz = !isFolder && data.EndsWith(".npz", StringComparison.OrdinalIgnoreCase);
        if (!isFolder && !isNpz && !data.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            m.Problem("data_source", $"'{data}' is not a folder, an .npz archive or an .npy file.");
            return null;
        }
        var inputs = new Dictionary<string, string>(StringComparer.Ordinal);
        string? labelsArray = null;
        string? labelsPath = def.LabelsPath;
        IReadOnlyList<string> members = Array.Empty<string>();
        if (isNpz)
        {
            try
            {
                using var zip = ZipFile.OpenRead(data);
                members = zip.Entries.Where(e => e.FullName.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)).Select(e => e.FullName[..^4]).ToList();
            }
            catch (InvalidDataException)
            {
                m.Problem("data_source", $"'{data}' is not a valid .npz (zip) archive.");
                return null;
            }
        }

        var explicitInputs = simplified ? null : m.Raw("inputs") as ConfigMap;
        if (!simplified && m.Has("inputs") && explicitInputs == null)
            m.Problem("inputs", $"must map model input names to files, e.g. {{input_ids: ids.npy}}, not {EngineTree.Show(m.Raw("inputs"))}.");
        if (explicitInputs != null)
        {
            // The inputs: mapping has free keys (model input names), so it is read without the unknown-key check.
            foreach (var (input, fileRaw) in explicitInputs.Entries.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                string keyPath = EngineProblems.Join(m.KeyPath("inputs"), input);
                int line = explicitInputs.KeyLine(input);
                if (EngineTree.TextOf(fileRaw) is not { } file || file.Trim().Length == 0)
                {
                    m.Problems.Add(keyPath, $"must name an {(isNpz ? "array of the archive" : ".npy file")}, not {EngineTree.Show(fileRaw)}.", line);
                    continue;
                }
                if (isNpz)
                {
                    string member = file.EndsWith(".npy", StringComparison.OrdinalIgnoreCase) ? file[..^4] : file;
                    if (!members.Contains(member, StringComparer.Ordinal))
                        m.Problems.Add(keyPath, $"the archive '{data}' has no array '{member}'. It holds: {string.Join(", ", members)}.", line);
                    else inputs[input] = member;
                }
                else
                {
                    string folder = isFolder ? data : Path.GetDirectoryName(data)!;
                    string full;
                    try
                    {
                        full = Config.ConfigPaths.Resolve(file, folder);
                    }
                    catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
                    {
                        m.Problems.Add(keyPath, $"'{file}' is not a valid path ({e.Message.TrimEnd('.')}).", line);
                        continue;
                    }
                    if (!File.Exists(full)) m.Problems.Add(keyPath, $"the file '{full}' does not exist (input files are relative to the data_source folder '{folder}').", line);
                    else inputs[input] = full;
                }
            }
        }
        else if (isNpz)
        {
            foreach (var member in members.Where(x => x != NpyDataset.LabelsName)) inputs[member] = member;
        }
        else if (isFolder)
        {
            foreach (var file in Directory.EnumerateFiles(data, "*.npy").OrderBy(f => f, StringComparer.Ordinal))
            {
                string stem = Path.GetFileNameWithoutExtension(file);
                if (stem == NpyDataset.LabelsName || (labelsPath != null && CanonicalPath.Same(file, labelsPath))) continue;
                inputs[stem] = file;
            }
        }
        else
        {
            inputs[Path.GetFileNameWithoutExtension(data)] = data;
        }
        if (inputs.Count == 0 && m.Problems.Count == 0)
            m.Problem("data_source", $"'{data}' holds no input arrays: put one '<model input name>.npy' per input there (labels.npy holds the labels).{ImageDataset.NoDataHint(data)}");

        if (!simplified && labelsPath == null)
        {
            if (isNpz && members.Contains(NpyDataset.LabelsName)) labelsArray = NpyDataset.LabelsName;
            else if (isFolder && File.Exists(Path.Combine(data, NpyDataset.LabelsName + ".npy"))) labelsPath = Path.Combine(data, NpyDataset.LabelsName + ".npy");
        }
        return def with { InputFiles = inputs, LabelsPath = labelsPath, LabelsArray = labelsArray };
    }

    private static readonly string[] StepKeys = { "type", "size", "width", "height", "aspect", "interpolation", "mean", "std", "value", "position", "central_fraction", "rounding" };

    private static DatasetDefinition? ParseImages(MapReader m, DatasetDefinition def, string baseFolder, bool isFolder, bool simplified)
    {
        TextOnly(m);
        if (!isFolder)
        {
            m.Problem("data_source", $"'{def.DataSource}' is a file; image data needs a folder of images (or use format: npy for NumPy data).");
            return null;
        }
        if (!simplified && m.Has("inputs")) m.Problem("inputs", "applies to NumPy data only; image folders feed one input (input:).");
        string? annotation = simplified ? null : m.ExistingPath("annotation_file", baseFolder, PathKind.File);
        if (annotation != null && def.LabelsPath != null)
            m.Problem("labels", "give either annotation_file: (image names with labels) or labels: (labels in file-name order), not both.");
        string? voc = simplified ? null : m.ExistingPath("voc_annotations", baseFolder, PathKind.Folder);
        string? imageset = simplified ? null : m.ExistingPath("imageset_file", baseFolder, PathKind.File);
        string? wider = simplified ? null : m.ExistingPath("wider_annotations", baseFolder, PathKind.File);
        string? cvat = simplified ? null : m.ExistingPath("cvat_annotations", baseFolder, PathKind.File);
        string? cvatLabels = simplified ? null : m.ExistingPath("cvat_labels", baseFolder, PathKind.File);
        if (m.Has("cvat_labels") && !m.Has("cvat_annotations")) m.Problem("cvat_labels", "applies to cvat_annotations: only (the class of each of its labels).");
        // One source of labels or boxes.
        var boxes = new[] { ("voc_annotations", voc), ("wider_annotations", wider), ("cvat_annotations", cvat) }.Where(x => x.Item2 != null).ToList();
        if (boxes.Count > (annotation != null || def.LabelsPath != null ? 0 : 1))
            m.Problem(boxes[^1].Item1, "give one of annotation_file: / labels: / voc_annotations: / wider_annotations: / cvat_annotations:, not more.");
        var reid = simplified ? null : m.Choice("reid_layout", new Dictionary<string, ReidLayout> { ["market1501"] = ReidLayout.Market1501, ["veri776"] = ReidLayout.VeRi776 });
        string? reidGallery = simplified ? null : m.ExistingPath("reid_gallery", baseFolder, PathKind.File);
        string? reidQueries = simplified ? null : m.ExistingPath("reid_queries", baseFolder, PathKind.File);
        if (m.Has("reid_gallery") != m.Has("reid_queries"))
            m.Problem(m.Has("reid_gallery") ? "reid_queries" : "reid_gallery", "is required with " + (m.Has("reid_gallery") ? "reid_gallery" : "reid_queries") + ": a retrieval set lists its gallery and its queries ('image id' lines).");
        if ((reid != null || m.Has("reid_gallery")) && (annotation != null || def.LabelsPath != null || boxes.Count > 0 || m.Has("class_folders") || m.Has("masks") || reid != null && m.Has("reid_gallery")))
            m.Problem(reid != null ? "reid_layout" : "reid_gallery", "gives each image's id and camera: it takes no other annotation (annotation_file:, labels:, voc_annotations:, class_folders:, masks:, and reid_layout: or reid_gallery:, not both).");
        if (imageset != null && voc == null && !m.Has("voc_annotations") && !m.Has("masks"))
            m.Problem("imageset_file", "applies to voc_annotations: and masks: only.");
        string? classFolders = simplified ? null : m.ExistingPath("class_folders", baseFolder, PathKind.Folder);
        if (classFolders != null && (annotation != null || def.LabelsPath != null || boxes.Count > 0))
            m.Problem("class_folders", "give either class_folders: (one sub-folder per class) or annotation_file: / labels: / voc_annotations:, not more than one.");
        if (classFolders != null && def.Classes != null)
            m.Problem("classes", "does not apply with class_folders:: the classes are the sub-folders, numbered in name order.");
        string? masks = simplified ? null : m.ExistingPath("masks", baseFolder, PathKind.Folder);
        if (masks != null && (annotation != null || def.LabelsPath != null || boxes.Count > 0 || classFolders != null))
            m.Problem("masks", "give either masks: (a segmentation mask per image) or annotation_file: / labels: / voc_annotations: / class_folders:, not more than one.");
        foreach (var key in new[] { "image_prefix", "image_postfix", "mask_prefix", "mask_postfix" })
            if (m.Has(key) && masks == null && !m.Has("masks")) m.Problem(key, "applies to masks: only (it names each image's mask).");
        string? camvid = simplified ? null : m.ExistingPath("camvid_list", baseFolder, PathKind.File);
        if (m.Has("camvid_list") && !m.Has("masks")) m.Problem("camvid_list", "applies with masks: (the folder its masks are in).");
        foreach (var key in new[] { "imageset_file", "image_prefix", "image_postfix", "mask_prefix", "mask_postfix" })
            if (m.Has("camvid_list") && m.Has(key)) m.Problem(key, "does not apply with camvid_list: (the list names each image and its mask).");
        var maskColors = simplified ? null : MaskColorsOf(m);
        if (maskColors != null && masks == null && !m.Has("masks")) m.Problem("mask_colors", "applies to masks: only (the colour of each class in the mask files).");
        var separator = simplified ? null : m.Choice("annotation_separator", new Dictionary<string, AnnotationSeparator> { ["space"] = AnnotationSeparator.Space, ["comma"] = AnnotationSeparator.Comma });
        if (separator != null && (annotation == null || annotation.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || annotation.EndsWith(".json", StringComparison.OrdinalIgnoreCase)))
            m.Problem("annotation_separator", "applies to an annotation_file of 'file label' lines only (not .csv or .json).");
        var cocoLabels = simplified ? null : m.Choice("coco_labels", new Dictionary<string, bool> { ["order"] = false, ["ids"] = true });
        if (cocoLabels != null && (annotation == null || !annotation.EndsWith(".json", StringComparison.OrdinalIgnoreCase)))
            m.Problem("coco_labels", "applies to a COCO .json annotation_file only.");
        string? fileColumn = simplified ? null : m.String("file_column");
        string? labelColumn = simplified ? null : m.String("label_column");
        if ((fileColumn != null || labelColumn != null) && (annotation == null || !annotation.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)))
            m.Problem(fileColumn != null ? "file_column" : "label_column", "applies to a .csv annotation_file only.");
        string? input = simplified ? null : m.String("input");
        int channels = simplified ? 3 : m.Int("channels", 1, 3) ?? 3;
        if (channels == 2)
        {
            m.Problem("channels", "must be 3 (colour) or 1 (grey).");
            channels = 3;
        }
        // POT's simplified engine reads images with OpenCV: channels in BGR order.
        var order = simplified ? ColorOrder.Bgr : m.Choice("color_order", new Dictionary<string, ColorOrder> { ["RGB"] = ColorOrder.Rgb, ["BGR"] = ColorOrder.Bgr }) ?? ColorOrder.Rgb;
        var layout = simplified ? TensorLayout.Nchw : m.Choice("layout", new Dictionary<string, TensorLayout> { ["NCHW"] = TensorLayout.Nchw, ["NHWC"] = TensorLayout.Nhwc }) ?? TensorLayout.Nchw;
        var steps = new List<PreprocessingStep>();
        var list = simplified ? null : m.List("preprocessing");
        for (int i = 0; list != null && i < list.Count; i++)
        {
            string stepPath = EngineProblems.Index(m.KeyPath("preprocessing"), i);
            if (list.Items[i] is not ConfigMap map)
            {
                m.Problems.Add(stepPath, $"must be a mapping such as {{type: resize, size: 256}}, not {EngineTree.Show(list.Items[i])}.", list.Items[i].Line);
                continue;
            }
            var reader = new MapReader(map, stepPath, m.Problems, StepKeys);
            var step = ParseStep(reader, channels);
            // Pillow resizes 8-bit pixels: after a normalization or scale the values are no longer those.
            if (step is ResizeStep { Interpolation: Interpolation.PillowBilinear or Interpolation.PillowBicubic or Interpolation.PillowLanczos }
                && steps.Any(s => s is NormalizationStep or ScaleStep))
                reader.Problem("interpolation", "Pillow's filters resize 8-bit pixels (0 to 255): put this resize before any normalization or scale step.");
            if (step != null) steps.Add(step);
        }
        if (def.Format == DatasetFormat.NpyFiles)
            foreach (var k in new[] { "channels", "color_order", "layout", "preprocessing", "other_inputs" })
                if (m.Has(k)) m.Problem(k, "applies to images; .npy items (format: npy_files) are fed as they are.");
        IReadOnlyList<string> extensions = def.Format == DatasetFormat.NpyFiles ? new[] { ".npy", ".npz" } : ImageDataset.DefaultExtensions;
        if (!simplified && m.List("extensions") is { } ext)
            extensions = ext.Items.Select(e => "." + (EngineTree.TextOf(e) ?? "").Trim().TrimStart('.').ToLowerInvariant()).ToList();
        // As for NumPy data, labels.npy in the folder holds the labels of .npy items (and is not an item itself); without
        // it, .npz items may each hold their own 'labels' array, as an .npz archive of arrays does.
        string? labelsPath = def.LabelsPath;
        string? labelsArray = def.LabelsArray;
        string folderLabels = Path.Combine(def.DataSource, NpyDataset.LabelsName + ".npy");
        if (def.Format == DatasetFormat.NpyFiles && labelsPath == null && annotation == null && boxes.Count == 0 && classFolders == null)
        {
            if (File.Exists(folderLabels)) labelsPath = folderLabels;
            else if (ImageDataset.NpzItemsLabelled(def.DataSource, extensions)) labelsArray = NpyDataset.LabelsName;
        }
        return def with
        {
            LabelsPath = labelsPath,
            LabelsArray = labelsArray,
            AnnotationFile = annotation,
            VocAnnotations = voc,
            WiderAnnotations = wider,
            CvatAnnotations = cvat,
            CvatLabels = cvatLabels,
            Reid = reid,
            ReidGallery = reidGallery,
            ReidQueries = reidQueries,
            ImagesetFile = imageset,
            CamVidList = camvid,
            ClassFolders = classFolders,
            Masks = masks,
            ImagePrefix = (simplified ? null : m.String("image_prefix")) ?? "",
            ImagePostfix = simplified ? null : m.String("image_postfix"),
            MaskPrefix = (simplified ? null : m.String("mask_prefix")) ?? "",
            MaskPostfix = (simplified ? null : m.String("mask_postfix")) ?? ".png",
            MaskColors = maskColors,
            AnnotationSeparator = separator ?? AnnotationSeparator.Space,
            CocoCategoryIds = cocoLabels == true,
            FileColumn = fileColumn,
            LabelColumn = labelColumn,
            InputName = input,
            Image = new ImageOptions(channels, order, layout, steps) { OtherInputs = simplified ? Array.Empty<OtherInput>() : OtherInputsOf(m, input) },
            Extensions = extensions,
        };
    }

    /// <summary>
    /// other_inputs: model input name to <c>image_size</c> (the decoded image's [height, width]) or an array every
    /// item feeds alike (a number or nested lists of numbers).
    /// </summary>
    private static IReadOnlyList<OtherInput> OtherInputsOf(MapReader m, string? imageInput)
    {
        if (!m.Has("other_inputs")) return Array.Empty<OtherInput>();
        if (m.Raw("other_inputs") is not ConfigMap map || map.Count == 0)
        {
            m.Problem("other_inputs", $"must map model input names to image_size or to an array, e.g. {{image_shape: image_size, scale: [1.0]}}, not {EngineTree.Show(m.Raw("other_inputs"))}.");
            return Array.Empty<OtherInput>();
        }
        var result = new List<OtherInput>();
        foreach (var (name, value) in map.Entries)
        {
            string path = EngineProblems.Join(m.KeyPath("other_inputs"), name);
            if (name == (imageInput ?? ImageDataset.DefaultInputName))
                m.Problems.Add(path, $"is the input the image feeds (input: '{name}'): name another model input.", map.KeyLine(name));
            else if (EngineTree.TextOf(value)?.Trim() is "image_size") result.Add(new OtherInput(name, null));
            else if (ConstantArray(value) is { } constant) result.Add(new OtherInput(name, constant));
            else m.Problems.Add(path, $"must be image_size (the image's [height, width]) or an array of numbers such as [[600, 600, 1]], not {EngineTree.Show(value)}.", map.KeyLine(name));
        }
        return result;
    }

    /// <summary>A number or rectangular nested lists of finite numbers (at most 4096 values), with an item axis of 1 in front; else null.</summary>
    internal static TensorData? ConstantArray(ConfigNode node)
    {
        var shape = new List<long>();
        for (var n = node; n is ConfigList l; n = l.Items.Count > 0 ? l.Items[0] : null) shape.Add(l.Count);
        var values = new List<float>();
        bool Walk(ConfigNode n, int depth)
        {
            if (depth == shape.Count) return MapReader.ToDouble(n) is double d && double.IsFinite(d) && values.Count < 4096 && Add((float)d);
            return n is ConfigList l && l.Count == shape[depth] && l.Items.All(x => Walk(x, depth + 1));
        }
        bool Add(float v)
        {
            values.Add(v);
            return true;
        }
        if (shape.Contains(0) || !Walk(node, 0)) return null;
        return TensorData.FromFloats(values.ToArray(), shape.Prepend(1L).ToArray());
    }

    /// <summary>mask_colors: one [r, g, b] per class, in class order (Accuracy Checker's segmentation_colors).</summary>
    private static MaskColors? MaskColorsOf(MapReader m)
    {
        if (m.List("mask_colors") is not { } list) return null;
        var colors = new List<(byte, byte, byte)>();
        for (int i = 0; i < list.Count; i++)
        {
            var rgb = (list.Items[i] as ConfigList)?.Items.Select(MapReader.ToDouble).ToList();
            if (rgb is not { Count: 3 } || rgb.Any(v => v is not { } x || x < 0 || x > 255 || x != Math.Floor(x)))
            {
                m.Problems.Add(EngineProblems.Index(m.KeyPath("mask_colors"), i), $"must be [r, g, b] with whole numbers from 0 to 255, not {EngineTree.Show(list.Items[i])}.", list.Items[i].Line);
                return null;
            }
            colors.Add(((byte)rgb[0]!.Value, (byte)rgb[1]!.Value, (byte)rgb[2]!.Value));
        }
        if (colors.Count is 0 or > MaskColors.MaxColors)
        {
            m.Problem("mask_colors", $"must list from 1 to {MaskColors.MaxColors} colours, one per class; it lists {colors.Count}.");
            return null;
        }
        return new MaskColors(colors);
    }

    private static PreprocessingStep? ParseStep(MapReader m, int channels)
    {
        var type = m.Choice("type", StepWords, required: true);
        if (type == null) return null;
        string[] allowed = type switch
        {
            StepKind.Resize => new[] { "type", "size", "width", "height", "aspect", "interpolation" },
            StepKind.CenterCrop => new[] { "type", "size", "width", "height", "central_fraction", "rounding" },
            StepKind.Normalization => new[] { "type", "mean", "std" },
            StepKind.Pad => new[] { "type", "size", "width", "height", "value", "position" },
            _ => new[] { "type", "value" },
        };
        foreach (var k in StepKeys.Except(allowed))
            if (m.Has(k)) m.Problem(k, $"does not apply to a {StepWords.First(kv => kv.Value == type.Value).Key} step (it takes {string.Join(", ", allowed.Skip(1))}).");
        switch (type.Value)
        {
            case StepKind.Resize:
            {
                var aspect = m.Choice("aspect", new Dictionary<string, ResizeAspect>
                {
                    ["stretch"] = ResizeAspect.Stretch, ["shorter_side"] = ResizeAspect.ShorterSide, ["longer_side"] = ResizeAspect.LongerSide,
                    ["shorter_within_longer"] = ResizeAspect.ShorterWithinLonger,
                }) ?? ResizeAspect.Stretch;
                var interpolation = m.Choice("interpolation", new Dictionary<string, Interpolation>
                {
                    ["bilinear"] = Interpolation.Bilinear, ["nearest"] = Interpolation.Nearest,
                    ["pillow_bilinear"] = Interpolation.PillowBilinear, ["pillow_bicubic"] = Interpolation.PillowBicubic, ["pillow_lanczos"] = Interpolation.PillowLanczos,
                }) ?? Interpolation.Bilinear;
                var (w, h, size) = Size(m, allowSizeOnly: true);
                if (aspect == ResizeAspect.ShorterSide && size == 0 && w + h > 0)
                {
                    m.Problem("aspect", "shorter_side keeps the aspect ratio: give size: (the side length), not width/height.");
                    return null;
                }
                return w + h + size == 0 ? null : new ResizeStep(w, h, size, aspect, interpolation);
            }
            case StepKind.CenterCrop:
            {
                var rounding = m.Choice("rounding", new Dictionary<string, CropRounding> { ["down"] = CropRounding.Down, ["half_even"] = CropRounding.HalfEven }) ?? CropRounding.Down;
                if (m.Has("central_fraction"))
                {
                    foreach (var key in new[] { "size", "width", "height" })
                        if (m.Has(key)) m.Problem(key, "can't be combined with central_fraction: give the crop's size or the share of each side it keeps.");
                    return m.Double("central_fraction", 0, 1, exclusiveMin: true) is double f ? new CentralFractionStep(f) { Rounding = rounding } : null;
                }
                var (w, h, _) = Size(m, allowSizeOnly: true);
                return w + h == 0 ? null : new CenterCropStep(w, h) { Rounding = rounding };
            }
            case StepKind.Normalization:
            {
                float[]? mean = m.Numbers("mean");
                float[]? std = m.Numbers("std");
                if (mean == null && std == null && !m.Has("mean") && !m.Has("std"))
                {
                    m.Problem("mean", "give mean:, std: or both (one value, or one per channel).");
                    return null;
                }
                mean ??= new[] { 0f };
                std ??= new[] { 1f };
                bool ok = true;
                foreach (var (key, values) in new[] { ("mean", mean), ("std", std) })
                {
                    if (values.Length != 1 && values.Length != channels)
                    {
                        m.Problem(key, $"has {values.Length} values but the images have {channels} channel{(channels == 1 ? "" : "s")}: give one value or {channels}.");
                        ok = false;
                    }
                }
                if (std.Any(s => s == 0))
                {
                    m.Problem("std", "must not contain 0 (values are divided by it).");
                    ok = false;
                }
                return ok ? new NormalizationStep(mean, std) : null;
            }
            case StepKind.Pad:
            {
                var (w, h, _) = Size(m, allowSizeOnly: true);
                // One value for every channel, or one per channel.
                float[] values = m.Numbers("value") ?? new[] { 0f };
                if (values.Length != 1 && values.Length != channels)
                {
                    m.Problem("value", $"gives {values.Length} values: give one for every channel or one per channel ({channels}).");
                    return null;
                }
                var position = m.Choice("position", new Dictionary<string, PadPosition> { ["center"] = PadPosition.Center, ["left_top"] = PadPosition.LeftTop, ["right_bottom"] = PadPosition.RightBottom }) ?? PadPosition.Center;
                return w + h == 0 ? null : new PaddingStep(w, h, values[0], position) { ChannelValues = values.Length > 1 ? values : null };
            }
            default:
            {
                double? v = m.Double("value");
                if (v == null && !m.Has("value")) m.Problem("value", "is required: the factor every value is multiplied by, e.g. 0.00392156862745098 (1/255).");
                return v == null ? null : new ScaleStep((float)v.Value);
            }
        }
    }

    private enum StepKind { Resize, CenterCrop, Normalization, Scale, Pad }

    private static readonly Dictionary<string, StepKind> StepWords = new(StringComparer.OrdinalIgnoreCase)
    {
        ["resize"] = StepKind.Resize,
        ["center_crop"] = StepKind.CenterCrop,
        ["crop"] = StepKind.CenterCrop,
        ["normalization"] = StepKind.Normalization,
        ["scale"] = StepKind.Scale,
        ["pad"] = StepKind.Pad,
    };

    /// <summary>size: N (square, or the side for aspect-keeping resizes) or width: + height:.</summary>
    private static (int Width, int Height, int Size) Size(MapReader m, bool allowSizeOnly)
    {
        int? size = m.Int("size", 1, 1 << 16);
        int? width = m.Int("width", 1, 1 << 16);
        int? height = m.Int("height", 1, 1 << 16);
        if (m.Has("size") && (m.Has("width") || m.Has("height")))
        {
            m.Problem("size", "give either size: or width: and height:, not both.");
            return (0, 0, 0);
        }
        if (size != null) return (size.Value, size.Value, size.Value);
        if (width != null && height != null) return (width.Value, height.Value, 0);
        if (!m.Has("size") && !m.Has("width") && !m.Has("height")) m.Problem("size", "is required (or width: and height:).");
        else if (m.Has("width") != m.Has("height")) m.Problem(m.Has("width") ? "height" : "width", "is required together with " + (m.Has("width") ? "width:" : "height:") + ".");
        return (0, 0, 0);
    }
}
