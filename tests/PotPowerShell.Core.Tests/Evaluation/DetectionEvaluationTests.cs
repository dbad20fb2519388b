using Google.Protobuf;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Results;
using DataType = Onnx.TensorProto.Types.DataType;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// Detection end to end through the engine: grey images whose pixels are a YOLOv8-style output [6, 2] (rows centre x,
/// centre y, width, height, score of class 0, score of class 1; one column per candidate), passed through by a Reshape
/// model, annotated by a COCO file.
/// </summary>
public class DetectionEvaluationTests
{
    /// <summary>A model whose output 'output0' is its grey image [batch, 1, H, W] reshaped to [batch, <paramref name="dims"/>] (default [6, 2]).</summary>
    internal static byte[] ReshapeModel(params long[] dims)
    {
        if (dims.Length == 0) dims = new long[] { 6, 2 };
        var g = new GraphBuilder("reshape");
        g.Input("image", "batch", 1L, dims[^2], dims[^1] * dims[..^2].Aggregate(1L, (a, b) => a * b));
        string output = g.Node("Reshape", new[] { "image", g.Initializer("shape", dims.Prepend(-1L).ToArray(), dims.Length + 1) }, "reshape");
        g.Output(output, DataType.Float, new object[] { "batch" }.Concat(dims.Cast<object>()).ToArray());
        var model = g.Build();
        model.Graph.Output[0].Name = "output0";
        model.Graph.Node[^1].Output[0] = "output0";
        return model.ToByteArray();
    }

    /// <summary>val/a.png (one pixel) and val/instances.json annotating it without objects: a COCO data set for configurations read, not run.</summary>
    internal static TempFolder OneImageCoco()
    {
        var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        File.WriteAllBytes(tmp.File("val/a.png"), PngFiles.Rgb(1, 1, new byte[] { 1, 2, 3 }));
        File.WriteAllText(tmp.File("val/instances.json"), """{"images": [{"id": 1, "file_name": "a.png", "width": 1, "height": 1}], "annotations": [], "categories": [{"id": 1, "name": "a"}]}""");
        return tmp;
    }

    /// <summary>The adapter an Accuracy Checker configuration of one model with <paramref name="adapter"/> reads as, over <see cref="OneImageCoco"/>'s set in <paramref name="tmp"/>.</summary>
    internal static AdapterDefinition AccuracyCheckerAdapter(TempFolder tmp, string adapter)
    {
        File.WriteAllText(tmp.File("ac.yml"), $$"""
            models:
              - name: m
                launchers:
                  - {framework: onnx_runtime, adapter: {{adapter}}}
                datasets:
                  - name: coco
                    data_source: val
                    annotation_conversion: {converter: mscoco_detection, annotation_file: val/instances.json}
                    metrics: [{type: map}]
            """);
        return EngineDefinition.Load(tmp.File("ac.yml")).Datasets.Single().Adapter;
    }

    /// <summary>An engine over the grey images of val/, annotated by val/instances.json, pixels scaled to 0-1.</summary>
    internal static string GreyEngine(string adapter, string metrics) => $$"""
        dataset:
          data_source: val
          annotation_file: val/instances.json
          channels: 1
          preprocessing: [{type: scale, value: 0.00392156862745098}]
        adapter: {{adapter}}
        metrics: [{{metrics}}]
        """;

    /// <summary>One image: the two candidates' columns, values 0-255 (the engine scales them by 1/255).</summary>
    internal static void Save(string path, byte[] first, byte[] second)
    {
        var pixels = new byte[12];
        for (int row = 0; row < 6; row++)
        {
            pixels[2 * row] = first[row];
            pixels[2 * row + 1] = second[row];
        }
        PngFiles.Save(path, 2, 6, 1, pixels);
    }

    private static TempFolder Scene(string engineExtra, string metrics)
    {
        var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        // a.png: class 0 at .9 around the object, and a near copy at .78 that NMS drops (IoU about .96).
        Save(tmp.File("val/a.png"), new byte[] { 128, 128, 102, 102, 230, 25 }, new byte[] { 128, 128, 100, 100, 200, 10 });
        // b.png: class 1 at .8 where a class 0 object is (a wrong class), and a candidate below conf_threshold.
        Save(tmp.File("val/b.png"), new byte[] { 128, 128, 102, 102, 10, 204 }, new byte[] { 50, 50, 20, 20, 20, 20 });
        // The objects: one of class 0 per image, [0.3, 0.3] to [0.7, 0.7] in pixels of the 2x6 image.
        File.WriteAllText(tmp.File("val/instances.json"), """
            {"images": [{"id": 2, "file_name": "b.png", "width": 2, "height": 6}, {"id": 1, "file_name": "a.png", "width": 2, "height": 6}],
             "annotations": [{"image_id": 1, "category_id": 7, "bbox": [0.3, 0.3, 0.4, 0.4]},
                             {"image_id": 2, "category_id": 7, "bbox": [0.3, 0.3, 0.4, 0.4]}],
             "categories": [{"id": 7, "name": "square"}, {"id": 9, "name": "circle"}]}
            """);
        File.WriteAllText(tmp.File("engine.yml"), $$"""
            dataset:
              data_source: val
              annotation_file: val/instances.json
              channels: 1
              preprocessing: [{type: scale, value: 0.00392156862745098}]
            {{engineExtra}}
            adapter: {type: yolo_v8, conf_threshold: 0.25, nms_threshold: 0.5}
            metrics:
            {{metrics}}
            """);
        return tmp;
    }

    private static EvaluationResult Evaluate(TempFolder tmp, bool keep = false)
    {
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        return evaluator.Run(ReshapeModel(), new EvaluationRequest { KeepPredictions = keep }, CancellationToken.None);
    }

    [Fact]
    public void MapAndCocoPrecisionAreComputedOverTheWholeSet()
    {
        using var tmp = Scene("", """
              - {name: voc, type: map, include_boundaries: false}
              - {name: voc11, type: map, integral: 11point, include_boundaries: false}
              - {name: coco, type: coco_precision, include_boundaries: false}
            """);
        var r = Evaluate(tmp, keep: true);
        // Class 0: two objects, one found (IoU .98 > .95) -> recall .5 at precision 1. Class 1 has no objects: left out.
        Assert.Equal(0.5, r.Values["voc"], 12);
        Assert.Equal(6.0 / 11, r.Values["voc11"], 12);
        Assert.Equal(51.0 / 101, r.Values["coco"], 12);
        // No per-item values: the metric is not a mean.
        Assert.All(r.PerItem["voc"], v => Assert.True(double.IsNaN(v)));
        // Items in COCO id order: a.png (id 1) then b.png; NMS kept one box in a, the confidence filter one in b.
        var a = Assert.IsAssignableFrom<IReadOnlyList<Detection>>(r.Predictions![0]);
        var b = Assert.IsAssignableFrom<IReadOnlyList<Detection>>(r.Predictions![1]);
        Assert.Single(a);
        Assert.Equal(0, a[0].Label);
        Assert.Equal(230 / 255.0, a[0].Score, 6);
        Assert.Equal(128 / 255.0 - 51 / 255.0, a[0].X1, 6);
        Assert.Single(b);
        Assert.Equal(1, b[0].Label);
    }

    [Theory]
    [InlineData("", 0.0, 0.5)]
    [InlineData(", apply_to: all", 0.0, 0.5)]
    [InlineData(", apply_to: prediction", 0.0, 0.0)]
    [InlineData(", apply_to: annotation", 77 / 255.0, 0.0)]
    [InlineData(", round_policy: greater, apply_to: prediction", 1.0, 0.0)]
    public void Cast_to_int_rounds_the_detections_and_the_annotated_boxes(string keys, double x1, double voc)
    {
        // a.png's detection [77/255, ...] around the object [.3, .3] to [.7, .7] (IoU .98): both rounded, [0, 0] to [1, 1]
        // each, they still match (IoU 1); only one of them rounded, IoU .16: no match.
        using var tmp = Scene($"  postprocessing: [{{type: cast_to_int{keys}}}]", "  - {name: voc, type: map, include_boundaries: false}");
        var r = Evaluate(tmp, keep: true);
        Assert.Equal(x1, Assert.IsAssignableFrom<IReadOnlyList<Detection>>(r.Predictions![0])[0].X1, 6);
        Assert.Equal(voc, r.Values["voc"], 12);
    }

    [Fact]
    public void With_coco_labels_ids_the_objects_are_of_their_category_ids()
    {
        // The objects' category 7 is class 0 in category order, where a.png finds it (0.5 as above); as an id it is class
        // 7, which the model never predicts: nothing is found.
        using var tmp = Scene("", "  - {name: voc, type: map, include_boundaries: false}");
        File.WriteAllText(tmp.File("engine.yml"), File.ReadAllText(tmp.File("engine.yml")).Replace("annotation_file: val/instances.json", "annotation_file: val/instances.json\n  coco_labels: ids", StringComparison.Ordinal));
        Assert.Equal(0.0, Evaluate(tmp).Values["voc"], 12);
        File.WriteAllText(tmp.File("engine.yml"), File.ReadAllText(tmp.File("engine.yml")).Replace("coco_labels: ids", "coco_labels: order", StringComparison.Ordinal));
        Assert.Equal(0.5, Evaluate(tmp).Values["voc"], 12);
    }

    [Fact]
    public void Yolo_v5_scores_a_candidate_by_objectness_times_its_best_class()
    {
        // The scene above with the candidates as rows [centre x, centre y, width, height, objectness, class 0, class 1]
        // (YOLOv5's export) in 7x2 grey images passed through a Reshape to [batch, 2, 7].
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        // a.png: class 0 at 1 x .9 around the object, and a near copy at 1 x .78 that NMS drops.
        PngFiles.Save(tmp.File("val/a.png"), 7, 2, 1, new byte[] { 128, 128, 102, 102, 255, 230, 25, 128, 128, 100, 100, 255, 200, 10 });
        // b.png: class 1 at .502 x .8 = .40 where the class 0 object is, and a candidate at 1 x .078, below conf_threshold.
        PngFiles.Save(tmp.File("val/b.png"), 7, 2, 1, new byte[] { 128, 128, 102, 102, 128, 10, 204, 50, 50, 20, 20, 255, 20, 20 });
        File.WriteAllText(tmp.File("val/instances.json"), """
            {"images": [{"id": 2, "file_name": "b.png", "width": 7, "height": 2}, {"id": 1, "file_name": "a.png", "width": 7, "height": 2}],
             "annotations": [{"image_id": 1, "category_id": 7, "bbox": [0.3, 0.3, 0.4, 0.4]}, {"image_id": 2, "category_id": 7, "bbox": [0.3, 0.3, 0.4, 0.4]}],
             "categories": [{"id": 7, "name": "square"}, {"id": 9, "name": "circle"}]}
            """);
        File.WriteAllText(tmp.File("engine.yml"), GreyEngine("{type: yolo_v5, conf_threshold: 0.25, nms_threshold: 0.5}", "{name: voc, type: map, include_boundaries: false}"));
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        var r = evaluator.Run(ReshapeModel(2, 7), new EvaluationRequest { KeepPredictions = true }, CancellationToken.None);
        // As for yolo_v8: class 0's two objects, one found -> 0.5.
        Assert.Equal(0.5, r.Values["voc"], 12);
        var a = Assert.Single(Assert.IsAssignableFrom<IReadOnlyList<Detection>>(r.Predictions![0]));
        Assert.Equal(0, a.Label);
        Assert.Equal(230 / 255.0, a.Score, 6);
        var b = Assert.Single(Assert.IsAssignableFrom<IReadOnlyList<Detection>>(r.Predictions![1]));
        Assert.Equal(1, b.Label);
        Assert.Equal(128 / 255.0 * (204 / 255.0), b.Score, 6);
    }

    [Fact]
    public void Nms_per_class_or_of_any_class_and_diou_nms_as_Accuracy_Checker_computes_them()
    {
        // Two classes on one place: per class both stay, of any class the better one.
        var a = new Detection(0, 0.9, 0, 0, 10, 10);
        var b = new Detection(1, 0.8, 0, 0, 10, 10);
        Assert.Equal(new[] { a, b }, DetectionAdapter.Nms(new[] { b, a }, 0.5, false, int.MaxValue));
        Assert.Equal(new[] { a }, DetectionAdapter.Nms(new[] { b, a }, 0.5, false, int.MaxValue, perClass: false));
        // [0, 0, 10, 10] and [2, 0, 12, 10]: IoU 80 / 120 = .667, above .6; DIoU subtracts (d² / c²)^0.6 with d² = 4 (the
        // centres 2 apart) and c² = 12² + 10² = 244: .667 - .085 = .582, not above .6, so diou_nms keeps both.
        var c = new Detection(0, 0.8, 2, 0, 12, 10);
        Assert.Equal(new[] { a }, DetectionAdapter.Nms(new[] { a, c }, 0.6, false, int.MaxValue, perClass: false));
        Assert.Equal(new[] { a, c }, DetectionAdapter.Nms(new[] { a, c }, 0.6, false, int.MaxValue, perClass: false, diou: true));
        Assert.Equal(new[] { a }, DetectionAdapter.Nms(new[] { a, c }, 0.58, false, int.MaxValue, perClass: false, diou: true));
    }

    [Fact]
    public void Accuracy_Checkers_nms_steps_translate_to_their_class_scope()
    {
        using var tmp = Scene("", "  - {name: voc, type: map}");
        NmsStep Step(string postprocessing) => (NmsStep)Steps(postprocessing).Single();
        IReadOnlyList<DetectionStep> Steps(string postprocessing)
        {
            File.WriteAllText(tmp.File("ac.yml"), $$"""
                models:
                  - name: shapes
                    launchers:
                      - framework: onnx_runtime
                        adapter: {type: yolo_v8_detection, conf_threshold: 0.25}
                    datasets:
                      - name: shapes
                        data_source: val
                        annotation_conversion: {converter: mscoco_detection, annotation_file: val/instances.json}
                        preprocessing: [{type: bgr_to_gray}]
                        postprocessing: [{{postprocessing}}]
                        metrics: [{type: map}]
                """);
            return EngineDefinition.Load(tmp.File("ac.yml")).Datasets[0].Adapter.Postprocessing;
        }
        Assert.Equal((false, false, (int?)null), (Step("{type: nms, overlap: 0.45}").PerClass, Step("{type: nms}").Diou, Step("{type: nms}").KeepTopK));
        Assert.True(Step("{type: class_aware_nms}").PerClass);
        var diou = Step("{type: diou_nms, overlap: 0.5, keep_top_k: 200}");
        Assert.Equal((false, true, (int?)200, 0.5), (diou.PerClass, diou.Diou, diou.KeepTopK, diou.Overlap));
        // cast_to_int rounds both sides unless apply_to names one (Intel's detectors' configurations).
        Assert.Equal(new DetectionStep[] { new CastToIntStep(RoundPolicy.Nearest, true, true, "datasets[0].postprocessing[0]"), new CastToIntStep(RoundPolicy.Lower, true, false, "datasets[0].postprocessing[1]") },
            Steps("{type: cast_to_int}, {type: cast_to_int, round_policy: lower, apply_to: prediction}"));
    }

    [Fact]
    public void SubsetsAreEvaluatedAsAWholeSet()
    {
        using var tmp = Scene("", "  - {name: voc, type: map, include_boundaries: false}");
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        Assert.Empty(evaluator.MeanItemBounds);
        Assert.False(evaluator.MetricIsItemMean[0]);
        // Item 0 alone (a.png): its one object found -> 1. Item 1 alone: missed -> 0.
        Assert.Equal(1.0, evaluator.Evaluate(ReshapeModel(), new[] { 0 }, CancellationToken.None).Values["voc"], 12);
        Assert.Equal(0.0, evaluator.Evaluate(ReshapeModel(), new[] { 1 }, CancellationToken.None).Values["voc"], 12);
    }

    [Fact]
    public void PostprocessingFiltersAndClips()
    {
        // filter at .85 ignores b's wrong-class box (remove_filtered drops it); clip_boxes keeps boxes inside the 2x6 image.
        foreach (bool remove in new[] { false, true })
        {
            using var tmp = Scene($"  postprocessing: [{{type: filter, min_confidence: 0.85, remove_filtered: {remove.ToString().ToLowerInvariant()}}}, {{type: clip_boxes}}]",
                "  - {name: voc, type: map, include_boundaries: false}");
            var r = Evaluate(tmp, keep: true);
            var b = Assert.IsAssignableFrom<IReadOnlyList<Detection>>(r.Predictions![1]);
            if (remove) Assert.Empty(b);
            else Assert.True(Assert.Single(b).Ignored);
            Assert.Equal(0.5, r.Values["voc"], 12);
        }
    }

    [Fact]
    public void ACrowdIsLeftOutButByAccuracyCheckersMap()
    {
        // a.png's square is a crowd. map and coco_precision leave it out (a's detection on it counts neither way; b's
        // square is missed): 0. Accuracy Checker's map counts it, as its COCO converter does not mark crowds difficult:
        // squares found 1 of 2 (AP .5), and class 1, detected in b but never annotated, 0: .25.
        using var tmp = Scene("", """
              - {name: voc, type: map, include_boundaries: false}
              - {name: coco, type: coco_precision, include_boundaries: false}
              - {name: ac, type: map, include_boundaries: false, matching: accuracy_checker}
              - {name: ac_all, type: map, include_boundaries: false, matching: accuracy_checker, ignore_difficult: false}
            """);
        File.WriteAllText(tmp.File("val/instances.json"), File.ReadAllText(tmp.File("val/instances.json"))
            .Replace("""{"image_id": 1, "category_id": 7, "bbox": [0.3, 0.3, 0.4, 0.4]}""", """{"image_id": 1, "category_id": 7, "bbox": [0.3, 0.3, 0.4, 0.4], "iscrowd": 1}"""));
        var r = Evaluate(tmp);
        Assert.Equal((0.0, 0.0, 0.25, 0.25), (r.Values["voc"], r.Values["coco"], r.Values["ac"], r.Values["ac_all"]));
    }

    [Fact]
    public void ShiftLabelsMovesTheDetectionsClasses()
    {
        // Detections of class 0 become class 1: the squares (class 0) are all missed; annotated one class up too, as before.
        using var tmp = Scene("  postprocessing: [{type: shift_labels, offset: 1}]", "  - {name: voc, type: map, include_boundaries: false}");
        Assert.Equal(0.0, Evaluate(tmp).Values["voc"], 12);
        File.WriteAllText(tmp.File("engine.yml"), File.ReadAllText(tmp.File("engine.yml")).Replace("  channels: 1", "  channels: 1\n  label_offset: 1"));
        Assert.Equal(0.5, Evaluate(tmp).Values["voc"], 12);

        // Accuracy Checker's EfficientDet configurations: faster_rcnn_postprocessing_resize is what always happens (boxes
        // taken back through the resize and padding), shift_labels ours.
        using var coco = OneImageCoco();
        File.WriteAllText(coco.File("ac.yml"), """
            models:
              - name: efficientdet
                launchers: [{framework: onnx_runtime, adapter: ssd}]
                datasets:
                  - name: coco
                    data_source: val
                    annotation_conversion: {converter: mscoco_detection, annotation_file: val/instances.json, use_full_label_map: true}
                    preprocessing: [{type: resize, aspect_ratio_scale: fit_to_window, size: 512}, {type: padding, size: 512, pad_type: right_bottom}]
                    postprocessing: [{type: faster_rcnn_postprocessing_resize, size: 512}, {type: shift_labels, offset: 1}]
                    metrics: [{type: coco_precision}]
            """);
        Assert.Equal(new DetectionStep[] { new ShiftLabelsStep(1, "datasets[0].postprocessing[0]") },
            EngineDefinition.Load(coco.File("ac.yml")).Datasets[0].Adapter.Postprocessing);
    }

    [Fact]
    public void WithoutNmsTheDuplicateIsAFalsePositive()
    {
        // nms_threshold 1 keeps both of a's boxes: class 0 then has T (.9) F (.78) over two objects: the area stays .5
        // (recall .5 at precision 1), the 11-point value too, but the duplicate shows in the predictions.
        using var tmp = Scene("", "  - {name: voc, type: map, include_boundaries: false}");
        File.WriteAllText(tmp.File("engine.yml"), File.ReadAllText(tmp.File("engine.yml")).Replace("nms_threshold: 0.5", "nms_threshold: 1"));
        var r = Evaluate(tmp, keep: true);
        Assert.Equal(2, Assert.IsAssignableFrom<IReadOnlyList<Detection>>(r.Predictions![0]).Count);
        Assert.Equal(0.5, r.Values["voc"], 12);
    }

    [Fact]
    public void DetectionMetricsNeedADetectionAdapterAndBoxes()
    {
        using var tmp = Scene("", "  - {name: voc, type: map}");
        File.WriteAllText(tmp.File("engine.yml"), File.ReadAllText(tmp.File("engine.yml")).Replace("adapter: {type: yolo_v8, conf_threshold: 0.25, nms_threshold: 0.5}", "adapter: classification"));
        var e = Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("engine.yml")));
        Assert.Contains("use a detection adapter (ssd, yolo_v8, yolo_v5, yolo_v3, yolo_v2, yolox, yolo_v3_onnx, nanodet, detr, class_agnostic or prior_boxes)", e.Message);
    }

    [Fact]
    public void Accuracy_Checkers_map_keys_need_its_matching()
    {
        using var tmp = Scene("", "  - {name: voc, type: map, distinct_conf: true}");
        Assert.Contains("distinct_conf (line", Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("engine.yml"))).Message);
        File.WriteAllText(tmp.File("engine.yml"), File.ReadAllText(tmp.File("engine.yml")).Replace("distinct_conf: true", "matching: accuracy_checker, distinct_conf: true"));
        Assert.Equal(new AccuracyCheckerMatching(DistinctConfidences: true), EngineDefinition.Load(tmp.File("engine.yml")).Metrics[0].AccuracyCheckerMatching);
    }

    [Fact]
    public void UnknownPostprocessingIsRefusedWithTheSupportedSteps()
    {
        using var tmp = Scene("  postprocessing: [{type: nmss}]", "  - {name: voc, type: map}");
        var e = Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("engine.yml")));
        Assert.Contains("'nmss' is not supported (did you mean 'nms'?)", e.Message);
        Assert.Contains("nms, filter, clip_boxes", e.Message);
    }

    [Fact]
    public void AnAccuracyCheckerDetectionConfigGivesTheSameValues()
    {
        using var tmp = Scene("", "  - {name: voc, type: map}");
        File.WriteAllText(tmp.File("ac.yml"), """
            models:
              - name: shapes
                launchers:
                  - framework: onnx_runtime
                    model: yolo.onnx
                    adapter: {type: yolo_v8_detection, conf_threshold: 0.25}
                datasets:
                  - name: shapes
                    data_source: val
                    reader: pillow_imread
                    annotation_conversion: {converter: mscoco_detection, annotation_file: val/instances.json}
                    preprocessing: [{type: bgr_to_gray}]
                    postprocessing: [{type: resize_prediction_boxes}, {type: nms, overlap: 0.5, include_boundaries: false}, {type: clip_boxes, apply_to: prediction}]
                    metrics:
                      - {name: voc, type: map, integral: 11point, include_boundaries: false, ignore_difficult: true, presenter: print_vector, allow_multiple_matches_per_ignored: true, distinct_conf: true}
                      - {name: coco, type: coco_precision, threshold: 0.5, max_detections: 100, include_boundaries: false}
                      - {name: orig, type: coco_orig_precision, threshold: '.50:.05:.95', reference: 0.3182}
            """);
        var engine = EngineDefinition.Load(tmp.File("ac.yml"));
        // coco_precision's threshold is the IoUs it averages over (Accuracy Checker's AP@0.5), not a check of the result.
        Assert.Equal(new[] { 0.5 }, engine.Metrics[1].IouThresholds);
        // coco_orig_precision (pycocotools in Accuracy Checker): coco_precision with pycocotools' overlaps.
        Assert.Equal((MetricType.CocoPrecision, true, 10, true, 100), (engine.Metrics[2].Type, engine.Metrics[2].PycocotoolsOverlap, engine.Metrics[2].IouThresholds.Count, engine.Metrics[2].IncludeBoundaries, engine.Metrics[2].MaxDetections));
        Assert.False(engine.Metrics[1].PycocotoolsOverlap);
        // map matches as Accuracy Checker's does.
        Assert.Equal(new AccuracyCheckerMatching(MultipleMatchesPerIgnored: true, DistinctConfidences: true), engine.Metrics[0].AccuracyCheckerMatching);
        Assert.DoesNotContain(engine.Warnings, w => w.Contains("threshold", StringComparison.Ordinal));
        Assert.Contains(engine.Warnings, w => w.Contains("metrics[2].reference: read and ignored", StringComparison.Ordinal));
        Assert.Contains(engine.Warnings, w => w.EndsWith("presenter: read and ignored: how Accuracy Checker prints the result; the metric's value is in the result object.", StringComparison.Ordinal));
        using var evaluator = new Evaluator(engine);
        // Without the 1/255 scale the candidates' scores are pixel values above 1: every candidate passes the
        // threshold, NMS keeps one per class and place. The boxes are 255 times larger than the image: none matches.
        var r = evaluator.Evaluate(ReshapeModel(), null, CancellationToken.None);
        Assert.Equal(0.0, r.Values["voc"], 12);
        Assert.Equal(0.0, r.Values["coco"], 12);
        Assert.Equal(0.0, r.Values["orig"], 12);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SsdReadsBoxesLabelsAndScoresAsFractionsOfTheImageOrItsPixels(bool normalized)
    {
        // A 1x6 grey image: x1, y1, x2, y2, label, score (0-255, scaled by 1/255); one detection per image. With
        // normalized: false the model gives the boxes in the input's pixels (x times its width 6, y times its height 1),
        // as torchvision's detection models do, and the detection in the image is the same.
        var g = new GraphBuilder("ssd");
        g.Input("image", "batch", 1L, 1L, 6L);
        string flat = g.Node("Reshape", new[] { "image", g.Initializer("flat", new long[] { -1, 1, 6 }, 3) }, "flat");
        var parts = g.NodeMulti("Split", new[] { flat, g.Initializer("split", new long[] { 4, 1, 1 }, 3) }, 3, "split", ("axis", 2L));
        var id = new global::Onnx.NodeProto { OpType = normalized ? "Identity" : "Mul", Name = "boxes" };
        id.Input.Add(parts[0]);
        if (!normalized) id.Input.Add(g.Initializer("pixels", new float[] { 6, 1, 6, 1 }, 4));
        id.Output.Add("boxes");
        g.Graph.Node.Add(id);
        foreach (var (part, name) in new[] { (parts[1], "labels"), (parts[2], "scores") })
        {
            var n = new global::Onnx.NodeProto { OpType = "Reshape", Name = name };
            n.Input.Add(part);
            n.Input.Add(g.Initializer(name + "_shape", new long[] { -1, 1 }, 2));
            n.Output.Add(name);
            g.Graph.Node.Add(n);
        }
        g.Output("boxes", DataType.Float, "batch", 1L, 4L);
        g.Output("labels", DataType.Float, "batch", 1L);
        g.Output("scores", DataType.Float, "batch", 1L);
        var model = g.Build().ToByteArray();

        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        // The object fills [20, 10] to [60, 50] of a 100x100 image (bbox x, y, w, h): the detection [51, 25.5, 153, 127.5]
        // of 255 is [20, 10, 60, 50] exactly.
        PngFiles.Save(tmp.File("val/a.png"), 6, 1, 1, new byte[] { 51, 25, 153, 127, 0, 230 });
        File.WriteAllText(tmp.File("val/instances.json"), """
            {"images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 100}],
             "annotations": [{"image_id": 1, "category_id": 3, "bbox": [20, 10, 40, 40]}],
             "categories": [{"id": 3, "name": "square"}]}
            """);
        File.WriteAllText(tmp.File("engine.yml"), GreyEngine($"{{type: ssd, output: boxes, labels: labels, scores: scores, normalized: {(normalized ? "true" : "false")}}}", "{name: voc, type: map}"));
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        var r = evaluator.Run(model, new EvaluationRequest { KeepPredictions = true }, CancellationToken.None);
        var d = Assert.Single(Assert.IsAssignableFrom<IReadOnlyList<Detection>>(r.Predictions![0]));
        Assert.Equal(20, d.X1, 4);
        Assert.Equal(127 / 255.0 * 100, d.Y2, 4);
        Assert.Equal(230 / 255.0, d.Score, 6);
        // IoU (with boundary pixels) of [20, 9.8, 60, 49.8] and [20, 10, 60, 50]: 41 x 40.8 of 41 x 41.2 -> well above .5.
        Assert.Equal(1.0, r.Values["voc"], 12);
    }

    [Fact]
    public void AccuracyCheckerSsdAdaptersNameTheirThreeOutputs()
    {
        using var tmp = Scene("", "  - {name: voc, type: map}");
        string Config(string adapter) => $$"""
            models:
              - name: m
                launchers:
                  - framework: onnx_runtime
                    adapter: {{adapter}}
                datasets:
                  - name: d
                    data_source: val
                    annotation_conversion: {converter: mscoco_detection, annotation_file: val/instances.json, has_background: true}
                    preprocessing: [{type: bgr_to_gray}]
                    metrics: [{type: map}]
            """;
        File.WriteAllText(tmp.File("ac.yml"), Config("{type: ssd_onnx, bboxes_out: b, labels_out: l, scores_out: s}"));
        var engine = EngineDefinition.Load(tmp.File("ac.yml"));
        var adapter = engine.Datasets[0].Adapter;
        Assert.Equal((AdapterType.Ssd, "b", "l", "s", true), (adapter.Type, adapter.Output, adapter.LabelsOutput, adapter.ScoresOutput, adapter.NormalizedBoxes));
        Assert.Equal(1, engine.Datasets[0].LabelOffset);
        // faster_rcnn_onnx (ONNX Model Zoo's Faster R-CNN): the same three outputs, boxes in the input's pixels.
        File.WriteAllText(tmp.File("ac.yml"), Config("{type: faster_rcnn_onnx, boxes_out: b, labels_out: l, scores_out: s}"));
        adapter = EngineDefinition.Load(tmp.File("ac.yml")).Datasets[0].Adapter;
        Assert.Equal((AdapterType.Ssd, "b", "l", "s", false), (adapter.Type, adapter.Output, adapter.LabelsOutput, adapter.ScoresOutput, adapter.NormalizedBoxes));
        // Without scores_out each box's score is its fifth column (Intel's person-vehicle-bike detectors).
        File.WriteAllText(tmp.File("ac.yml"), Config("{type: faster_rcnn_onnx, boxes_out: b, labels_out: l}"));
        adapter = EngineDefinition.Load(tmp.File("ac.yml")).Datasets[0].Adapter;
        Assert.Equal((AdapterType.Ssd, "b", "l", (string?)null, false), (adapter.Type, adapter.Output, adapter.LabelsOutput, adapter.ScoresOutput, adapter.NormalizedBoxes));
        File.WriteAllText(tmp.File("ac.yml"), Config("{type: faster_rcnn_onnx, boxes_out: b}"));
        string missing = Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("ac.yml"))).Message;
        Assert.Contains("models[0].launchers[0].adapter.labels_out", missing);
        Assert.Contains("is required: the model output of labels [N] (boxes with their label as a sixth column are not read).", missing);
        // use_full_label_map: the classes are the category ids, which already leave 0 to the background.
        File.WriteAllText(tmp.File("ac.yml"), Config("{type: ssd_onnx, bboxes_out: b, labels_out: l, scores_out: s}").Replace("has_background: true", "has_background: true, use_full_label_map: true"));
        engine = EngineDefinition.Load(tmp.File("ac.yml"));
        Assert.Equal((0, true), (engine.Datasets[0].LabelOffset, engine.Datasets[0].CocoCategoryIds));
        File.WriteAllText(tmp.File("ac.yml"), Config("{type: ssd_onnx, bboxes_out: b}"));
        var e = Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("ac.yml")));
        Assert.Contains("models[0].launchers[0].adapter.labels_out", e.Message);
        // Accuracy Checker's ssd: one DetectionOutput.
        File.WriteAllText(tmp.File("ac.yml"), Config("ssd"));
        adapter = EngineDefinition.Load(tmp.File("ac.yml")).Datasets[0].Adapter;
        Assert.Equal((AdapterType.Ssd, null, null), (adapter.Type, adapter.Output, adapter.LabelsOutput));
    }

    private static string VocXml(string file, string objects) =>
        $"<annotation><filename>{file}</filename><size><width>2</width><height>6</height><depth>1</depth></size>{objects}</annotation>";

    private const string VocSquare = "<object><name>square</name><difficult>0</difficult><bndbox><xmin>0.3</xmin><ymin>0.3</ymin><xmax>0.7</xmax><ymax>0.7</ymax></bndbox></object>";

    [Fact]
    public void VocAnnotationsGiveTheSameBoxesAsCoco()
    {
        using var tmp = Scene("", "  - {name: voc, type: map, include_boundaries: false}");
        Directory.CreateDirectory(tmp.File("Annotations"));
        File.WriteAllText(tmp.File("Annotations/a.xml"), VocXml("a.png", VocSquare));
        File.WriteAllText(tmp.File("Annotations/b.xml"), VocXml("b.png", VocSquare + VocSquare.Replace("<difficult>0", "<difficult>1").Replace("0.3<", "1.3<")));
        File.WriteAllText(tmp.File("val.txt"), "a\nb\n");
        File.WriteAllText(tmp.File("engine.yml"), File.ReadAllText(tmp.File("engine.yml"))
            .Replace("annotation_file: val/instances.json", "voc_annotations: Annotations\n  imageset_file: val.txt\n  classes: [square, circle]"));
        var r = Evaluate(tmp);
        // As with COCO: class 0 has two countable objects, one found; the difficult one counts neither way.
        Assert.Equal(0.5, r.Values["voc"], 12);

        // Accuracy Checker's voc_detection: VOC's twenty classes after a background class.
        File.WriteAllText(tmp.File("Annotations/a.xml"), VocXml("a.png", VocSquare.Replace("square", "cat")));
        File.WriteAllText(tmp.File("Annotations/b.xml"), VocXml("b.png", VocSquare.Replace("square", "dog")));
        File.WriteAllText(tmp.File("ac.yml"), """
            models:
              - name: m
                launchers: [{framework: onnx_runtime, adapter: yolo_v8}]
                datasets:
                  - name: voc
                    data_source: val
                    annotation_conversion: {converter: voc_detection, annotations_dir: Annotations, imageset_file: val.txt, images_dir: JPEGImages}
                    preprocessing: [{type: bgr_to_gray}]
                    metrics: [{type: map}]
            """);
        var engine = EngineDefinition.Load(tmp.File("ac.yml"));
        Assert.Equal(1, engine.Datasets[0].LabelOffset);
        Assert.EndsWith("Annotations", engine.Datasets[0].VocAnnotations);
        Assert.Contains(engine.Warnings, w => w.Contains("annotation_conversion.images_dir", StringComparison.Ordinal));
        using var data = engine.OpenDataset();
        var boxes = ((DetectionAnnotation)data.Get(1).Annotation!).Boxes;
        Assert.Equal(VocDetectionFolder.VocClasses.ToList().IndexOf("dog"), Assert.Single(boxes).Label);

        File.WriteAllText(tmp.File("Annotations/b.xml"), VocXml("b.png", VocSquare.Replace("square", "unicorn")));
        var e = Assert.Throws<PotException>(() => engine.OpenDataset().Dispose());
        Assert.Contains("has an object 'unicorn', which is not one of the classes (aeroplane, bicycle", e.Message);
    }

    [Fact]
    public void CvatAnnotationsGiveTheSameBoxesAsCoco()
    {
        using var tmp = Scene("", "  - {name: voc, type: map, include_boundaries: false}");
        // The scene's objects in CVAT's XML, and an occluded one in b (difficult: counted neither way).
        const string Square = "<box label=\"square\" occluded=\"0\" xtl=\"0.3\" ytl=\"0.3\" xbr=\"0.7\" ybr=\"0.7\"></box>";
        File.WriteAllText(tmp.File("cvat.xml"), $"""
            <annotations><meta><task><labels><label><name>square</name></label><label><name>circle</name></label></labels></task></meta>
            <image id="0" name="val/a.png" width="2" height="6">{Square}</image>
            <image id="1" name="val/b.png" width="2" height="6">{Square}{Square.Replace("occluded=\"0\"", "occluded=\"1\"").Replace("0.3\"", "1.3\"")}</image>
            </annotations>
            """);
        File.WriteAllText(tmp.File("engine.yml"), File.ReadAllText(tmp.File("engine.yml")).Replace("annotation_file: val/instances.json", "cvat_annotations: cvat.xml"));
        Assert.Equal(0.5, Evaluate(tmp).Values["voc"], 12);

        // Accuracy Checker's cvat_object_detection: the XML's labels after a background class, or a labels file's.
        File.WriteAllText(tmp.File("ac.yml"), """
            models:
              - name: m
                launchers: [{framework: onnx_runtime, adapter: yolo_v8}]
                datasets:
                  - name: crossroad
                    data_source: val
                    annotation_conversion: {converter: cvat_object_detection, annotation_file: cvat.xml, images_dir: val}
                    preprocessing: [{type: bgr_to_gray}, {type: normalization, std: 255}]
                    metrics: [{type: map}]
            """);
        var engine = EngineDefinition.Load(tmp.File("ac.yml"));
        Assert.Equal((1, true), (engine.Datasets[0].LabelOffset, engine.Datasets[0].CvatAnnotations!.EndsWith("cvat.xml")));
        Assert.Contains(engine.Warnings, w => w.Contains("annotation_conversion.images_dir", StringComparison.Ordinal));
        File.WriteAllText(tmp.File("labels.json"), """{"labels": {"square": 0, "circle": 1}}""");
        File.WriteAllText(tmp.File("ac.yml"), File.ReadAllText(tmp.File("ac.yml")).Replace("images_dir: val", "labels_file: labels.json, has_background: true"));
        engine = EngineDefinition.Load(tmp.File("ac.yml"));
        Assert.Equal(0, engine.Datasets[0].LabelOffset);
        using var evaluator = new Evaluator(engine);
        // Accuracy Checker's map: class 0 as above (1/2); class 1, detected in b but never annotated, 0.
        Assert.Equal(0.25, evaluator.Run(ReshapeModel(), new EvaluationRequest(), CancellationToken.None).Values["map"], 12);
    }

    [Fact]
    public void SsdReadsTheRowsOfItsImageFromOneDetectionOutput()
    {
        // A 7x2 grey image reshaped to DetectionOutput [1, 1, 2, 7]: rows (image, label, score, x1, y1, x2, y2) / 255.
        var g = new GraphBuilder("detection_output");
        g.Input("image", "batch", 1L, 2L, 7L);
        var node = new global::Onnx.NodeProto { OpType = "Reshape", Name = "reshape" };
        node.Input.Add("image");
        node.Input.Add(g.Initializer("shape", new long[] { 1, 1, -1, 7 }, 4));
        node.Output.Add("detection_out");
        g.Graph.Node.Add(node);
        g.Output("detection_out", DataType.Float, 1L, 1L, "rows", 7L);
        var model = g.Build().ToByteArray();

        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        // Row 0 belongs to image 0 of the batch (this item): [20, 10, 60, 50] of 100 x 100 at .9. Row 1 to image 1: not ours.
        PngFiles.Save(tmp.File("val/a.png"), 7, 2, 1, new byte[] { 0, 0, 230, 51, 25, 153, 127, 255, 0, 255, 0, 0, 255, 255 });
        File.WriteAllText(tmp.File("val/instances.json"), """
            {"images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 100}],
             "annotations": [{"image_id": 1, "category_id": 3, "bbox": [20, 10, 40, 40]}],
             "categories": [{"id": 3, "name": "square"}]}
            """);
        File.WriteAllText(tmp.File("engine.yml"), """
            batch_size: 1
            dataset:
              data_source: val
              annotation_file: val/instances.json
              channels: 1
              preprocessing: [{type: scale, value: 0.00392156862745098}]
            adapter: ssd
            metrics:
              - {name: voc, type: map}
            """);
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        var r = evaluator.Run(model, new EvaluationRequest { KeepPredictions = true }, CancellationToken.None);
        var d = Assert.Single(Assert.IsAssignableFrom<IReadOnlyList<Detection>>(r.Predictions![0]));
        Assert.Equal((0, 20.0), (d.Label, Math.Round(d.X1, 4)));
        Assert.Equal(1.0, r.Values["voc"], 12);
    }

    [Fact]
    public void SsdWithClassScoresReadsEveryClassAboveItsThreshold()
    {
        // Outputs boxes_out and scores_out: a 12x1 grey image reshaped to boxes [1, 3, 4] (x1, y1, x2, y2 / 255), and its columns 1 and 2 sliced out as
        // the scores [1, 3, 2] (background, face): each box's y1 is its background score, its x2 its face score.
        var g = new GraphBuilder("boxes_and_scores");
        g.Input("image", "batch", 1L, 1L, 12L);
        string boxes = g.Node("Reshape", new[] { "image", g.Initializer("shape", new long[] { -1, 3, 4 }, 3) }, "boxes");
        string scores = g.Node("Slice", new[] { boxes, g.Initializer("starts", new long[] { 1 }, 1), g.Initializer("ends", new long[] { 3 }, 1), g.Initializer("axes", new long[] { 2 }, 1) }, "scores");
        g.Output(boxes, DataType.Float, "batch", 3L, 4L);
        g.Output(scores, DataType.Float, "batch", 3L, 2L);
        var model = g.Build().ToByteArray();
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        // Faces scored .8 (on the object, [20, 10] to [80, 90] of 100 x 100), .6 and .72 (overlapping the object by .53).
        PngFiles.Save(tmp.File("val/a.png"), 12, 1, 1, new byte[] { 51, 26, 204, 230, 26, 128, 153, 179, 0, 51, 184, 255 });
        File.WriteAllText(tmp.File("val/instances.json"), """
            {"images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 100}],
             "annotations": [{"image_id": 1, "category_id": 1, "bbox": [20, 10, 60, 80]}],
             "categories": [{"id": 1, "name": "face"}]}
            """);
        EvaluationResult Run(string adapter)
        {
            File.WriteAllText(tmp.File("engine.yml"), $$"""
                dataset: {data_source: val, annotation_file: val/instances.json, label_offset: 1, channels: 1, preprocessing: [{type: scale, value: 0.00392156862745098}]}
                adapter: {{adapter}}
                metrics: [{name: voc, type: map, include_boundaries: false}]
                """);
            using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
            return evaluator.Run(model, new EvaluationRequest { KeepPredictions = true }, CancellationToken.None);
        }
        var r = Run("{type: ssd, output: boxes_out, scores: scores_out, conf_threshold: 0.7}");
        var found = Assert.IsAssignableFrom<IReadOnlyList<Detection>>(r.Predictions![0]);
        Assert.Equal(new[] { (1, 0.8), (1, 0.72) }, found.Select(d => (d.Label, Math.Round(d.Score, 2))));
        // Its box: the pixels 51, 26, 204 and 230 as fractions of the 100 x 100 image.
        Assert.Equal(new[] { 51 / 2.55, 26 / 2.55, 204 / 2.55, 230 / 2.55 }, new[] { found[0].X1, found[0].Y1, found[0].X2, found[0].Y2 }, (a, b) => Math.Abs(a - b) < 1e-4);
        // The object found first; the .72 box is its second match (wrong), after recall 1.
        Assert.Equal(1.0, r.Values["voc"], 12);
        // The default threshold (0.05) keeps the .6 too, and every background score is left out.
        Assert.Equal(3, Assert.IsAssignableFrom<IReadOnlyList<Detection>>(Run("{type: ssd, output: boxes_out, scores: scores_out}").Predictions![0]).Count);

        // Accuracy Checker's ultra_lightweight_face_detection is this form, its score_threshold 0.7 by default.
        File.WriteAllText(tmp.File("ac.yml"), """
            models:
              - name: face
                launchers: [{framework: onnx_runtime, adapter: {type: ultra_lightweight_face_detection, boxes_out: boxes_out, scores_out: scores_out}}]
                datasets:
                  - name: faces
                    data_source: val
                    annotation_conversion: {converter: mscoco_detection, annotation_file: val/instances.json, has_background: true}
                    preprocessing: [{type: bgr_to_gray}, {type: normalization, std: 255}]
                    postprocessing: [{type: nms, overlap: 0.5, include_boundaries: false}, {type: resize_prediction_boxes}]
                    metrics: [{type: map, include_boundaries: false}]
            """);
        var adapter = EngineDefinition.Load(tmp.File("ac.yml")).Datasets[0].Adapter;
        Assert.Equal((AdapterType.Ssd, "boxes_out", null, "scores_out", 0.7, true), (adapter.Type, adapter.Output, adapter.LabelsOutput, adapter.ScoresOutput, adapter.ConfidenceThreshold, adapter.NormalizedBoxes));
        File.WriteAllText(tmp.File("engine.yml"), "{type: ssd, labels: l, conf_threshold: 0.5}".Insert(0, "dataset: {data_source: val, annotation_file: val/instances.json}\nmetrics: [{type: map}]\nadapter: "));
        string message = Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("engine.yml"))).Message;
        Assert.Contains("adapter.output: is required when labels is given: the output of boxes [N, 5] (x1, y1, x2, y2, score).", message);
        Assert.Contains("adapter.conf_threshold (line 3): applies to ssd with scores: of every class (and no labels:) only.", message);
    }

    [Fact]
    public void SsdWithLabelsReadsEachBoxsScoreFromItsFifthColumn()
    {
        // Outputs boxes_out [1, 2, 5] and labels_out [1, 2]: the 12 pixels of a 12x1 grey image, unscaled.
        var g = new GraphBuilder("boxes_and_labels");
        g.Input("image", "batch", 1L, 1L, 12L);
        string flat = g.Node("Reshape", new[] { "image", g.Initializer("flat", new long[] { -1, 12 }, 2) }, "flat");
        string head = g.Node("Slice", new[] { flat, g.Initializer("s0", new long[] { 0 }, 1), g.Initializer("e0", new long[] { 10 }, 1), g.Initializer("a0", new long[] { 1 }, 1) }, "head");
        string boxes = g.Node("Reshape", new[] { head, g.Initializer("shape", new long[] { -1, 2, 5 }, 3) }, "boxes");
        string labels = g.Node("Slice", new[] { flat, g.Initializer("s1", new long[] { 10 }, 1), g.Initializer("e1", new long[] { 12 }, 1), g.Initializer("a1", new long[] { 1 }, 1) }, "labels");
        g.Output(boxes, DataType.Float, "batch", 2L, 5L);
        g.Output(labels, DataType.Float, "batch", 2L);
        var model = g.Build().ToByteArray();
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        PngFiles.Save(tmp.File("val/a.png"), 12, 1, 1, new byte[] { 1, 0, 9, 1, 200, 2, 0, 5, 1, 100, 3, 7 });
        File.WriteAllText(tmp.File("val/instances.json"), """{"images": [{"id": 1, "file_name": "a.png", "width": 12, "height": 1}], "annotations": [], "categories": [{"id": 1, "name": "a"}]}""");
        File.WriteAllText(tmp.File("engine.yml"), """
            dataset: {data_source: val, annotation_file: val/instances.json, channels: 1}
            adapter: {type: ssd, output: boxes_out, labels: labels_out, normalized: false}
            metrics: [{type: map}]
            """);
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        var found = Assert.IsAssignableFrom<IReadOnlyList<Detection>>(evaluator.Run(model, new EvaluationRequest { KeepPredictions = true }, CancellationToken.None).Predictions![0]);
        Assert.Equal(new[] { new Detection(3, 200, 1, 0, 9, 1), new Detection(7, 100, 2, 0, 5, 1) }, found);
    }

    [Fact]
    public void SsdReadsTensorFlowsDetectionOutputs()
    {
        // TensorFlow's Object Detection API outputs, as ONNX Model Zoo's SSD-MobilenetV1 gives them: boxes [1, 3, 4]
        // (y1, x1, y2, x2 as fractions), classes [1, 3], scores [1, 3] and num_detections [1] = 2: the third row is padding.
        // Its input is TensorFlow's: 8-bit pixels [batch, height, width, 3] of any size.
        var g = new GraphBuilder("tf_detections");
        g.Input("image_tensor", DataType.Uint8, "batch", "height", "width", 3L);
        string pixels = g.Node("Cast", new[] { "image_tensor" }, "pixels", ("to", (long)DataType.Float));
        string zero = g.Node("ReduceSum", new[] { g.Node("Mul", new[] { pixels, g.Initializer("z", new[] { 0f }, 1) }, "zero") }, "sum", ("keepdims", (long)0));
        foreach (var (name, values, dims) in new (string, float[], long[])[]
                 {
                     ("detection_boxes", new[] { 0.1f, 0.2f, 0.5f, 0.6f, 0f, 0f, 1f, 1f, 0.3f, 0.3f, 0.4f, 0.4f }, new long[] { 1, 3, 4 }),
                     ("detection_classes", new[] { 18f, 1f, 5f }, new long[] { 1, 3 }),
                     ("detection_scores", new[] { 0.9f, 0.4f, 0f }, new long[] { 1, 3 }),
                     ("num_detections", new[] { 2f }, new long[] { 1 }),
                 })
        {
            var output = g.Node("Add", new[] { zero, g.Initializer(name + "_c", values, dims) }, name);
            g.Output(output, DataType.Float, dims.Skip(1).Cast<object>().Prepend("batch").ToArray());
        }
        var model = g.Build();
        // The outputs by TensorFlow's names (GraphBuilder names a node's output <name>_out).
        foreach (var o in model.Graph.Output) o.Name = o.Name[..^"_out".Length];
        foreach (var n in model.Graph.Node.Where(n => model.Graph.Output.Any(o => o.Name + "_out" == n.Output[0]))) n.Output[0] = n.Output[0][..^"_out".Length];
        using var tmp = OneImageCoco();
        PngFiles.Save(tmp.File("val/a.png"), 20, 10, 3, new byte[600]);
        File.WriteAllText(tmp.File("val/instances.json"), """{"images": [{"id": 1, "file_name": "a.png", "width": 20, "height": 10}], "annotations": [], "categories": [{"id": 1, "name": "a"}]}""");
        File.WriteAllText(tmp.File("ac.yml"), """
            models:
              - name: ssd_mobilenet_v1
                launchers:
                  - framework: onnx_runtime
                    adapter: {type: tf_object_detection, boxes_out: detection_boxes, classes_out: detection_classes, scores_out: detection_scores, num_detections_out: num_detections}
                    inputs: [{name: image_tensor, type: INPUT, layout: NHWC}]
                    batch: 1
                datasets:
                  - name: coco
                    data_source: val
                    annotation_conversion: {converter: mscoco_detection, annotation_file: val/instances.json, use_full_label_map: true}
                    metrics: [{type: map}]
            """);
        var engine = EngineDefinition.Load(tmp.File("ac.yml"));
        Assert.Equal(("detection_boxes", "detection_classes", "num_detections", true), (engine.Datasets[0].Adapter.Output, engine.Datasets[0].Adapter.LabelsOutput, engine.Datasets[0].Adapter.CountOutput, engine.Datasets[0].Adapter.BoxesYFirst));
        using var evaluator = new Evaluator(engine);
        var found = Assert.IsAssignableFrom<IReadOnlyList<Detection>>(evaluator.Run(model.ToByteArray(), new EvaluationRequest { KeepPredictions = true }, CancellationToken.None).Predictions![0]);
        // Row 0: x 0.2 to 0.6 of 20 pixels, y 0.1 to 0.5 of 10; row 1 the whole image; row 2 past the count.
        Assert.Equal(new[] { (18, 0.9, 4.0, 1.0, 12.0, 5.0), (1, 0.4, 0.0, 0.0, 20.0, 10.0) },
            found.Select(d => (d.Label, Math.Round(d.Score, 5), Math.Round(d.X1, 4), Math.Round(d.Y1, 4), Math.Round(d.X2, 4), Math.Round(d.Y2, 4))));
        // A normalization before an input of 8-bit pixels is refused, not clamped into it.
        File.WriteAllText(tmp.File("ac.yml"), File.ReadAllText(tmp.File("ac.yml")).Replace("        metrics:", "        preprocessing: [{type: normalization, mean: 127.5}]\n        metrics:"));
        using var normalized = new Evaluator(EngineDefinition.Load(tmp.File("ac.yml")));
        var e = Assert.Throws<PotException>(() => normalized.Run(model.ToByteArray(), new EvaluationRequest(), CancellationToken.None));
        Assert.Equal("DataInputType", e.ErrorId);
        Assert.Contains("Model input 'image_tensor' takes UInt8 values (0 to 255), but its Float data holds -127.5", e.Message);
    }
}
