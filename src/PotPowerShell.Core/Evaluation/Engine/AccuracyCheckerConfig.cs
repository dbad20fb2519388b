using System.Globalization;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PathKind = PotPowerShell.Core.Config.PotConfigBinder.PathKind;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// Reads an OpenVINO Accuracy Checker configuration (<c>models: [{name, launchers, datasets}]</c>), the file a POT
/// project's <c>engine.config</c> names, by translating it into this module's engine tree, which
/// <see cref="EngineParser"/> then checks like any engine. One front end: every problem still ends in one EngineInvalid
/// error with key paths of the Accuracy Checker file. What maps and what is refused is listed in
/// docs/en-US/about_PotPowerShell_Engine.md ("Accuracy Checker configurations").
/// </summary>
internal static class AccuracyCheckerConfig
{
    /// <summary>
    /// An Accuracy Checker file has a top-level models: list; a POT configuration's engine may be one model entry
    /// written in place (name:, launchers:, datasets:, as POT's specification shows it). Our engine files have neither
    /// models: nor launchers:.
    /// </summary>
    public static bool Matches(ConfigMap tree) => tree.ContainsKey("models") || tree.ContainsKey("launchers");

    private static readonly string[] ModelKeys = { "name", "launchers", "datasets" };
    private static readonly string[] FileKeys = { "models", AccuracyCheckerDefinitions.Key };
    private static readonly string[] EntryKeys = ModelKeys.Append(AccuracyCheckerDefinitions.Key).ToArray();
    private static readonly string[] DatasetKeys =
    {
        "name", "data_source", "reader", "annotation_conversion", "annotation", "dataset_meta", "preprocessing",
        "postprocessing", "metrics", "subsample_size", "subsample_seed", "segmentation_masks_source",
    };

    // Launcher keys that change what is evaluated; any other launcher key (device, cpu_extensions, ...) only concerns
    // how Accuracy Checker ran its own launcher, so it is read and ignored with a warning.
    // model and weights need no warning: the command's (or the POT configuration's) model is always the one evaluated.
    private static readonly string[] LauncherMapped = { "framework", "model", "weights", "adapter", "inputs", "batch" };
    private static readonly string[] KnownFrameworks = { "onnx_runtime", "openvino", "dlsdk" };

    /// <summary>
    /// Translates <paramref name="tree"/> (an Accuracy Checker configuration, or one model entry of it) into an engine
    /// tree whose datasets stand at &lt;<paramref name="modelPath"/>&gt;.datasets[i]: models[0] in a file, the root for an
    /// entry. Dataset definitions and path prefixes (<see cref="AccuracyCheckerDefinitions"/>) are merged in first.
    /// Problems go to <paramref name="problems"/> (under their Accuracy Checker key paths), keys read without effect to
    /// <paramref name="warnings"/>, where values came from to <paramref name="notes"/> (for the messages of problems).
    /// Files the translation itself reads (a converter's decoding_char_file) are relative to
    /// <paramref name="baseFolder"/>, as the engine's paths are. Values taken over from the file are its own nodes, so
    /// the engine reads them as written and reports their lines.
    /// </summary>
    public static ConfigMap Translate(ConfigMap tree, EngineProblems problems, List<string> warnings, List<string> notes, string baseFolder,
        AccuracyCheckerEnvironment environment, out string modelPath)
    {
        var result = new ConfigMap(tree.Line);
        modelPath = "";
        ConfigMap modelMap;
        if (!tree.ContainsKey("models")) modelMap = tree;
        else
        {
            var root = new MapReader(tree, "", problems, FileKeys);
            var models = root.List("models");
            if (models == null) return result;
            if (models.Count == 0)
            {
                root.Problem("models", "is empty: give the entry of the model you quantize (name:, launchers:, datasets:).");
                return result;
            }
            int chosen = ChooseModel(root, models, warnings);
            if (chosen < 0) return result;
            modelPath = EngineProblems.Index("models", chosen);
            if (models.Items[chosen] is not ConfigMap entry)
            {
                problems.Add(modelPath, $"must be a mapping with launchers: and datasets:, not {EngineTree.Show(models.Items[chosen])}.", models.Items[chosen].Line);
                return result;
            }
            modelMap = entry;
        }
        modelMap = AccuracyCheckerDefinitions.Apply(modelMap, modelPath, tree, environment, baseFolder, problems, warnings, notes);
        bool defined = environment.DefinitionsFile != null || tree.ContainsKey(AccuracyCheckerDefinitions.Key);
        var model = new MapReader(modelMap, modelPath, problems, modelPath.Length == 0 ? EntryKeys : ModelKeys);
        var (adapter, (input, layout, others, features), batch, launcherPath) = Launcher(model, warnings);
        if (adapter != null) result.Add("adapter", adapter);
        if (batch != null) result.Add("batch_size", batch);

        var datasets = model.List("datasets");
        if (datasets == null)
        {
            if (!model.Has("datasets")) model.Problem("datasets", "is required: list the dataset to evaluate on (data_source, annotation_conversion, metrics).");
            return result;
        }
        var translated = new ConfigList(datasets.Line);
        string? labelSymbols = null;
        for (int i = 0; i < datasets.Count; i++)
        {
            string path = EngineProblems.Index(EngineProblems.Join(modelPath, "datasets"), i);
            if (datasets.Items[i] is not ConfigMap map)
            {
                problems.Add(path, $"must be a mapping with data_source: and more, not {EngineTree.Show(datasets.Items[i])}.", datasets.Items[i].Line);
                continue;
            }
            translated.Add(Dataset(new MapReader(map, path, problems, DatasetKeys), input, layout, others, features, warnings, baseFolder, defined, out string? symbols, out var extraction));
            labelSymbols ??= symbols;
            // extract_answers_tokens sets how the question_answering adapter picks the answer.
            if (extraction != null && adapter != null && EngineTree.TextOf(adapter["type"]) == "question_answering")
                foreach (var (key, value) in extraction.Entries) adapter.Add(key, value, extraction.KeyLine(key));
            else if (extraction != null)
                problems.Add(EngineProblems.Join(path, "postprocessing"), "extract_answers_tokens applies to the bert_question_answering adapter's start and end logits.", map.KeyLine("postprocessing"));
        }
        result.Add("datasets", translated, modelMap.KeyLine("datasets"));
        // A CTC decoder without its own vocabulary decodes with the converter's label map, as Accuracy Checker does.
        if (adapter != null && EngineTree.TextOf(adapter["type"]) == "ctc_greedy" && !adapter.ContainsKey("dictionary") && !adapter.ContainsKey("alphabet"))
        {
            // beam_search_decoder's blank is the class after the label map's unless blank_label says.
            if (labelSymbols != null && adapter.ContainsKey("beam_size") && !adapter.ContainsKey("blank_index"))
                adapter.Add("blank_index", EngineTree.Number(EditDistance.CodePoints(labelSymbols).Count(), adapter.Line));
            if (labelSymbols != null) adapter.Add("alphabet", EngineTree.Text(labelSymbols));
            else problems.Add(EngineProblems.Join(launcherPath, "adapter"),
                "ctc_greedy_search_decoder needs the symbols of its classes: give vocabulary_file: or custom_label_map: (or annotate with icdar13_recognition, whose label map is 0-9a-z, or unicode_character_recognition with its decoding_char_file).", adapter.Line);
            var blank = adapter["blank_index"];
            if (labelSymbols != null && labelSymbols.StartsWith(BlankPlaceholder, StringComparison.Ordinal) && MapReader.ToDouble(blank) != 0)
                problems.Add(EngineProblems.Join(launcherPath, "adapter.blank_label"),
                    $"is {EngineTree.TextOf(blank)}, but unicode_character_recognition's label map keeps index 0 for the blank (its characters are classes 1, 2, ...): set blank_label: 0.", blank!.Line);
        }
        else if (adapter != null && labelSymbols != null && labelSymbols.StartsWith(BlankPlaceholder, StringComparison.Ordinal))
            warnings.Add($"{EngineProblems.Join(launcherPath, "adapter")}: the adapter's own vocabulary gives the symbols, so the characters of the converter's decoding_char_file are read and not used.");
        return result;
    }

    /// <summary>
    /// The model entry to read: the only one; else the first with an onnx_runtime launcher; else the one entry not for
    /// OpenVINO. Open Model Zoo lists a model once for the framework it comes from (onnx_runtime, tf, caffe, ...) and
    /// once for OpenVINO, whose preprocessing leaves out the normalization Model Optimizer folded into the model: an
    /// ONNX model exported from the source framework expects the source framework's. -1 with a problem when that
    /// leaves no entry or more than one.
    /// </summary>
    private static int ChooseModel(MapReader root, ConfigList models, List<string> warnings)
    {
        if (models.Count == 1) return 0;
        string Describe(int i) => models.Items[i] is ConfigMap m
            ? $"models[{i}] ({EngineTree.TextOf(m["name"]) ?? "no name"}: {string.Join(", ", Frameworks(m).DefaultIfEmpty("no framework"))})"
            : $"models[{i}]";
        var entries = Enumerable.Range(0, models.Count).Where(i => models.Items[i] is ConfigMap).ToList();
        var all = string.Join(", ", Enumerable.Range(0, models.Count).Select(Describe));
        int onnx = entries.FirstOrDefault(i => Frameworks((ConfigMap)models.Items[i]).Contains(OnnxRuntime), -1);
        if (onnx >= 0)
        {
            warnings.Add($"models: {Describe(onnx)} is read, the first for onnx_runtime, of {all}; remove the others to silence this warning.");
            return onnx;
        }
        var source = entries.Where(i => Frameworks((ConfigMap)models.Items[i]).Any(f => f is not ("openvino" or "dlsdk"))).ToList();
        if (source.Count == 1)
        {
            warnings.Add($"models: {Describe(source[0])} is read, the entry of the framework the model comes from, whose preprocessing an ONNX export of it expects " +
                $"(OpenVINO's entries leave out the normalization Model Optimizer folds into the model), of {all}; remove the others to silence this warning.");
            return source[0];
        }
        root.Problem("models", $"lists {models.Count} models and {(source.Count == 0 ? "none is" : "several are")} for the framework an ONNX model comes from: {all}. " +
            "Keep the entry whose preprocessing fits the ONNX model, that of the framework it was exported from: OpenVINO's entries (openvino, dlsdk) leave out the normalization Model Optimizer folds into the model.");
        return -1;
    }

    private const string OnnxRuntime = "onnx_runtime";

    /// <summary>The frameworks of a model entry's launchers, as written (trimmed, lower case).</summary>
    private static IEnumerable<string> Frameworks(ConfigMap model) =>
        model["launchers"] is ConfigList launchers ? launchers.Items.Select(FrameworkOf).OfType<string>() : Enumerable.Empty<string>();

    /// <summary>A launcher's framework, trimmed and in lower case; null without one.</summary>
    private static string? FrameworkOf(ConfigNode launcher) => launcher is ConfigMap l ? EngineTree.TextOf(l["framework"])?.Trim().ToLowerInvariant() : null;

    private static (ConfigMap? Adapter, LauncherInputs Inputs, ConfigNode? Batch, string Path) Launcher(MapReader model, List<string> warnings)
    {
        string none = EngineProblems.Index(model.KeyPath("launchers"), 0);
        var launchers = model.List("launchers");
        if (launchers == null)
        {
            if (!model.Has("launchers")) model.Problem("launchers", "is required: one launcher with framework: and adapter:.");
            return (null, NoInputs, null, none);
        }
        if (launchers.Count == 0)
        {
            model.Problem("launchers", "is empty: give one launcher with framework: and adapter:.");
            return (null, NoInputs, null, none);
        }
        // The onnx_runtime launcher where there are several (Open Model Zoo's entries list one per precision or framework).
        int index = Math.Max(0, Enumerable.Range(0, launchers.Count)
            .FirstOrDefault(i => FrameworkOf(launchers.Items[i]) == OnnxRuntime, -1));
        string path = EngineProblems.Index(model.KeyPath("launchers"), index);
        if (launchers.Count > 1)
            warnings.Add($"{model.KeyPath("launchers")}: only launchers[{index}] of {launchers.Count} is read{(index > 0 ? " (onnx_runtime)" : "")}; the model runs on ONNX Runtime.");
        if (launchers.Items[index] is not ConfigMap map)
        {
            model.Problems.Add(path, $"must be a mapping with framework: and adapter:, not {EngineTree.Show(launchers.Items[index])}.", launchers.Items[index].Line);
            return (null, NoInputs, null, path);
        }
        var ignored = map.Keys.Where(k => !LauncherMapped.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (ignored.Count > 0)
            warnings.Add($"{path}: {string.Join(", ", ignored)} {(ignored.Count == 1 ? "is" : "are")} read and ignored: " +
                "the model runs on ONNX Runtime's CPU provider.");
        var launcher = new MapReader(map, path, model.Problems, map.Keys.ToArray());
        string? framework = launcher.String("framework", required: true, hint: "Use onnx_runtime.");
        if (framework != null && !KnownFrameworks.Contains(framework.Trim(), StringComparer.OrdinalIgnoreCase))
            warnings.Add($"{launcher.KeyPath("framework")}: '{framework}' is read as onnx_runtime: PotPowerShell runs ONNX models on ONNX Runtime.");

        var adapter = Adapter(launcher, warnings);
        return (adapter, Inputs(launcher, warnings), launcher.Raw("batch"), path);
    }

    /// <summary>The symbols of icdar13_recognition's label map, which a CTC decoder without its own vocabulary uses.</summary>
    internal const string Icdar13Symbols = "0123456789abcdefghijklmnopqrstuvwxyz";

    private static readonly string[] Adapters =
    {
        "classification", "ctc_greedy_search_decoder", "beam_search_decoder", "ssd_onnx", "faster_rcnn_onnx", "ssd", "yolo_v8_detection", "yolo_v8", "yolo_v3", "yolo_v5", "yolo_v2", "yolox", "yolo_v3_onnx", "nanodet", "detr", "class_agnostic_detection", "ultra_lightweight_face_detection", "mask_rcnn", "retinaface_pytorch", "faceboxes", "tf_object_detection", "segmentation", "reid",
        "bert_question_answering", "bert_question_answering_embedding", "bert_ner",
    };

    private static ConfigMap? Adapter(MapReader launcher, List<string> warnings)
    {
        var raw = launcher.Raw("adapter");
        int line = launcher.Node.KeyLine("adapter");
        var map = raw is ConfigScalar word ? EngineTree.Map(line, ("type", word)) : raw as ConfigMap;
        if (map == null)
        {
            launcher.Problem("adapter", raw == null ? "is required: classification or ctc_greedy_search_decoder." : $"must be a word or a mapping with type:, not {EngineTree.Show(raw)}.");
            return null;
        }
        string type = EngineTree.TextOf(map["type"])?.Trim().ToLowerInvariant() ?? "";
        string path = launcher.KeyPath("adapter");
        if (type == "classification")
        {
            var a = AdapterReader(map, path, launcher.Problems, warnings, new[] { "type", "classification_output", "argmax_output" });
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("classification")));
            if (a.String("classification_output") is not null) Copy(a, "classification_output", ours, "output");
            Copy(a, "argmax_output", ours);
            return ours;
        }
        if (type == "ctc_greedy_search_decoder")
        {
            // Accuracy Checker takes the argmax over axis 2 of a [time, batch, classes] output and maps class c to
            // label_map[c - shift_labels]; that is our ctc_greedy with layout TNC and a dictionary of every class but
            // the blank when the blank is the first class and labels are shifted, or the last class and they are not.
            var a = AdapterReader(map, path, launcher.Problems, warnings, new[] { "type", "blank_label", "shift_labels", "vocabulary_file", "custom_label_map", "logits_output" });
            int blank = a.Int("blank_label", 0, 1 << 20) ?? 0;
            bool shift = a.Bool("shift_labels") ?? false;
            if (shift && blank != 0)
                a.Problem("shift_labels", $"shifts labels past a blank at index 0, but blank_label is {blank}: set blank_label: 0, or drop shift_labels when the blank is the last class.");
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("ctc_greedy")), ("layout", EngineTree.Text("TNC")),
                ("blank_index", EngineTree.Number(blank, map.KeyLine("blank_label"))));
            if (a.String("logits_output") is not null) Copy(a, "logits_output", ours, "output");
            if (a.Has("vocabulary_file")) Copy(a, "vocabulary_file", ours, "dictionary");
            else if (a.Has("custom_label_map")) CustomLabelMap(a, ours, map.KeyLine("custom_label_map"));
            return ours;
        }
        if (type == "beam_search_decoder")
        {
            // CTC prefix beam search over a [time, batch, classes] output: our ctc_greedy with beam_size (10 by default)
            // and layout TNC; its blank is blank_label, else the class after the label map's (set below, once the
            // symbols are known).
            var a = AdapterReader(map, path, launcher.Problems, warnings, new[] { "type", "beam_size", "blank_label", "softmaxed_probabilities", "logits_output", "vocabulary_file", "custom_label_map" });
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("ctc_greedy")), ("layout", EngineTree.Text("TNC")),
                ("beam_size", a.Raw("beam_size") ?? EngineTree.Number(10, line)));
            Copy(a, "blank_label", ours, "blank_index");
            if (a.Bool("softmaxed_probabilities") == true) Copy(a, "softmaxed_probabilities", ours, "probabilities");
            if (a.String("logits_output") is not null) Copy(a, "logits_output", ours, "output");
            if (a.Has("vocabulary_file")) Copy(a, "vocabulary_file", ours, "dictionary");
            else if (a.Has("custom_label_map")) CustomLabelMap(a, ours, map.KeyLine("custom_label_map"));
            if (!a.Has("blank_label") && a.Has("vocabulary_file"))
                a.Problem("blank_label", "is required with vocabulary_file here: Accuracy Checker takes the class after the vocabulary's lines; give that index.");
            else if (!a.Has("blank_label") && a.Raw("custom_label_map") is ConfigMap labels)
                ours.Add("blank_index", EngineTree.Number(labels.Count, map.KeyLine("custom_label_map")));
            return ours;
        }
        if (type == "ssd")
        {
            // One DetectionOutput [1, 1, M, 7]: the model's output unless it is named.
            AdapterReader(map, path, launcher.Problems, warnings, new[] { "type" });
            return EngineTree.Map(line, ("type", EngineTree.Text("ssd")));
        }
        if (type is "ssd_onnx" or "faster_rcnn_onnx")
        {
            // Three outputs: boxes, labels and scores; faster_rcnn_onnx's boxes are in the input's pixels (its adapter
            // divides them by the resize's scale), ssd_onnx's fractions of it.
            bool pixels = type == "faster_rcnn_onnx";
            string boxesKey = pixels ? "boxes_out" : "bboxes_out";
            var a = AdapterReader(map, path, launcher.Problems, warnings, new[] { "type", boxesKey, "labels_out", "scores_out" });
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("ssd")));
            // faster_rcnn_onnx without scores_out: each box's score is its fifth column.
            bool scoreColumn = pixels && !a.Has("scores_out");
            RequiredOutputs(a, ours, (boxesKey, "output", $"boxes [N, {(scoreColumn ? 5 : 4)}] (x1, y1, x2, y2{(scoreColumn ? ", score" : "")} {(pixels ? "in the input's pixels" : "as fractions of the input")})"),
                ("labels_out", "labels", "labels [N]" + (pixels ? " (boxes with their label as a sixth column are not read)" : "")));
            if (!scoreColumn) RequiredOutputs(a, ours, ("scores_out", "scores", "scores [N]"));
            if (pixels) ours.Add("normalized", EngineTree.Text("false", line));
            return ours;
        }
        if (type is "retinaface_pytorch" or "faceboxes")
        {
            // Both decode offsets from priors they lay out themselves (adapters/retinaface.py, adapters/detection.py): ours
            // is prior_boxes with their layouts and thresholds.
            bool retina = type == "retinaface_pytorch";
            var a = AdapterReader(map, path, launcher.Problems, warnings, retina
                ? new[] { "type", "bboxes_output", "scores_output", "landmarks_output", "include_boundaries", "keep_top_k", "nms_threshold", "confidence_threshold" }
                : new[] { "type", "boxes_out", "scores_out" });
            ConfigList Lists(params double[][] lists) => EngineTree.List(lists.Select(l => (ConfigNode)EngineTree.List(l.Select(x => (ConfigNode)EngineTree.Number(x, line)), line)), line);
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("prior_boxes")),
                ("min_sizes", retina ? Lists(new double[] { 16, 32 }, new double[] { 64, 128 }, new double[] { 256, 512 }) : Lists(new double[] { 32, 64, 128 }, new double[] { 256 }, new double[] { 512 })),
                ("strides", EngineTree.List((retina ? new[] { 8, 16, 32 } : new[] { 32, 64, 128 }).Select(x => (ConfigNode)EngineTree.Number(x, line)), line)),
                ("grids", EngineTree.Text(retina ? "round" : "ceil", line)));
            RequiredOutputs(a, ours, (retina ? "bboxes_output" : "boxes_out", "output", "offsets [N, 4] from the priors"),
                (retina ? "scores_output" : "scores_out", "scores", "scores [N, 2] (background, face)"));
            if (retina)
            {
                ours.Add("conf_threshold", a.Raw("confidence_threshold") ?? EngineTree.Number(0.02, line));
                ours.Add("nms_threshold", a.Raw("nms_threshold") ?? EngineTree.Number(0.4, line));
                ours.Add("max_detections", a.Raw("keep_top_k") ?? EngineTree.Number(750L, line));
                if (a.Bool("include_boundaries") == true) a.Problem("include_boundaries", "true is not supported: prior_boxes suppresses without boundary pixels (its default, false).");
                if (a.Has("landmarks_output")) warnings.Add($"{a.KeyPath("landmarks_output")}: read and ignored: facial landmarks are not scored here.");
            }
            else
            {
                ours.Add("densities", Lists(new double[] { 4, 2, 1 }, new double[] { 1 }, new double[] { 1 }));
                ours.Add("clip_priors", EngineTree.Text("true", line));
                ours.Add("conf_threshold", EngineTree.Number(0.05, line));
                ours.Add("nms_threshold", EngineTree.Number(0.3, line));
                ours.Add("max_detections", EngineTree.Number(750L, line));
            }
            return ours;
        }
        if (type == "tf_object_detection")
        {
            // TensorFlow's Object Detection API outputs (ONNX Model Zoo's SSD-MobilenetV1): boxes y1, x1, y2, x2 as
            // fractions of the input, classes, scores, and how many of each item's rows are detections.
            var a = AdapterReader(map, path, launcher.Problems, warnings, new[] { "type", "boxes_out", "classes_out", "scores_out", "num_detections_out" });
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("ssd")), ("box_order", EngineTree.Text("y1x1y2x2", line)));
            RequiredOutputs(a, ours, ("boxes_out", "output", "boxes [N, 4] (y1, x1, y2, x2 as fractions of the input)"), ("classes_out", "labels", "classes [N]"),
                ("scores_out", "scores", "scores [N]"), ("num_detections_out", "num_detections", "the count of detections [1]"));
            return ours;
        }
        if (type == "mask_rcnn")
        {
            // Its PyTorch form with boxes_out alone (Intel's person detectors): boxes [N, 5] with their score, in the
            // input's pixels, all of class 1. Accuracy Checker keeps the rows whose corners do not sum to 0; ours those
            // scoring above 0 (the same rows where padding rows are zeros).
            var a = AdapterReader(map, path, launcher.Problems, warnings, new[] { "type", "boxes_out", "scores_out", "classes_out", "raw_masks_out", "detection_out", "num_detections_out" });
            foreach (var key in new[] { "scores_out", "classes_out", "raw_masks_out", "detection_out", "num_detections_out" }.Where(a.Has))
                a.Problem(key, "is not supported: mask_rcnn is read with boxes_out alone (boxes [N, 5] with their score, in the input's pixels); instance masks are not scored here.");
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("class_agnostic")), ("normalized", EngineTree.Text("false", line)));
            if (a.String("boxes_out") is not null) Copy(a, "boxes_out", ours, "output");
            return ours;
        }
        if (type == "ultra_lightweight_face_detection")
        {
            // Boxes [N, 4] as fractions of the input and scores [N, 2]: a face (class 1) where its score exceeds score_threshold.
            var a = AdapterReader(map, path, launcher.Problems, warnings, new[] { "type", "boxes_out", "scores_out", "score_threshold" });
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("ssd")), ("conf_threshold", a.Raw("score_threshold") ?? EngineTree.Number(0.7, line)));
            RequiredOutputs(a, ours, ("boxes_out", "output", "boxes [N, 4] (x1, y1, x2, y2 as fractions of the input)"), ("scores_out", "scores", "scores [N, 2] (background, face)"));
            return ours;
        }
        if (type == "reid")
        {
            // grn_workaround (on by default) is our normalize; joining_method joins the embeddings of several inferences
            // of one item (a flip merged with the original), which a dataset's preprocessing cannot ask for here.
            var a = AdapterReader(map, path, launcher.Problems, warnings, new[] { "type", "grn_workaround", "mean_pooling", "target_out", "joining_method", "keep_shape" });
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("reid")));
            Copy(a, "grn_workaround", ours, "normalize");
            Copy(a, "mean_pooling", ours);
            Copy(a, "target_out", ours, "output");
            foreach (var key in new[] { "joining_method", "keep_shape" })
                if (a.Has(key))
                    warnings.Add($"{a.KeyPath(key)}: read and ignored: {(key == "keep_shape" ? "the metrics compare embeddings flattened either way" : "it joins the embeddings of several inferences of an item (a flip merged with the original), and each item is inferred once")}.");
            return ours;
        }
        if (type == "bert_question_answering")
        {
            // The start and end logits of each window's tokens; extract_answers_tokens (postprocessing) adds its keys.
            var a = AdapterReader(map, path, launcher.Problems, warnings, new[] { "type", "start_token_logits_output", "end_token_logits_output" });
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("question_answering")));
            RequiredOutputs(a, ours, ("start_token_logits_output", "output", "the start logits of the window's tokens"), ("end_token_logits_output", "end_output", "the end logits"));
            return ours;
        }
        if (type == "bert_ner")
        {
            // Each token's class scores [batch, tokens, classes]; the first output unless classification_out names one.
            var a = AdapterReader(map, path, launcher.Problems, warnings, new[] { "type", "classification_out" });
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("token_classification")));
            Copy(a, "classification_out", ours, "output");
            return ours;
        }
        if (type == "bert_question_answering_embedding")
        {
            // Each item's embedding as it is: our reid adapter without normalization.
            var a = AdapterReader(map, path, launcher.Problems, warnings, new[] { "type", "embedding" });
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("reid")), ("normalize", EngineTree.Text("false")));
            Copy(a, "embedding", ours, "output");
            return ours;
        }
        if (type == "segmentation")
        {
            var a = AdapterReader(map, path, launcher.Problems, warnings, new[] { "type", "make_argmax" });
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("segmentation")));
            Copy(a, "make_argmax", ours);
            return ours;
        }
        if (type is "yolo_v3" or "yolo_v5")
        {
            // Its keys are ours by the same names (EngineParser.ParseGrid reads them); yolo_v5 is yolo_v3 but for raw
            // grids, whose boxes it decodes as YOLOv5 does.
            var a = AdapterReader(map, path, launcher.Problems, warnings, EngineParser.GridKeys.Prepend("type").ToArray());
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("yolo_v3")));
            foreach (var key in EngineParser.GridKeys) Copy(a, key, ours);
            if (type == "yolo_v5" && a.Bool("raw_output") == true) ours.Add("box_decode", EngineTree.Text("yolo_v5", line));
            return ours;
        }
        if (type == "yolo_v2")
        {
            // Its keys are ours by the same names; a raw grid's class scores take Accuracy Checker's softmax over the whole grid.
            var a = AdapterReader(map, path, launcher.Problems, warnings, EngineParser.V2GridKeys.Prepend("type").ToArray());
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("yolo_v2")), ("softmax", EngineTree.Text("image")));
            foreach (var key in EngineParser.V2GridKeys) Copy(a, key, ours);
            return ours;
        }
        if (type == "yolox")
        {
            // num is the column of the first class score after the box and objectness: 5 in YOLOX's output.
            var a = AdapterReader(map, path, launcher.Problems, warnings, new[] { "type", "threshold", "num", "output_name" });
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("yolox")));
            Copy(a, "threshold", ours);
            if (a.Int("num", 1, 1 << 10) is int num && num != 5) a.Problem("num", $"is {num}: YOLOX's class scores start at column 5 (num: 5, the default).");
            if (a.String("output_name") is not null) Copy(a, "output_name", ours, "output");
            return ours;
        }
        if (type == "detr")
        {
            var a = AdapterReader(map, path, launcher.Problems, warnings, new[] { "type", "scores_out", "boxes_out" });
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("detr")));
            RequiredOutputs(a, ours, ("boxes_out", "output", "boxes [N, 4] (centre x, centre y, width, height as fractions of the input)"), ("scores_out", "scores", "class logits [N, classes + 1]"));
            return ours;
        }
        if (type == "nanodet")
        {
            var a = AdapterReader(map, path, launcher.Problems, warnings, new[] { "type", "num_classes", "confidence_threshold", "nms_threshold", "max_detections", "reg_max", "strides", "is_legacy" });
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("nanodet")));
            foreach (var (theirs, key) in new[] { ("num_classes", "classes"), ("confidence_threshold", "conf_threshold"), ("nms_threshold", "nms_threshold"),
                         ("max_detections", "max_detections"), ("reg_max", "reg_max"), ("strides", "strides"), ("is_legacy", "legacy") })
                Copy(a, theirs, ours, key);
            return ours;
        }
        if (type == "yolo_v3_onnx")
        {
            // Boxes in the image's pixels, as the model computes them from the image's size (an ORIG_IMAGE_INFO input).
            var a = AdapterReader(map, path, launcher.Problems, warnings, new[] { "type", "boxes_out", "scores_out", "indices_out" });
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("yolo_v3_onnx")));
            RequiredOutputs(a, ours, ("boxes_out", "output", "boxes [N, 4] (y1, x1, y2, x2 in the image's pixels)"), ("scores_out", "scores", "scores [classes, N]"),
                ("indices_out", "indices", "the selected indices [M, 3] (image, class, box)"));
            return ours;
        }
        if (type == "class_agnostic_detection")
        {
            var a = AdapterReader(map, path, launcher.Problems, warnings, new[] { "type", "output_blob", "scale" });
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("class_agnostic")));
            Copy(a, "scale", ours);
            if (a.String("output_blob") is not null) Copy(a, "output_blob", ours, "output");
            return ours;
        }
        if (type is "yolo_v8_detection" or "yolo_v8")
        {
            var a = AdapterReader(map, path, launcher.Problems, warnings, new[] { "type", "conf_threshold", "output_name", "multi_label" });
            var ours = EngineTree.Map(line, ("type", EngineTree.Text("yolo_v8")));
            Copy(a, "conf_threshold", ours);
            if (a.String("output_name") is not null) Copy(a, "output_name", ours, "output");
            if (a.Bool("multi_label") == true) a.Problem("multi_label", "is not supported: each candidate takes its best class (multi_label: false).");
            return ours;
        }
        string? near = EditDistance.Suggest(type, Adapters);
        launcher.Problems.Add(raw is ConfigScalar ? path : EngineProblems.Join(path, "type"),
            $"'{type}' is not supported in Accuracy Checker configurations{(near != null ? $" (did you mean '{near}'?)" : "")}: {string.Join(", ", Adapters)} are. " +
            "Write the engine in PotPowerShell's own format for other tasks (see about_PotPowerShell_Engine).", raw is ConfigScalar ? line : map.KeyLine("type"));
        return null;
    }

    /// <summary>An adapter's output names taken over (theirs as ours), each required; a missing one's problem says what it holds.</summary>
    /// <summary>
    /// An adapter's keys: Accuracy Checker ignores the keys an adapter does not take (its adapters validate with
    /// IGNORE_ON_EXTRA_ARGUMENT), so they are read and ignored here with a warning, not refused.
    /// </summary>
    /// <summary>A CTC decoder's custom_label_map (indices 0, 1, 2, ... to one symbol each) as our alphabet.</summary>
    private static void CustomLabelMap(MapReader a, ConfigMap ours, int line)
    {
        var labels = a.Raw("custom_label_map") as ConfigMap;
        var keys = labels?.Keys.Select(k => int.TryParse(k, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) ? i : -1).ToList();
        if (labels == null || keys!.Any(k => k < 0) || !keys!.OrderBy(k => k).SequenceEqual(Enumerable.Range(0, keys!.Count)))
            a.Problem("custom_label_map", "must map the indices 0, 1, 2, ... to one symbol each.");
        else
            ours.Add("alphabet", EngineTree.Text(string.Concat(labels.Entries.OrderBy(kv => int.Parse(kv.Key, CultureInfo.InvariantCulture)).Select(kv => EngineTree.TextOf(kv.Value) ?? "")), line));
    }

    private static MapReader AdapterReader(ConfigMap map, string path, EngineProblems problems, List<string> warnings, string[] keys)
    {
        var others = map.Keys.Where(k => !keys.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        foreach (var key in others)
            warnings.Add($"{EngineProblems.Join(path, key)}: read and ignored: the {EngineTree.TextOf(map["type"])?.Trim()} adapter does not take it (Accuracy Checker ignores it too){(EditDistance.Suggest(key, keys) is { } near ? $"; did you mean '{near}'?" : "")}.");
        return new MapReader(map, path, problems, keys.Concat(others).ToArray());
    }

    private static void RequiredOutputs(MapReader from, ConfigMap ours, params (string Theirs, string Ours, string What)[] outputs)
    {
        foreach (var (theirs, key, what) in outputs)
            if (from.String(theirs) is not null) Copy(from, theirs, ours, key);
            else from.Problem(theirs, $"is required: the model output of {what}.");
    }

    /// <summary>
    /// Takes the file's value of <paramref name="theirs"/> over into <paramref name="ours"/> (as <paramref name="key"/>,
    /// the same name by default) as it is: its node, with the line of their key.
    /// </summary>
    private static void Copy(MapReader from, string theirs, ConfigMap ours, string? key = null)
    {
        if (from.Raw(theirs) is { } value) ours.Add(key ?? theirs, value, from.Node.KeyLine(theirs));
    }

    /// <summary>
    /// A launcher's inputs: the one of type INPUT the image feeds (its name and layout), and those fed beside it as the
    /// dataset's other_inputs (ORIG_IMAGE_INFO as image_size, CONST_INPUT as its value).
    /// </summary>
    /// <param name="Features">Inputs of type INPUT with a value: model input -> the annotation feature it is fed (annotation_features_extractor).</param>
    private sealed record LauncherInputs(string? Input, string? Layout, ConfigMap? Others, ConfigMap? Features = null);

    private static readonly LauncherInputs NoInputs = new(null, null, null);

    private static LauncherInputs Inputs(MapReader launcher, List<string> warnings)
    {
        var inputs = launcher.List("inputs");
        if (inputs == null) return NoInputs;
        string? name = null, layout = null;
        ConfigMap? others = null, features = null;
        for (int i = 0; i < inputs.Count; i++)
        {
            string path = EngineProblems.Index(launcher.KeyPath("inputs"), i);
            if (inputs.Items[i] is not ConfigMap map)
            {
                launcher.Problems.Add(path, $"must be a mapping with name:, type: and layout:, not {EngineTree.Show(inputs.Items[i])}.", inputs.Items[i].Line);
                continue;
            }
            var m = new MapReader(map, path, launcher.Problems, new[] { "name", "type", "layout", "shape", "precision", "value" });
            string type = m.String("type")?.Trim().ToUpperInvariant() ?? "INPUT";
            if (type is "ORIG_IMAGE_INFO" or "CONST_INPUT")
            {
                string? other = m.String("name", required: true);
                if (type == "CONST_INPUT" && !m.Has("value")) m.Problem("value", "is required for a CONST_INPUT: the array the input is fed.");
                if (type == "ORIG_IMAGE_INFO" && m.Has("value")) m.Problem("value", "applies to a CONST_INPUT only.");
                if (other != null)
                {
                    others ??= new ConfigMap(map.Line);
                    if (!others.Add(other, type == "CONST_INPUT" ? m.Raw("value") ?? EngineTree.Text("") : EngineTree.Text("image_size", map.KeyLine("type")), map.KeyLine(type == "CONST_INPUT" ? "value" : "type")))
                        m.Problem("name", $"'{other}' is listed twice: give each input once.");
                }
                continue;
            }
            if (type != "INPUT")
            {
                m.Problem("type", $"'{type}' is not supported: the image feeds one model input of type INPUT, and inputs of type ORIG_IMAGE_INFO (the image's height and width) or CONST_INPUT (value:) are fed beside it.");
                continue;
            }
            if (m.Has("value"))
            {
                // An annotation feature by name (Accuracy Checker matches value as a pattern against the features'
                // identifiers; Open Model Zoo's configurations write the feature's name).
                string? fed = m.String("name", required: true);
                features ??= new ConfigMap(map.Line);
                if (fed != null && !features.Add(fed, m.Raw("value")!, map.KeyLine("value")))
                    m.Problem("name", $"'{fed}' is listed twice: give each input once.");
                continue;
            }
            if (name != null)
            {
                launcher.Problems.Add(path, "a second INPUT: an image dataset feeds one model input.", map.Line);
                continue;
            }
            name = m.String("name", required: true);
            layout = m.String("layout")?.Trim().ToUpperInvariant();
            if (layout != null && layout is not ("NCHW" or "NHWC"))
            {
                m.Problem("layout", $"'{layout}' is not supported: use NCHW or NHWC.");
                layout = null;
            }
            foreach (var key in new[] { "shape", "precision" })
                if (m.Has(key)) warnings.Add($"{m.KeyPath(key)}: read and ignored: the model's own input {(key == "shape" ? "shape" : "element type")} is used.");
        }
        return new(name, layout, others, features);
    }

    private static readonly Dictionary<string, (string Format, string? Order)> Readers = new(StringComparer.OrdinalIgnoreCase)
    {
        // OpenCV decodes to BGR, Pillow to RGB: the order the preprocessing's mean/std lists start from.
        ["opencv_imread"] = ("images", "BGR"),
        ["pillow_imread"] = ("images", "RGB"),
    };

    /// <param name="defined">Dataset definitions were read: a dataset that still lacks data_source is not only named.</param>
    /// <param name="features">The launcher's inputs fed annotation features (annotation_features_extractor).</param>
    /// <param name="extraction">extract_answers_tokens' keys, for the question_answering adapter.</param>
    private static ConfigMap Dataset(MapReader m, string? input, string? layout, ConfigMap? others, ConfigMap? features, List<string> warnings, string baseFolder, bool defined,
        out string? labelSymbols, out ConfigMap? extraction)
    {
        var d = new ConfigMap(m.Node.Line);
        foreach (var key in new[] { "name", "data_source", "subsample_size", "subsample_seed" }) Copy(m, key, d);
        if (m.Has("subsample_size"))
            warnings.Add($"{m.KeyPath("subsample_size")}: the subset is drawn with PotPowerShell's seeded sampler (subsample_seed, default 0), not the one Accuracy Checker draws for the same seed.");
        extraction = null;
        if (ReaderName(m)?.Equals("annotation_features_extractor", StringComparison.OrdinalIgnoreCase) == true)
            return FeatureDataset(m, d, features, warnings, out labelSymbols, out extraction);
        if (features != null)
            m.Problems.Add(m.KeyPath("reader"), "the launcher feeds inputs annotation features (INPUT with value:), which the annotation_features_extractor reader gives (a squad or conll_ner converter's items).", m.Node.KeyLine("reader"));
        if (!m.Has("data_source"))
            m.Problem("data_source", defined
                ? "is required: the folder of images."
                : $"is required: the folder of images. A dataset that only names its definition (Open Model Zoo's data/dataset_definitions.yml) takes it from there: name that file with {AccuracyCheckerDefinitions.Key}: in this configuration or the DEFINITIONS_FILE environment variable, and its data folder with DATA_DIR.");

        string reader = ReaderName(m) ?? "opencv_imread";
        string order = "BGR";
        int readerLine = m.Node.KeyLine("reader");
        if (Readers.TryGetValue(reader, out var r))
        {
            d.Add("format", EngineTree.Text(r.Format, readerLine));
            order = r.Order!;
        }
        else if (reader.Equals("numpy_reader", StringComparison.OrdinalIgnoreCase))
        {
            // One .npy file per item, fed as it is: there is nothing for image preprocessing to work on.
            d.Add("format", EngineTree.Text("npy_files", readerLine));
            if (m.Has("preprocessing")) m.Problem("preprocessing", "applies to images; numpy_reader items are fed as they are.");
        }
        else
            m.Problem("reader", $"'{reader}' is not supported: use opencv_imread, pillow_imread or numpy_reader.");
        bool npyFiles = EngineTree.TextOf(d["format"]) == "npy_files";
        if (input != null) d.Add("input", EngineTree.Text(input));
        if (layout != null && !npyFiles) d.Add("layout", EngineTree.Text(layout));
        if (others != null && !npyFiles) d.Add("other_inputs", others);

        // Accuracy Checker reads these pickles when they exist, and otherwise writes them from annotation_conversion:
        // Open Model Zoo's dataset definitions name both, so with a conversion they are what it would convert again.
        foreach (var key in new[] { "annotation", "dataset_meta" })
            if (m.Has(key) && m.Has("annotation_conversion"))
                warnings.Add($"{m.KeyPath(key)}: read and ignored: pickled files are not read; the annotations are converted from annotation_conversion on every run.");
            else if (m.Has(key)) m.Problem(key, "pre-converted (pickled) annotations cannot be read: give annotation_conversion: instead.");
        if (Postprocessing(m, warnings, out _) is { Count: > 0 } post) d.Add("postprocessing", post, m.Node.KeyLine("postprocessing"));
        labelSymbols = Annotation(m, d, warnings, baseFolder, EncodesMasks(m));

        if (!npyFiles)
        {
            bool grey = false;
            var steps = Preprocessing(m, ref order, ref grey);
            d.Add("color_order", EngineTree.Text(order));
            if (grey) d.Add("channels", EngineTree.Number(1));
            if (steps.Count > 0) d.Add("preprocessing", steps, m.Node.KeyLine("preprocessing"));
        }

        AddMetrics(m, d, warnings, "[{type: accuracy, top_k: 1}]");
        return d;
    }

    private static readonly string[] TokenFeatures = { "input_ids", "input_mask", "segment_ids", "position_ids" };

    /// <summary>
    /// The annotation_features_extractor reader over a squad converter's windows or a conll_ner converter's sentences:
    /// our format squad or conll, its keys from the converter (testing_file or annotation_file is the data), the
    /// launcher's inputs as inputs:, extract_answers_tokens for the question answering adapter.
    /// </summary>
    private static ConfigMap FeatureDataset(MapReader m, ConfigMap d, ConfigMap? features, List<string> warnings, out string? labelSymbols, out ConfigMap? extraction)
    {
        labelSymbols = null;
        int line = m.Node.KeyLine("reader");
        if (m.Raw("reader") is ConfigMap reader)
        {
            var r = new MapReader(reader, m.KeyPath("reader"), m.Problems, new[] { "type", "features" });
            if (r.List("features") is { } listed)
                foreach (var f in listed.Items)
                    if (EngineTree.TextOf(f)?.Trim() is not { } name || !TokenFeatures.Contains(name))
                        r.Problem("features", $"names {EngineTree.Show(f)}: a token item's features are {string.Join(", ", TokenFeatures)}.");
        }
        foreach (var key in new[] { "data_source", "preprocessing" })
            if (m.Has(key)) m.Problem(key, "does not apply to annotation_features_extractor: the converter's file is the data, fed as tokens.");
        var conversion = m.Raw("annotation_conversion") as ConfigMap;
        bool conll = EngineTree.TextOf(conversion?["converter"])?.Trim().ToLowerInvariant() == "conll_ner";
        d.Add("format", EngineTree.Text(conll ? "conll" : "squad", line));
        if (features != null)
        {
            var inputs = new ConfigMap(features.Line);
            foreach (var (name, value) in features.Entries)
                if (EngineTree.TextOf(value)?.Trim() is { } feature && TokenFeatures.Contains(feature)) inputs.Add(name, EngineTree.Text(feature, value.Line), features.KeyLine(name));
                else m.Problems.Add(m.KeyPath("reader"), $"the launcher's input '{name}' takes {EngineTree.Show(value)}: a token item's features are {string.Join(", ", TokenFeatures)}.", value.Line);
            d.Add("inputs", inputs, features.Line);
        }
        Postprocessing(m, warnings, out extraction);
        if (!m.Has("annotation_conversion")) m.Problem("annotation_conversion", "is required: {converter: squad, testing_file: dev-v1.1.json, vocab_file: vocab.txt}.");
        else if (conll && m.Map("annotation_conversion", ConverterKeys) is { } c)
        {
            foreach (var key in ConverterKeys.Where(k => !ConllConverterKeys.Contains(k) && c.Has(k)))
                c.Problem(key, "does not apply to conll_ner.");
            if (c.Has("annotation_file")) Copy(c, "annotation_file", d, "data_source");
            else c.Problem("annotation_file", "is required: the CoNLL-2003 file (valid.txt).");
            if (c.Has("vocab_file")) Copy(c, "vocab_file", d);
            else c.Problem("vocab_file", "is required: the model's WordPiece vocabulary (vocab.txt).");
            foreach (var key in new[] { "lower_case", "include_special_token_labels", "labels_file" }) Copy(c, key, d);
            Copy(c, "max_len", d, "max_seq_length");
            Copy(c, "pad_input", d, "padding");
        }
        else if (!conll && m.Map("annotation_conversion", ConverterKeys) is { } a)
        {
            string kind = a.String("converter", required: true)?.Trim().ToLowerInvariant() ?? "squad";
            if (kind is not ("squad" or "squad_emb"))
                a.Problem("converter", $"'{kind}' is not supported with annotation_features_extractor: squad, squad_emb and conll_ner are.");
            foreach (var key in ConverterKeys.Where(k => !SquadConverterKeys.Contains(k) && a.Has(k) || kind == "squad_emb" && k == "doc_stride" && a.Has(k)))
                a.Problem(key, $"does not apply to {kind}.");
            // squad_emb: contexts and questions as items of their own, for embedding retrieval.
            if (kind == "squad_emb") d.Add("squad_layout", EngineTree.Text("embeddings", a.Node.KeyLine("converter")));
            if (a.Has("testing_file")) Copy(a, "testing_file", d, "data_source");
            else a.Problem("testing_file", "is required: the SQuAD .json file (dev-v1.1.json).");
            if (a.Has("vocab_file")) Copy(a, "vocab_file", d);
            else a.Problem("vocab_file", "is required: the model's WordPiece vocabulary (vocab.txt).");
            foreach (var key in new[] { "max_seq_length", "max_query_length", "doc_stride", "lower_case" }) Copy(a, key, d);
            Copy(a, "enable_padding", d, "padding");
        }
        AddMetrics(m, d, warnings, conll ? "[{type: ner_accuracy}, {type: ner_f_score}]" : "[{type: f1}, {type: exact_match}]");
        return d;
    }

    /// <summary>The dataset's metrics as ours; <paramref name="example"/> shows some where they are missing.</summary>
    private static void AddMetrics(MapReader m, ConfigMap d, List<string> warnings, string example)
    {
        var metrics = m.List("metrics");
        if (metrics != null)
            d.Add("metrics", EngineTree.List(metrics.Items.Select((x, i) => Metric(x, EngineProblems.Index(m.KeyPath("metrics"), i), m.Problems, warnings)), metrics.Line),
                m.Node.KeyLine("metrics"));
        else if (!m.Has("metrics")) m.Problem("metrics", $"is required: e.g. {example}.");
    }

    private static readonly string[] SquadConverterKeys = { "converter", "testing_file", "vocab_file", "max_seq_length", "max_query_length", "doc_stride", "lower_case", "enable_padding" };

    private static readonly string[] ConllConverterKeys = { "converter", "annotation_file", "vocab_file", "lower_case", "max_len", "pad_input", "include_special_token_labels", "labels_file" };

    private static string? ReaderName(MapReader m) => m.Raw("reader") switch
    {
        null => null,
        ConfigScalar s => s.Written.Trim(),
        ConfigMap map when EngineTree.TextOf(map["type"]) is { } s => s.Trim(),
        var raw => Fail(m, "reader", $"must be a word such as opencv_imread, or a mapping with type:, not {EngineTree.Show(raw)}."),
    };

    private static string? Fail(MapReader m, string key, string message)
    {
        m.Problem(key, message);
        return null;
    }

    /// <summary>
    /// The converter as our annotation keys. Returns the symbols of the converter's label map when it is a text
    /// recognition converter (what a CTC decoder without its own vocabulary decodes with), else null.
    /// </summary>
    private static string? Annotation(MapReader m, ConfigMap d, List<string> warnings, string baseFolder, bool encode)
    {
        if (!m.Has("annotation_conversion"))
        {
            m.Problem("annotation_conversion", "is required: {converter: imagenet, annotation_file: val.txt}.");
            return null;
        }
        var a = m.Map("annotation_conversion", ConverterKeys);
        if (a == null) return null;
        string? converter = a.String("converter", required: true);
        if (converter == null) return null;
        string kind = converter.Trim().ToLowerInvariant();
        if (kind == "squad")
        {
            a.Problem("converter", "squad's token windows are read by the annotation_features_extractor reader: add reader: {type: annotation_features_extractor, features: [input_ids, input_mask, segment_ids]}.");
            return null;
        }
        if (!Converters.Contains(kind))
        {
            // Accuracy Checker has no converter named image_folder: its class-per-sub-folder converter is cls_dataset_folder.
            string? near = kind == "image_folder" ? "cls_dataset_folder" : EditDistance.Suggest(kind, Converters);
            a.Problem("converter", $"'{converter}' is not supported{(near != null ? $" (did you mean '{near}'?)" : "")}: {string.Join(", ", Converters)} are.");
            return null;
        }
        if (a.Has("data_dir") && kind is not ("cls_dataset_folder" or "market1501_reid" or "veri776_reid" or "image_retrieval"))
            a.Problem("data_dir", "applies to cls_dataset_folder, market1501_reid, veri776_reid and image_retrieval only.");
        if (m.Has("segmentation_masks_source") && kind is not ("common_semantic_segmentation" or "voc_segmentation" or "camvid"))
            m.Problem("segmentation_masks_source", "applies to the common_semantic_segmentation, voc_segmentation and camvid converters only.");
        if (encode && kind is not ("common_semantic_segmentation" or "voc_segmentation"))
            m.Problem("postprocessing", "encode_segmentation_mask applies to segmentation masks (converters common_semantic_segmentation and voc_segmentation).");
        if (a.Has("decoding_char_file") && kind != "unicode_character_recognition") a.Problem("decoding_char_file", "applies to unicode_character_recognition only.");
        if (kind == "cls_dataset_folder") return ClassFolderConverter(a, d);
        if (kind is "market1501_reid" or "veri776_reid" or "image_retrieval") return ReidConverter(m, a, d, kind);
        if (kind == "common_semantic_segmentation") return SegmentationConverter(m, a, d, warnings, baseFolder, encode);
        if (kind == "voc_segmentation") return VocSegmentationConverter(m, a, d, warnings, baseFolder, encode);
        if (kind == "camvid") return CamVidConverter(m, a, d, warnings);
        if (kind == "unicode_character_recognition") return UnicodeText(a, d, warnings, baseFolder);
        foreach (var key in new[] { "sort_annotations", "use_full_label_map" })
            if (a.Has(key) && kind != "mscoco_detection") a.Problem(key, "applies to mscoco_detection only.");
        if (a.Has("annotations_dir") && kind != "voc_detection") a.Problem("annotations_dir", "applies to voc_detection only.");
        if (a.Has("imageset_file") && kind != "voc_detection") a.Problem("imageset_file", "applies to voc_detection and voc_segmentation only.");
        if (a.Has("label_start") && kind != "wider") a.Problem("label_start", "applies to wider only.");
        if (kind == "wider")
        {
            // WIDER FACE's faces, class label_start (1 by default: after a background class).
            foreach (var key in ConverterKeys.Where(k => k is not ("converter" or "annotation_file" or "label_start" or "images_dir" or "dataset_meta_file") && a.Has(k)))
                a.Problem(key, "does not apply to wider.");
            if (a.Has("annotation_file")) Copy(a, "annotation_file", d, "wider_annotations");
            else a.Problem("annotation_file", "is required: WIDER FACE's wider_face_val_bbx_gt.txt.");
            if ((a.Has("label_start") ? a.Int("label_start", 0, 1 << 20) : 1) is int start and > 0) d.Add("label_offset", EngineTree.Number(start));
            foreach (var key in new[] { "images_dir", "dataset_meta_file" })
                if (a.Has(key)) warnings.Add($"{a.KeyPath(key)}: read and ignored: images are named relative to data_source, and faces are class label_start.");
            return null;
        }
        if (kind == "cvat_object_detection")
        {
            // CVAT's XML: classes numbered by its labels after a background class (has_background, true by default),
            // or as labels_file gives them (then has_background adds nothing, as in Accuracy Checker).
            foreach (var key in ConverterKeys.Where(k => k is not ("converter" or "annotation_file" or "labels_file" or "has_background" or "images_dir" or "dataset_meta_file") && a.Has(k)))
                a.Problem(key, "does not apply to cvat_object_detection.");
            if (a.Has("annotation_file")) Copy(a, "annotation_file", d, "cvat_annotations");
            else a.Problem("annotation_file", "is required: the CVAT XML annotation (for images).");
            if (a.Has("labels_file")) Copy(a, "labels_file", d, "cvat_labels");
            else if (a.Bool("has_background") != false) d.Add("label_offset", EngineTree.Number(1));
            if (a.Has("dataset_meta_file")) a.Problem("dataset_meta_file", "is not read for cvat_object_detection: give its labels as labels_file ({\"labels\": {\"car\": 1, ...}}), or let the XML's labels number the classes.");
            if (a.Has("images_dir")) warnings.Add($"{a.KeyPath("images_dir")}: read and ignored: images are named relative to data_source.");
            return null;
        }
        if (kind == "voc_detection")
        {
            // One XML file per image in annotations_dir; VOC's twenty classes after a background class (has_background
            // defaults to true for this converter, as in Accuracy Checker).
            if (a.Has("annotations_dir")) Copy(a, "annotations_dir", d, "voc_annotations");
            else a.Problem("annotations_dir", "is required: the folder of VOC .xml annotations.");
            Copy(a, "imageset_file", d);
            if (a.Bool("has_background") != false) d.Add("label_offset", EngineTree.Number(1));
            foreach (var key in new[] { "images_dir", "dataset_meta_file", "labels_file", "delimeter", "annotation_file" })
                if (a.Has(key)) warnings.Add($"{a.KeyPath(key)}: read and ignored: images are named relative to data_source, classes are VOC's twenty.");
            return null;
        }
        if (kind == "mscoco_detection")
        {
            // Images sorted by id, categories numbered in their order: what the converter does by default.
            if (a.Has("annotation_file")) Copy(a, "annotation_file", d);
            else a.Problem("annotation_file", "is required: the COCO instances .json file.");
            // With the full label map the classes are the category ids, whatever has_background says.
            if (a.Bool("use_full_label_map") == true) d.Add("coco_labels", EngineTree.Text("ids", a.Node.KeyLine("use_full_label_map")));
            else if (a.Bool("has_background") == true) d.Add("label_offset", EngineTree.Number(1));
            if (a.Bool("sort_annotations") == false) a.Problem("sort_annotations", "false is not supported: images are taken in the order of their ids.");
            foreach (var key in new[] { "images_dir", "dataset_meta_file", "labels_file", "delimeter" })
                if (a.Has(key)) warnings.Add($"{a.KeyPath(key)}: read and ignored: images are named relative to data_source, classes come from the annotation file.");
            return null;
        }
        if (kind == "icdar13_recognition")
        {
            // 'image text' lines; our annotation reader splits at the first space or tab, as this converter's delimiter does.
            if (a.Has("annotation_file")) Copy(a, "annotation_file", d);
            else a.Problem("annotation_file", "is required: the text file of 'image_name text' lines.");
            if (a.String("delimeter") is { } delimiter && delimiter.Trim() is not ("space" or "tab"))
                a.Problem("delimeter", $"'{delimiter}' is not space or tab.");
            return Icdar13Symbols;
        }
        if (a.Has("annotation_file")) Copy(a, "annotation_file", d);
        else a.Problem("annotation_file", "is required: the text file of 'image_name label' lines.");
        if (a.Bool("has_background") == true) d.Add("label_offset", EngineTree.Number(1));
        foreach (var key in new[] { "labels_file", "images_dir", "dataset_meta_file" })
            if (a.Has(key))
                warnings.Add($"{a.KeyPath(key)}: read and ignored: it names classes or checks files in Accuracy Checker's own reports; labels come from annotation_file.");
        return null;
    }

    /// <summary>
    /// cls_dataset_folder: data_dir holds one sub-folder per class; classes are numbered in sorted name order and each
    /// image is named 'class/file' relative to data_source (Data/ClassFolders.cs). The converter takes no other key.
    /// </summary>
    private static string? ClassFolderConverter(MapReader a, ConfigMap d)
    {
        foreach (var key in ConverterKeys.Where(k => k is not ("converter" or "data_dir" or "decoding_char_file") && a.Has(k)))
            a.Problem(key, "does not apply to cls_dataset_folder: it takes data_dir only (one sub-folder per class).");
        if (a.Has("data_dir")) Copy(a, "data_dir", d, "class_folders");
        else a.Problem("data_dir", "is required: the folder with one sub-folder of images per class.");
        return null;
    }

    /// <summary>
    /// market1501_reid, veri776_reid: the gallery and query folders of data_dir, whose images Accuracy Checker reads from
    /// data_source by the same names: our reid_layout lists and reads data_source, so data_dir must name that folder.
    /// image_retrieval: its gallery_annotation_file and queries_annotation_file (by default data_dir's gallery/list.txt
    /// and queries/list.txt) as reid_gallery and reid_queries, the images relative to data_dir, which again must be
    /// data_source's folder.
    /// </summary>
    private static string? ReidConverter(MapReader m, MapReader a, ConfigMap d, string kind)
    {
        bool lists = kind == "image_retrieval";
        var own = lists ? new[] { "converter", "data_dir", "gallery_annotation_file", "queries_annotation_file" } : new[] { "converter", "data_dir" };
        foreach (var key in ConverterKeys.Where(k => !own.Contains(k) && a.Has(k)))
            a.Problem(key, $"does not apply to {kind}: it takes {string.Join(", ", own.Skip(1))} only.");
        string? dataDir = a.String("data_dir");
        if (dataDir == null) a.Problem("data_dir", "is required: the folder that holds the gallery and query images.");
        else if (!SameFolder(dataDir, m.String("data_source")))
            a.Problem("data_dir", "must be data_source's folder: its gallery and query images are read from there.");
        int line = a.Node.KeyLine("converter");
        if (!lists)
        {
            d.Add("reid_layout", EngineTree.Text(kind == "market1501_reid" ? "market1501" : "veri776", line));
            return null;
        }
        foreach (var (theirs, ours, folder) in new[] { ("gallery_annotation_file", "reid_gallery", "gallery"), ("queries_annotation_file", "reid_queries", "queries") })
            if (a.Has(theirs)) Copy(a, theirs, d, ours);
            else if (dataDir != null) d.Add(ours, EngineTree.Text(Path.Combine(dataDir, folder, "list.txt"), line));
        return null;
    }

    /// <summary>
    /// common_semantic_segmentation: the images of data_source (those ending in image_postfix, .png by default), each
    /// with its mask, named &lt;mask_prefix&gt;&lt;base&gt;&lt;mask_postfix&gt;, in the dataset's
    /// segmentation_masks_source (where Accuracy Checker reads masks from) or else masks_dir; read as Pillow reads them
    /// (mask_loader pillow: a palette PNG's indices, a grey PNG's values) or as .npy arrays (mask_loader numpy).
    /// </summary>
    private static string? SegmentationConverter(MapReader m, MapReader a, ConfigMap d, List<string> warnings, string baseFolder, bool encode)
    {
        foreach (var key in ConverterKeys.Where(k => k is not ("converter" or "images_dir" or "masks_dir" or "image_prefix" or "image_postfix" or "mask_prefix"
                     or "mask_postfix" or "mask_loader" or "dataset_meta_file") && a.Has(k)))
            a.Problem(key, "does not apply to common_semantic_segmentation.");
        if (m.Has("segmentation_masks_source")) Copy(m, "segmentation_masks_source", d, "masks");
        else if (a.Has("masks_dir")) Copy(a, "masks_dir", d, "masks");
        else a.Problem("masks_dir", "is required: the folder of segmentation masks (or give the dataset's segmentation_masks_source).");
        d.Add("image_postfix", a.Raw("image_postfix") ?? EngineTree.Text(".png"));
        foreach (var key in new[] { "image_prefix", "mask_prefix", "mask_postfix" }) Copy(a, key, d);
        if (a.String("mask_loader") is { } loader && loader.Trim() is not ("pillow" or "numpy"))
            a.Problem("mask_loader", $"'{loader}' is not supported: pillow (palette or grey PNG masks) and numpy (.npy masks) are.");
        else if (encode && a.String("mask_loader")?.Trim() == "numpy")
            a.Problem("mask_loader", "numpy masks hold class indices; encode_segmentation_mask reads colours from PNG masks (mask_loader: pillow).");
        ImagesOfDataSource(m, a, warnings);
        if (encode)
        {
            // The colours encode_segmentation_mask maps to classes come from the dataset's meta (segmentation_colors).
            var colors = MetaColors(a, baseFolder);
            if (colors != null) d.Add("mask_colors", ColorList(colors));
            else if (!a.Has("dataset_meta_file"))
                a.Problem("dataset_meta_file", "is required with encode_segmentation_mask: a JSON file whose segmentation_colors gives each class's colour.");
            else a.Problem("dataset_meta_file", "has no segmentation_colors, which encode_segmentation_mask needs: each class's colour, [[r, g, b], ...].");
        }
        else if (a.Has("dataset_meta_file")) warnings.Add($"{a.KeyPath("dataset_meta_file")}: read and ignored: classes are the model's class indices.");
        return null;
    }

    /// <summary>
    /// camvid: SegNet's CamVid list (annotation_file, `image mask` lines) as camvid_list, its masks (class indices) in
    /// the dataset's segmentation_masks_source or else data_source, as Accuracy Checker reads them.
    /// </summary>
    private static string? CamVidConverter(MapReader m, MapReader a, ConfigMap d, List<string> warnings)
    {
        foreach (var key in ConverterKeys.Where(k => k is not ("converter" or "annotation_file" or "dataset_meta_file") && a.Has(k)))
            a.Problem(key, "does not apply to camvid: it takes annotation_file and dataset_meta_file.");
        if (a.Has("annotation_file")) Copy(a, "annotation_file", d, "camvid_list");
        else a.Problem("annotation_file", "is required: the list of `image mask` lines (CamVid/val.txt).");
        if (m.Has("segmentation_masks_source")) Copy(m, "segmentation_masks_source", d, "masks");
        else Copy(m, "data_source", d, "masks");
        if (a.Has("dataset_meta_file")) warnings.Add($"{a.KeyPath("dataset_meta_file")}: read and ignored: the masks hold class indices, the model's.");
        return null;
    }

    /// <summary>
    /// voc_segmentation: the images imageset_file names (one id per line) in data_source, each with its mask &lt;id&gt;.png
    /// in the dataset's segmentation_masks_source or else mask_dir. Accuracy Checker reads these masks as colours
    /// (scipy_imread turns the palette into RGB) and encode_segmentation_mask makes them classes by Pascal VOC's 21
    /// colours, or by dataset_meta_file's segmentation_colors; a colour of no class (VOC's border) is background.
    /// </summary>
    private static string? VocSegmentationConverter(MapReader m, MapReader a, ConfigMap d, List<string> warnings, string baseFolder, bool encode)
    {
        foreach (var key in ConverterKeys.Where(k => k is not ("converter" or "imageset_file" or "images_dir" or "mask_dir" or "dataset_meta_file") && a.Has(k)))
            a.Problem(key, key == "labelmap_file"
                ? "is not supported: give the classes' colours as a dataset_meta_file with segmentation_colors."
                : "does not apply to voc_segmentation: it takes imageset_file, images_dir, mask_dir and dataset_meta_file.");
        if (a.Has("imageset_file")) Copy(a, "imageset_file", d);
        else a.Problem("imageset_file", "is required: the list of image ids (ImageSets/Segmentation/val.txt).");
        if (m.Has("segmentation_masks_source")) Copy(m, "segmentation_masks_source", d, "masks");
        else if (a.Has("mask_dir")) Copy(a, "mask_dir", d, "masks");
        else a.Problem("mask_dir", "is required: the folder of masks (SegmentationClass), or give the dataset's segmentation_masks_source.");
        ImagesOfDataSource(m, a, warnings);
        d.Add("mask_colors", ColorList(MetaColors(a, baseFolder) ?? MaskColors.Voc));
        if (!encode)
            warnings.Add($"{m.KeyPath("postprocessing")}: without encode_segmentation_mask Accuracy Checker would score the masks' colours; they are read as classes by their colours, as that step does.");
        return null;
    }

    /// <summary>Accuracy Checker lists the images of images_dir and reads them from data_source, which should be the same folder.</summary>
    private static void ImagesOfDataSource(MapReader m, MapReader a, List<string> warnings)
    {
        if (a.Has("images_dir") && !SameFolder(a.String("images_dir"), m.String("data_source")))
            warnings.Add($"{a.KeyPath("images_dir")}: read and ignored: the images are those of data_source.");
    }

    /// <summary>True when two paths as written name one folder (a trailing separator aside).</summary>
    private static bool SameFolder(string? a, string? b)
    {
        static string Folder(string? path) => (path ?? "").Trim().TrimEnd('/', '\\');
        return Folder(a) == Folder(b);
    }

    /// <summary>The segmentation_colors of the converter's dataset_meta_file, if it names one that has them.</summary>
    private static MaskColors? MetaColors(MapReader a, string baseFolder) =>
        a.ExistingPath("dataset_meta_file", baseFolder, PathKind.File) is { } meta ? DatasetMetaFile.SegmentationColors(meta) : null;

    private static ConfigList ColorList(MaskColors colors) =>
        EngineTree.List(colors.Colors.Select(c => (ConfigNode)EngineTree.List(new ConfigNode[] { EngineTree.Number(c.R), EngineTree.Number(c.G), EngineTree.Number(c.B) })));

    /// <summary>Whether the dataset's postprocessing turns colour masks into classes (encode_segmentation_mask).</summary>
    private static bool EncodesMasks(MapReader m) =>
        m.Raw("postprocessing") is ConfigList list && list.Items.Any(x => x is ConfigMap map && EngineTree.TextOf(map["type"])?.Trim().ToLowerInvariant() == "encode_segmentation_mask");

    /// <summary>What stands for the blank at index 0 of unicode_character_recognition's label map; never decoded, since 0 is the blank.</summary>
    internal const string BlankPlaceholder = "\uFFFD";

    /// <summary>
    /// unicode_character_recognition: 'image, text' lines (split at the first comma, both parts trimmed) and the
    /// characters of decoding_char_file (its lines joined, line ends removed) as classes 1, 2, ... after the blank 0.
    /// </summary>
    private static string? UnicodeText(MapReader a, ConfigMap d, List<string> warnings, string baseFolder)
    {
        foreach (var key in ConverterKeys.Where(k => k is not ("converter" or "annotation_file" or "decoding_char_file" or "images_dir" or "data_dir") && a.Has(k)))
            a.Problem(key, "does not apply to unicode_character_recognition: it takes annotation_file, decoding_char_file and images_dir.");
        if (a.Has("annotation_file")) Copy(a, "annotation_file", d);
        else a.Problem("annotation_file", "is required: the text file of 'image_name, text' lines.");
        d.Add("annotation_separator", EngineTree.Text("comma"));
        if (a.Has("images_dir"))
            warnings.Add($"{a.KeyPath("images_dir")}: read and ignored: Accuracy Checker uses it only to check that images exist; images are named relative to data_source and every one is checked.");
        string? file = a.ExistingPath("decoding_char_file", baseFolder, PathKind.File, required: true,
            hint: "The UTF-8 file of the characters the model recognises, in class order (classes 1, 2, ...; 0 is the blank).");
        if (file == null) return null;
        string symbols = string.Concat(TextFiles.ReadLines(file));
        if (symbols.Length == 0)
        {
            a.Problem("decoding_char_file", $"'{file}' holds no characters.");
            return null;
        }
        return BlankPlaceholder + symbols;
    }

    private static readonly string[] ConverterKeys =
    {
        "converter", "annotation_file", "labels_file", "has_background", "images_dir", "dataset_meta_file", "delimeter", "sort_annotations",
        "use_full_label_map", "annotations_dir", "imageset_file", "data_dir", "decoding_char_file",
        "masks_dir", "image_prefix", "image_postfix", "mask_prefix", "mask_postfix", "mask_loader", "mask_dir", "labelmap_file", "label_start",
        "gallery_annotation_file", "queries_annotation_file",
        "testing_file", "vocab_file", "max_seq_length", "max_query_length", "doc_stride", "lower_case", "enable_padding",
        "max_len", "pad_input", "include_special_token_labels",
    };

    private static readonly string[] Converters = { "imagenet", "cls_dataset_folder", "icdar13_recognition", "unicode_character_recognition", "mscoco_detection", "voc_detection", "common_semantic_segmentation", "voc_segmentation", "camvid", "wider", "cvat_object_detection", "market1501_reid", "veri776_reid", "image_retrieval" };

    private static readonly string[] PostprocessingTypes =
        { "resize_prediction_boxes", "faster_rcnn_postprocessing_resize", "clip_boxes", "nms", "class_aware_nms", "diou_nms", "filter", "cast_to_int", "shift_labels",
          "resize_segmentation_mask", "encode_segmentation_mask", "crop_or_pad", "crop_padded_prediction", "extract_answers_tokens" };

    /// <summary>
    /// Detection postprocessing in our form. resize_prediction_boxes is what always happens first (boxes are scaled to
    /// the annotated image), so it adds no step; nms applies to predictions, clip_boxes, filter and cast_to_int to
    /// either side (apply_to).
    /// resize_segmentation_mask to the image's size adds no step either: class maps are scored at their mask's size.
    /// </summary>
    /// <param name="extraction">extract_answers_tokens as the question_answering adapter's keys; null without it.</param>
    private static ConfigList Postprocessing(MapReader m, List<string> warnings, out ConfigMap? extraction)
    {
        extraction = null;
        var list = m.List("postprocessing");
        var result = new ConfigList(list?.Line ?? 0);
        int resizeAt = list?.Items.ToList().FindIndex(x => x is ConfigMap s && EngineTree.TextOf(s["type"])?.Trim().ToLowerInvariant() == "resize_prediction_boxes") ?? -1;
        for (int i = 0; list != null && i < list.Count; i++)
        {
            string path = EngineProblems.Index(m.KeyPath("postprocessing"), i);
            var map = list.Items[i] as ConfigMap;
            string type = EngineTree.TextOf(map?["type"])?.Trim().ToLowerInvariant() ?? "";
            if (map == null || !PostprocessingTypes.Contains(type))
            {
                string? near = EditDistance.Suggest(type, PostprocessingTypes);
                m.Problems.Add(map == null ? path : EngineProblems.Join(path, "type"),
                    (map == null ? $"must be a mapping such as {{type: nms, overlap: 0.5}}, not {EngineTree.Show(list.Items[i])}." : $"'{type}' is not supported{(near != null ? $" (did you mean '{near}'?)" : "")}.") +
                    $" Supported: {string.Join(", ", PostprocessingTypes)}.", map == null ? list.Items[i].Line : map.KeyLine("type"));
                continue;
            }
            if (type == "extract_answers_tokens")
            {
                // How the answer is picked from the logits: our question_answering adapter's keys; SQuAD 2.0's
                // no-answer rule as its no_answer_threshold.
                var x = new MapReader(map, path, m.Problems, new[] { "type", "max_answer", "n_best_size", "v2_with_no_answers", "no_answer_score_threshold" });
                extraction = new ConfigMap(map.Line);
                Copy(x, "max_answer", extraction);
                Copy(x, "n_best_size", extraction);
                if (x.Bool("v2_with_no_answers") == true)
                    extraction.Add("no_answer_threshold", x.Raw("no_answer_score_threshold") ?? EngineTree.Number(0.0, map.KeyLine("type")), map.KeyLine("type"));
                else if (x.Has("no_answer_score_threshold"))
                    warnings.Add($"{x.KeyPath("no_answer_score_threshold")}: read and ignored: it applies with v2_with_no_answers: true.");
                continue;
            }
            if (type == "encode_segmentation_mask")
            {
                // The colours are the converter's (see VocSegmentationConverter, SegmentationConverter); predictions are class maps already.
                var e = new MapReader(map, path, m.Problems, new[] { "type", "apply_to" });
                if (e.String("apply_to")?.Trim().ToLowerInvariant() != "annotation")
                    e.Problem("apply_to", "must be annotation: the masks' colours become classes; the model's class maps need no encoding (prediction_to_gt_labels is not supported).");
                continue;
            }
            if (type == "cast_to_int")
            {
                // Ours by the same keys, applied to both sides unless apply_to says one.
                var c = new MapReader(map, path, m.Problems, new[] { "type", "round_policy", "apply_to" });
                var rounding = EngineTree.Map(map.Line, ("type", EngineTree.Text("cast_to_int", map.KeyLine("type"))));
                Copy(c, "round_policy", rounding);
                Copy(c, "apply_to", rounding);
                result.Add(rounding);
                continue;
            }
            if (type == "crop_padded_prediction")
            {
                // What always happens: a class map's padded pixels are left out where it meets its mask (Data/ImageGeometry.cs).
                new MapReader(map, path, m.Problems, new[] { "type", "apply_to" });
                continue;
            }
            if (type is "resize_segmentation_mask" or "crop_or_pad")
            {
                // Both bring class maps and masks to one size; here they meet at the mask's own size, each mask pixel
                // taking the class where the preprocessing put it (Data/ImageGeometry.cs), so neither adds a step.
                var r = new MapReader(map, path, m.Problems, new[] { "type", "apply_to", "dst_width", "dst_height", "size", "to_dst_image_size" });
                if (type == "crop_or_pad" && r.Has("to_dst_image_size")) r.Problem("to_dst_image_size", "applies to resize_segmentation_mask only.");
                if (type == "crop_or_pad" || new[] { "dst_width", "dst_height", "size", "to_dst_image_size" }.Any(r.Has))
                    warnings.Add($"{path}: read and ignored: class maps are scored at their masks' own size, through the preprocessing's resizes, crops and padding, " +
                        "with any padding left out (Accuracy Checker brings both to the size given here, and counts a padded mask's border as background).");
                continue;
            }
            if (type == "filter")
            {
                if (Filter(map, path, m.Problems, warnings) is { } filter) result.Add(filter);
                continue;
            }
            if (type == "shift_labels")
            {
                var shift = new MapReader(map, path, m.Problems, new[] { "type", "offset" });
                var shifted = EngineTree.Map(map.Line, ("type", EngineTree.Text("shift_labels", map.KeyLine("type"))));
                if (shift.Has("offset")) Copy(shift, "offset", shifted);
                else shift.Problem("offset", "is required: the number added to each detection's class.");
                result.Add(shifted);
                continue;
            }
            if (type == "faster_rcnn_postprocessing_resize")
            {
                // Its boxes, fractions of the padded input (or with rescale its pixels), scaled back through the resize and
                // right-bottom padding to the image: what always happens here (its size keys are not used by it either).
                new MapReader(map, path, m.Problems, new[] { "type", "size", "dst_width", "dst_height", "rescale" });
                continue;
            }
            if (type == "clip_boxes")
            {
                // Ours by the same keys. Boxes are in the image's pixels from the start here (resize_prediction_boxes), so
                // detections clipped before it to 1 x 1 (or boxes_normalized), fractions of the input, are clipped to the
                // part of the image the input shows; another size there is refused.
                var c = new MapReader(map, path, m.Problems, new[] { "type", "apply_to", "size", "dst_width", "dst_height", "boxes_normalized" });
                var clip = EngineTree.Map(map.Line, ("type", EngineTree.Text("clip_boxes", map.KeyLine("type"))));
                Copy(c, "apply_to", clip);
                bool predictionsOnly = c.String("apply_to")?.Trim().ToLowerInvariant() is null or "prediction";
                bool sized = new[] { "size", "dst_width", "dst_height" }.Any(c.Has);
                bool unit = c.Int("size", 1, 1 << 20) == 1 || c.Int("dst_width", 1, 1 << 20) == 1 && c.Int("dst_height", 1, 1 << 20) == 1;
                if (predictionsOnly && resizeAt > i && (unit || c.Bool("boxes_normalized") == true))
                    clip.Add("to", EngineTree.Text("input", map.KeyLine("type")));
                else if (c.Bool("boxes_normalized") == true)
                    c.Problem("boxes_normalized", "true is supported for detections before resize_prediction_boxes only: boxes are in the image's pixels after it.");
                else if (predictionsOnly && sized && resizeAt > i)
                    c.Problem("type", "with a size before resize_prediction_boxes clips the model input's coordinates; boxes are in the image's pixels here: move it after resize_prediction_boxes, or leave out the size to clip to the image.");
                else
                    foreach (var key in new[] { "size", "dst_width", "dst_height" }) Copy(c, key, clip);
                result.Add(clip);
                continue;
            }
            var p = new MapReader(map, path, m.Problems, new[] { "type", "apply_to", "overlap", "include_boundaries", "keep_top_k", "rescale" });
            if (p.String("apply_to") is { } target && !target.Trim().Equals("prediction", StringComparison.OrdinalIgnoreCase))
                p.Problem("apply_to", $"'{target}' is not supported: {type} applies to predictions (apply_to: prediction).");
            bool nms = type is "nms" or "class_aware_nms" or "diou_nms";
            foreach (var (key, owner) in new[] { ("overlap", "nms"), ("include_boundaries", "nms"), ("keep_top_k", "nms"), ("rescale", "resize_prediction_boxes") })
                if (p.Has(key) && (owner == "nms" ? !nms : type != owner)) p.Problem(key, $"applies to {(owner == "nms" ? "nms, class_aware_nms and diou_nms" : owner)} only.");
            if (type == "resize_prediction_boxes")
            {
                if (p.Bool("rescale") == false) p.Problem("rescale", "false is not supported: boxes are always scaled to the image.");
                continue;
            }
            // Accuracy Checker's nms and diou_nms suppress boxes of any class; class_aware_nms those of the box's class only.
            var step = EngineTree.Map(map.Line, ("type", EngineTree.Text(type == "class_aware_nms" ? "nms" : type, map.KeyLine("type"))));
            if (nms) step.Add("per_class", EngineTree.Text(type == "class_aware_nms" ? "true" : "false"));
            foreach (var key in new[] { "overlap", "include_boundaries", "keep_top_k" }) Copy(p, key, step);
            result.Add(step);
        }
        return result;
    }

    private static readonly string[] FilterCriteria =
        { "labels", "min_confidence", "top_k", "height_range", "width_range", "aspect_ratio", "area_ratio", "is_empty", "invalid_boxes" };

    /// <summary>
    /// filter as ours, its criteria in the order written; null when none is left. is_empty and invalid_boxes filter
    /// whatever value they are given (Accuracy Checker's filters ignore it). min_visibility reads visibilities that
    /// only Intel's own datasets' converters give, and area_range filters text and pose annotations only: on boxes
    /// Accuracy Checker's filters pick nothing, so both are read and ignored.
    /// </summary>
    private static ConfigMap? Filter(ConfigMap map, string path, EngineProblems problems, List<string> warnings)
    {
        var f = new MapReader(map, path, problems, new[] { "type", "apply_to", "remove_filtered", "min_visibility", "area_range" }.Concat(FilterCriteria).ToArray());
        foreach (var key in new[] { "min_visibility", "area_range" }.Where(f.Has))
            warnings.Add($"{f.KeyPath(key)}: read and ignored: Accuracy Checker's {key} picks no box of a detection dataset ({(key == "area_range" ? "it filters text and pose annotations" : "no converter read here gives visibilities")}).");
        var step = EngineTree.Map(map.Line, ("type", EngineTree.Text("filter", map.KeyLine("type"))));
        Copy(f, "apply_to", step);
        Copy(f, "remove_filtered", step);
        bool any = false;
        foreach (var (key, value) in map.Entries)
        {
            if (!FilterCriteria.Contains(key) || !f.Has(key)) continue;
            step.Add(key, key is "is_empty" or "invalid_boxes" ? EngineTree.Text("true", map.KeyLine(key)) : value, map.KeyLine(key));
            any = true;
        }
        return any ? step : null;
    }

    private static readonly string[] StepTypes = { "resize", "crop", "center_crop", "normalization", "padding", "bgr_to_rgb", "rgb_to_bgr", "bgr_to_gray", "rgb_to_gray" };

    /// <summary>
    /// The preprocessing steps in our form. bgr_to_rgb / rgb_to_bgr become the final channel order
    /// (<paramref name="order"/>, applied right after decoding): resizes and crops do not depend on it, and the
    /// mean/std lists of normalizations that ran in the other order are reversed so that each still meets its channel.
    /// </summary>
    private static ConfigList Preprocessing(MapReader m, ref string order, ref bool grey)
    {
        var list = m.List("preprocessing") ?? new ConfigList();
        var steps = new List<(ConfigMap Step, string Order)>();
        for (int i = 0; i < list.Count; i++)
        {
            string path = EngineProblems.Index(m.KeyPath("preprocessing"), i);
            if (list.Items[i] is not ConfigMap map)
            {
                m.Problems.Add(path, $"must be a mapping such as {{type: resize, size: 256}}, not {EngineTree.Show(list.Items[i])}.", list.Items[i].Line);
                continue;
            }
            string type = EngineTree.TextOf(map["type"])?.Trim().ToLowerInvariant() ?? "";
            if (!StepTypes.Contains(type))
            {
                string? near = EditDistance.Suggest(type, StepTypes);
                m.Problems.Add(EngineProblems.Join(path, "type"), (type.Length == 0 ? "is required." : $"'{type}' is not supported.") +
                    $"{(near != null && type.Length > 0 ? $" Did you mean '{near}'?" : "")} Supported steps: {string.Join(", ", StepTypes)}.", map.KeyLine("type"));
                continue;
            }
            if (type is "bgr_to_rgb" or "rgb_to_bgr")
            {
                // Both reverse the channels whatever their order is, as Accuracy Checker's steps do.
                new MapReader(map, path, m.Problems, new[] { "type" });
                order = order == "BGR" ? "RGB" : "BGR";
                continue;
            }
            if (type is "bgr_to_gray" or "rgb_to_gray")
            {
                // Images are then decoded to one grey channel; a normalization before it would have had 3 channels.
                new MapReader(map, path, m.Problems, new[] { "type" });
                if (steps.Any(x => EngineTree.TextOf(x.Step["type"]) == "normalization"))
                    m.Problems.Add(EngineProblems.Join(path, "type"), $"{type} after a normalization is not supported: convert to grey first.", map.KeyLine("type"));
                grey = true;
                continue;
            }
            var step = type switch
            {
                "resize" => Resize(new MapReader(map, path, m.Problems, new[] { "type", "size", "dst_width", "dst_height", "aspect_ratio_scale", "interpolation", "use_pillow" })),
                "normalization" => Normalization(new MapReader(map, path, m.Problems, new[] { "type", "mean", "std", "images_only" })),
                "padding" => Padding(new MapReader(map, path, m.Problems, new[] { "type", "size", "dst_width", "dst_height", "pad_value", "pad_type", "use_numpy" }),
                    steps.Select(x => x.Step).LastOrDefault(x => EngineTree.TextOf(x["type"]) == "resize")),
                _ => Crop(new MapReader(map, path, m.Problems, new[] { "type", "size", "dst_width", "dst_height", "use_pillow", "central_fraction" })),
            };
            if (step != null) steps.Add((step, order));
        }
        string final = order;
        return EngineTree.List(steps.Select(s => s.Order == final ? s.Step : Reversed(s.Step)), list.Line);
    }

    private static ConfigMap Reversed(ConfigMap step)
    {
        var copy = new ConfigMap(step.Line);
        foreach (var (key, value) in step.Entries)
            copy.Add(key, key is "mean" or "std" or "value" && value is ConfigList list ? EngineTree.List(Enumerable.Reverse(list.Items), list.Line) : value, step.KeyLine(key));
        return copy;
    }

    private static readonly Dictionary<string, string> Aspects = new(StringComparer.OrdinalIgnoreCase)
    {
        // scale_greater: the shorter side becomes the size, the other follows the aspect ratio, truncated.
        ["greater"] = "shorter_side",
        // scale_fit_to_window: the longer side becomes the size, truncated likewise (within dst_width x dst_height).
        ["fit_to_window"] = "longer_side",
        ["frcnn_keep_aspect_ratio"] = "shorter_within_longer",
    };

    private static readonly Dictionary<string, string> Interpolations = new(StringComparer.OrdinalIgnoreCase)
    {
        ["LINEAR"] = "bilinear",
        ["BILINEAR"] = "bilinear",
        ["NEAREST"] = "nearest",
    };

    /// <summary>use_pillow: true resizes as Pillow's Image.resize does (Data/PillowResize.cs); its nearest is OpenCV's.</summary>
    private static readonly Dictionary<string, string> PillowInterpolations = new(StringComparer.OrdinalIgnoreCase)
    {
        ["LINEAR"] = "pillow_bilinear",
        ["BILINEAR"] = "pillow_bilinear",
        ["CUBIC"] = "pillow_bicubic",
        ["BICUBIC"] = "pillow_bicubic",
        ["LANCZOS"] = "pillow_lanczos",
        ["ANTIALIAS"] = "pillow_lanczos",
        ["NEAREST"] = "nearest",
    };

    private static ConfigMap? Resize(MapReader m)
    {
        string? aspect = m.String("aspect_ratio_scale");
        string? ours = null;
        if (aspect != null && !Aspects.TryGetValue(aspect.Trim(), out ours))
        {
            m.Problem("aspect_ratio_scale", $"'{aspect}' is not supported: use greater, fit_to_window or frcnn_keep_aspect_ratio (or leave it out to stretch).");
            return null;
        }
        // greater with two sizes takes each for one orientation (its scale_greater): read only when they are equal.
        bool square = m.Has("dst_width") && m.Has("dst_height") && MapReader.ToDouble(m.Raw("dst_width")) == MapReader.ToDouble(m.Raw("dst_height"));
        if (ours == "shorter_side" && !m.Has("size") && !square && (m.Has("dst_width") || m.Has("dst_height")))
        {
            m.Problem("aspect_ratio_scale", "greater keeps the aspect ratio of a square target here: give size: instead of dst_width/dst_height.");
            return null;
        }
        var step = ours == "shorter_side" && !m.Has("size") && square
            ? EngineTree.Map(m.Node.Line, ("type", EngineTree.Text("resize", m.Node.KeyLine("type"))), ("size", m.Raw("dst_width")!))
            : SizedStep(m, "resize");
        if (step == null) return null;
        if (ours != null) step.Add("aspect", EngineTree.Text(ours, m.Node.KeyLine("aspect_ratio_scale")));
        bool pillow = m.Bool("use_pillow") == true;
        string interpolation = m.String("interpolation") ?? "LINEAR";
        if (!(pillow ? PillowInterpolations : Interpolations).TryGetValue(interpolation.Trim(), out var mode))
        {
            m.Problem("interpolation", pillow
                ? $"'{interpolation}' is not supported with use_pillow: use BILINEAR (or LINEAR), BICUBIC (CUBIC), LANCZOS (ANTIALIAS) or NEAREST."
                : $"'{interpolation}' is not supported: use LINEAR (OpenCV's bilinear) or NEAREST, or Pillow's filters with use_pillow: true.");
            return null;
        }
        step.Add("interpolation", EngineTree.Text(mode, m.Node.KeyLine("interpolation")));
        return step;
    }

    private static readonly Dictionary<string, string> PadTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["center"] = "center",
        ["left_top"] = "left_top",
        ["right_bottom"] = "right_bottom",
    };

    /// <summary>padding as our pad: size, pad_value (one for every channel, or one per channel in the order of the
    /// channels at that step), pad_type center (default), left_top or right_bottom.</summary>
    /// <summary>
    /// padding: to its size, or without one, as Accuracy Checker pads, to the size of the resize before it
    /// (<paramref name="resize"/>, ours), which a resize that stretches or fits the image in gives.
    /// </summary>
    private static ConfigMap? Padding(MapReader m, ConfigMap? resize)
    {
        ConfigMap? step;
        if (m.Has("size") || m.Has("dst_width") || m.Has("dst_height") || resize == null) step = SizedStep(m, "pad");
        else if (EngineTree.TextOf(resize["aspect"]) == "shorter_side")
        {
            m.Problem("type", "without a size pads to the size of the resize before it, but that resize (aspect_ratio_scale: greater) covers its size: give size: or dst_width: and dst_height:.");
            return null;
        }
        else
        {
            step = EngineTree.Map(m.Node.Line, ("type", EngineTree.Text("pad", m.Node.KeyLine("type"))));
            foreach (var key in new[] { "size", "width", "height" })
                if (resize[key] is { } value) step.Add(key, value, resize.KeyLine(key));
        }
        if (step == null) return null;
        if (m.Raw("pad_value") is { } raw)
        {
            var values = NormalizationValues(raw);
            if (values == null)
            {
                m.Problem("pad_value", $"{EngineTree.Show(raw)} is not supported: give one number, or one per channel ('123.675, 116.28, 103.53').");
                return null;
            }
            int line = m.Node.KeyLine("pad_value");
            step.Add("value", values.Distinct().Count() == 1 ? EngineTree.Number(values[0], line) : EngineTree.List(values.Select(v => (ConfigNode)EngineTree.Number(v, line)), line));
        }
        string type = m.String("pad_type") ?? "center";
        if (!PadTypes.TryGetValue(type.Trim(), out var position))
        {
            m.Problem("pad_type", $"'{type}' is not supported: use {string.Join(", ", PadTypes.Keys)}.");
            return null;
        }
        step.Add("position", EngineTree.Text(position, m.Node.KeyLine("pad_type")));
        if (m.Has("use_numpy")) m.Bool("use_numpy");
        return step;
    }

    /// <summary>
    /// crop: its size, or central_fraction (the share of each side kept); use_pillow: true cuts with Pillow, whose
    /// offsets Accuracy Checker rounds half to even (OpenCV's slices round them down).
    /// </summary>
    private static ConfigMap? Crop(MapReader m)
    {
        ConfigMap? step;
        if (m.Has("central_fraction"))
        {
            foreach (var key in new[] { "size", "dst_width", "dst_height" })
                if (m.Has(key)) m.Problem(key, "can't be combined with central_fraction: give the crop's size or the share of each side it keeps.");
            step = EngineTree.Map(m.Node.Line, ("type", EngineTree.Text("center_crop", m.Node.KeyLine("type"))));
            Copy(m, "central_fraction", step);
        }
        else step = SizedStep(m, "center_crop");
        if (step != null && m.Bool("use_pillow") == true) step.Add("rounding", EngineTree.Text("half_even", m.Node.KeyLine("use_pillow")));
        return step;
    }

    /// <summary>A step of ours of <paramref name="type"/> with its size; null when the size has problems.</summary>
    private static ConfigMap? SizedStep(MapReader m, string type)
    {
        var step = EngineTree.Map(m.Node.Line, ("type", EngineTree.Text(type, m.Node.KeyLine("type"))));
        return Size(m, step) ? step : null;
    }

    /// <summary>size: N, or dst_width: and dst_height:, as our size / width + height.</summary>
    private static bool Size(MapReader m, ConfigMap step)
    {
        if (m.Has("size"))
        {
            Copy(m, "size", step);
            return true;
        }
        if (m.Has("dst_width") && m.Has("dst_height"))
        {
            Copy(m, "dst_width", step, "width");
            Copy(m, "dst_height", step, "height");
            return true;
        }
        m.Problem(m.Has("dst_width") ? "dst_height" : m.Has("dst_height") ? "dst_width" : "size",
            "is required: give size: or dst_width: and dst_height:.");
        return false;
    }

    // Accuracy Checker's named presets, as its normalization step defines them (its 'imagenet' std preset repeats the
    // mean values; kept as it is, since configs that name it were tuned with it).
    private static readonly Dictionary<string, double[]> MeanPresets = new(StringComparer.OrdinalIgnoreCase)
    {
        ["imagenet"] = new[] { 104.00698793, 116.66876762, 122.67891434 },
        ["cifar10"] = new[] { 125.307, 122.961, 113.8575 },
    };

    private static ConfigMap? Normalization(MapReader m)
    {
        var step = EngineTree.Map(m.Node.Line, ("type", EngineTree.Text("normalization", m.Node.KeyLine("type"))));
        foreach (var key in new[] { "mean", "std" })
        {
            if (m.Raw(key) is not { } raw) continue;
            var values = NormalizationValues(raw);
            if (values == null)
            {
                m.Problem(key, $"{EngineTree.Show(raw)} is not a number, a list of numbers, a string such as '(123.675, 116.28, 103.53)' or a preset ({string.Join(", ", MeanPresets.Keys)}).");
                return null;
            }
            int line = m.Node.KeyLine(key);
            step.Add(key, EngineTree.List(values.Select(v => (ConfigNode)EngineTree.Number(v, line)), line), line);
        }
        if (m.Has("images_only")) m.Bool("images_only");
        if (!step.ContainsKey("mean") && !step.ContainsKey("std"))
        {
            m.Problem("mean", "give mean:, std: or both.");
            return null;
        }
        return step;
    }

    /// <summary>A number, a list, a preset name, or a string of comma-separated numbers with optional parentheses.</summary>
    internal static double[]? NormalizationValues(ConfigNode? raw) =>
        raw is ConfigScalar { IsNull: false } s && MeanPresets.TryGetValue(s.Written.Trim(), out var preset) ? preset : MapReader.NumberList(raw);

    private static readonly string[] MetricTypes = { "accuracy", "character_recognition_accuracy", "map", "coco_precision", "coco_orig_precision", "mae", "mse", "psnr",
        "segmentation_accuracy", "mean_iou", "mean_accuracy", "frequency_weighted_accuracy", "cmc", "reid_map", "f1", "exact_match", "qa_embedding_accuracy",
        "ner_accuracy", "ner_precision", "ner_recall", "ner_f_score" };

    private static ConfigNode Metric(ConfigNode raw, string path, EngineProblems problems, List<string> warnings)
    {
        if (raw is not ConfigMap map) return raw;
        // Accuracy Checker's reference / threshold keys are its own pass-fail check of the result, and presenter how it
        // prints it: none is part of the metric, but coco_precision's threshold, which its metric takes over as the IoUs
        // it averages over (coco_metrics.py), as ours does.
        string kind = EngineTree.TextOf(map["type"])?.Trim().ToLowerInvariant() ?? "";
        var ownCheck = new[] { "reference", "threshold", "abs_threshold", "rel_threshold", "presenter" }.Where(k => !(kind is "coco_precision" or "coco_orig_precision" && k == "threshold")).ToArray();
        var options = kind switch
        {
            "map" => new[] { "overlap_threshold", "integral", "include_boundaries", "ignore_difficult", "allow_multiple_matches_per_ignored", "distinct_conf", "use_filtered_tp" },
            "coco_precision" => new[] { "threshold", "max_detections", "include_boundaries" },
            "coco_orig_precision" => new[] { "threshold", "include_boundaries" },
            "psnr" => new[] { "normalized_images", "scale_border" },
            "segmentation_accuracy" or "mean_iou" or "mean_accuracy" or "frequency_weighted_accuracy" => new[] { "use_argmax", "ignore_label" },
            "cmc" => new[] { "top_k", "separate_camera_set", "first_match_break", "single_gallery_shot", "number_single_shot_repeats" },
            "reid_map" => new[] { "interpolated_auc" },
            "qa_embedding_accuracy" => new[] { "top_k" },
            "ner_accuracy" or "ner_precision" or "ner_recall" or "ner_f_score" => new[] { "label_map", "include_all_tokens" },
            _ => new[] { "top_k", "remove_spaces" },
        };
        var m = new MapReader(map, path, problems, new[] { "name", "type" }.Concat(options).Concat(ownCheck).ToArray());
        foreach (var key in ownCheck.Where(m.Has))
            warnings.Add(key == "presenter"
                ? $"{m.KeyPath(key)}: read and ignored: how Accuracy Checker prints the result; the metric's value is in the result object."
                : $"{m.KeyPath(key)}: read and ignored: Accuracy Checker's own check of the result (use maximal_drop or baseline_value in the POT configuration).");
        string? type = m.String("type", required: true);
        if (type != null && !MetricTypes.Contains(type.Trim(), StringComparer.OrdinalIgnoreCase))
            m.Problem("type", $"'{type}' is not supported in Accuracy Checker configurations: {string.Join(", ", MetricTypes)} are.");
        if (m.Has("scale_border") && MapReader.ToDouble(m.Raw("scale_border")) != 0) m.Problem("scale_border", "is not supported: psnr compares whole images (scale_border: 0).");
        // Accuracy Checker's coco_precision measures IoU without boundary pixels (its Overlap.provide('iou') takes no
        // include_boundaries), whatever the configuration says.
        bool cocoIou = kind == "coco_precision";
        if (cocoIou && m.Bool("include_boundaries") == true)
            warnings.Add($"{m.KeyPath("include_boundaries")}: read and ignored: Accuracy Checker's coco_precision measures IoU without boundary pixels whatever it says.");
        // single_gallery_shot draws one gallery image per id at random (numpy's unseeded generator) for CUHK03's protocol.
        if (m.Bool("single_gallery_shot") == true)
            m.Problem("single_gallery_shot", "is not supported: Accuracy Checker draws the gallery at random without a seed there, so its value is not reproducible.");
        // label_map names the dataset meta's key of the labels, which the conll_ner converter writes as label_map.
        if (kind.StartsWith("ner_", StringComparison.Ordinal) && m.Has("label_map") && m.String("label_map")?.Trim() != "label_map")
            m.Problem("label_map", "names the dataset meta's key of the labels; conll_ner writes them as label_map (the labels come from its labels_file).");
        if (m.Has("number_single_shot_repeats"))
            warnings.Add($"{m.KeyPath("number_single_shot_repeats")}: read and ignored: it repeats single_gallery_shot's draws, which are off.");
        var ours = new ConfigMap(map.Line);
        foreach (var (key, value) in map.Entries)
            if (!ownCheck.Contains(key) && key is not ("normalized_images" or "scale_border" or "single_gallery_shot" or "number_single_shot_repeats") && !(key == "label_map" && kind.StartsWith("ner_", StringComparison.Ordinal)) && !(cocoIou && key == "include_boundaries"))
                // Accuracy Checker's f1 and exact_match are question answering's (SQuAD's); they keep their names.
                ours.Add(key, key == "type" && kind is "f1" or "exact_match" ? EngineTree.Text("squad_" + kind, value.Line) : value, map.KeyLine(key));
        if (kind is "f1" or "exact_match" && !m.Has("name")) ours.Add("name", EngineTree.Text(kind, map.KeyLine("type")), map.KeyLine("type"));
        if (cocoIou) ours.Add("include_boundaries", EngineTree.Text("false", map.KeyLine("type")));
        // Accuracy Checker's map matches by its own rule (its bbox_match), not VOC's devkit's; its coco_precision by its
        // evaluate_image.
        if (kind is "map" or "coco_precision") ours.Add("matching", EngineTree.Text("accuracy_checker", map.KeyLine("type")));
        // Accuracy Checker's coco_precision keeps 20 detections per image and class unless told otherwise (ours 100).
        if (kind == "coco_precision" && !m.Has("max_detections")) ours.Add("max_detections", EngineTree.Number(20, map.KeyLine("type")));
        // Accuracy Checker's psnr peaks at 255, or at 1 for normalized_images.
        if (m.Bool("normalized_images") == true) ours.Add("max_value", EngineTree.Number(1.0, map.KeyLine("normalized_images")));
        return ours;
    }
}
