using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// filter on either side (Accuracy Checker's postprocessor/filter.py), ignored detections in the three matchings, map's
/// ignore_difficult and use_filtered_tp, and WIDER FACE's ground truth. Expected values follow from the definitions.
/// </summary>
public class DetectionFilterTests
{
    private static FilterStep Step(params FilterCriterion[] criteria) => new(criteria, "postprocessing[0]");

    private static Detection Box(double score, double x1, double y1, double x2, double y2, int label = 0) => new(label, score, x1, y1, x2, y2);

    private static int[] Picked(List<Detection> detections) => detections.Select((d, i) => d.Ignored ? i : -1).Where(i => i >= 0).ToArray();

    [Fact]
    public void RangesKeepTheirLowerEndAndDropTheirUpperOne()
    {
        // Heights 63.9, 64, 1023.9 and 1024 against '64, 1024': the first and the last are outside [64, 1024).
        var boxes = new List<Detection> { Box(.9, 0, 0, 10, 63.9), Box(.9, 0, 0, 10, 64), Box(.9, 0, 0, 10, 1023.9), Box(.9, 0, 0, 10, 1024) };
        Assert.Equal(new[] { 0, 3 }, Picked(DetectionSteps.Filter(Step(new FilterCriterion(FilterKind.HeightRange, 64, 1024)), boxes, null)));
        // A lower end alone, or an upper end of 0 (none, as in_interval reads it): only 63.9 is short.
        Assert.Equal(new[] { 0 }, Picked(DetectionSteps.Filter(Step(new FilterCriterion(FilterKind.HeightRange, 64)), boxes, null)));
        Assert.Equal(new[] { 0 }, Picked(DetectionSteps.Filter(Step(new FilterCriterion(FilterKind.HeightRange, 64, 0)), boxes, null)));
        // Widths are 10 each: width_range '11' picks all four.
        Assert.Equal(new[] { 0, 1, 2, 3 }, Picked(DetectionSteps.Filter(Step(new FilterCriterion(FilterKind.WidthRange, 11)), boxes, null)));
        // aspect_ratio is height / width: 6.39, 6.4, 102.39, 102.4 against [6.4, 100).
        Assert.Equal(new[] { 0, 2, 3 }, Picked(DetectionSteps.Filter(Step(new FilterCriterion(FilterKind.AspectRatio, 6.4, 100)), boxes, null)));
    }

    [Fact]
    public void EachCriterionPicksWhatItsDefinitionSays()
    {
        var image = new DetectionAnnotation(new[]
        {
            new DetectionBox(1, 0, 0, 10, 10),        // √(100 / 10,000) = 0.1 of the 100 x 100 image
            new DetectionBox(2, 0, 0, 30, 30),        // 0.3
            new DetectionBox(1, 5, 5, 5, 20),         // no width: empty
            new DetectionBox(1, 0, double.NaN, 4, 4), // not finite
        }, 100, 100);
        bool[] Difficult(FilterCriterion c) => DetectionSteps.Objects(image, new[] { Step(c) with { Predictions = false, Annotations = true } }).Boxes.Select(b => b.Difficult).ToArray();
        Assert.Equal(new[] { true, false, false, false }, Difficult(new FilterCriterion(FilterKind.AreaRatio, 0.2, 0.5)).Take(2).Concat(new[] { false, false }));
        Assert.Equal(new[] { false, false, true, false }, Difficult(new FilterCriterion(FilterKind.IsEmpty)));
        Assert.Equal(new[] { false, false, false, true }, Difficult(new FilterCriterion(FilterKind.InvalidBoxes)));
        Assert.Equal(new[] { false, true, false, false }, Difficult(new FilterCriterion(FilterKind.Labels, Labels: new[] { 2 })));
        // Confidence and top_k concern detections: annotated objects have no score.
        Assert.All(Difficult(new FilterCriterion(FilterKind.MinConfidence, 0.5)), Assert.False);
        Assert.All(Difficult(new FilterCriterion(FilterKind.TopK, 1)), Assert.False);
        // area_ratio picks no detection.
        Assert.Empty(Picked(DetectionSteps.Filter(Step(new FilterCriterion(FilterKind.AreaRatio, 0.2, 0.5)), new List<Detection> { Box(.9, 0, 0, 10, 10) }, image)));
    }

    [Fact]
    public void RemovingLetsEachCriterionSeeWhatTheOnesBeforeItLeft()
    {
        var scores = new List<Detection> { Box(.9, 0, 0, 1, 1), Box(.1, 0, 0, 1, 1), Box(.8, 0, 0, 1, 1), Box(.7, 0, 0, 1, 1) };
        var step = Step(new FilterCriterion(FilterKind.MinConfidence, 0.5), new FilterCriterion(FilterKind.TopK, 2));
        // Kept and ignored: each criterion over all four (.1 is low; the best two are .9 and .8).
        Assert.Equal(new[] { 1, 3 }, Picked(DetectionSteps.Filter(step, scores, null)));
        // Removed: .1 first, then the best two of the three left.
        Assert.Equal(new[] { .9, .8 }, DetectionSteps.Filter(step with { Remove = true }, scores, null).Select(d => d.Score));
        // top_k of equal scores keeps the earlier box (numpy's argsort reversed).
        var tied = new List<Detection> { Box(.5, 0, 0, 1, 1), Box(.5, 0, 0, 1, 1), Box(.5, 0, 0, 1, 1) };
        Assert.Equal(new[] { 0, 1 }, Picked(DetectionSteps.Filter(Step(new FilterCriterion(FilterKind.TopK, 1)), tied, null)));
        // Annotated objects removed with remove_filtered, else made difficult.
        var image = new DetectionAnnotation(new[] { new DetectionBox(0, 0, 0, 10, 5), new DetectionBox(0, 0, 0, 10, 50) }, 100, 100);
        var tall = Step(new FilterCriterion(FilterKind.HeightRange, 20)) with { Predictions = false, Annotations = true };
        Assert.Equal(new[] { true, false }, DetectionSteps.Objects(image, new[] { tall }).Boxes.Select(b => b.Difficult));
        Assert.Equal(50, Assert.Single(DetectionSteps.Objects(image, new[] { tall with { Remove = true } }).Boxes).Y2);
    }

    [Fact]
    public void ClipBoxesTakesItsSizeOrTheImages()
    {
        var image = new DetectionAnnotation(new[] { new DetectionBox(0, -5, -5, 2000, 900) }, 1200, 800);
        var toSize = new ClipBoxesStep("p") { Predictions = false, Annotations = true, Width = 1024, Height = 1024 };
        var b = Assert.Single(DetectionSteps.Objects(image, new[] { toSize }).Boxes);
        Assert.Equal((0.0, 0.0, 1024.0, 900.0), (b.X1, b.Y1, b.X2, b.Y2));
        b = Assert.Single(DetectionSteps.Objects(image, new[] { toSize with { Width = null, Height = null } }).Boxes);
        Assert.Equal((0.0, 0.0, 1200.0, 800.0), (b.X1, b.Y1, b.X2, b.Y2));
        // A step for detections leaves the annotated objects alone.
        Assert.Equal(2000, Assert.Single(DetectionSteps.Objects(image, new[] { toSize with { Predictions = true, Annotations = false } }).Boxes).X2);
    }

    [Fact]
    public void ClipBoxesToTheInputTakesThePartOfTheImageTheInputShows()
    {
        // A 200x100 image resized to 64x32 and padded to 64x64 (16 rows above): the input shows y from -50 to 150.
        var geometry = new ImageGeometry(200, 100, 64, 64, 0.32, 0.32, 0, 16);
        var image = new DetectionAnnotation(Array.Empty<DetectionBox>(), 200, 100) { Geometry = geometry };
        var step = new ClipBoxesStep("p") { ToInput = true };
        Assert.Equal((0.0, -50.0, 200.0, 150.0), DetectionSteps.Clip(step, image, -5, -60, 210, 160));
        Assert.Equal((0.0, 0.0, 200.0, 100.0), DetectionSteps.Clip(step with { ToInput = false }, image, -5, -60, 210, 160));
        // Annotated at twice the decoded size, the input's part scales with it.
        Assert.Equal((0.0, -100.0, 400.0, 300.0), DetectionSteps.Clip(step, image with { ImageWidth = 400, ImageHeight = 200 }, -5, -160, 410, 360));

        // Accuracy Checker's clip of detections to 1 x 1 before resize_prediction_boxes (fractions of the input):
        // Intel's license plate detectors.
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        File.WriteAllText(tmp.File("val/instances.json"), """{"images": [], "annotations": [], "categories": [{"id": 1, "name": "plate"}]}""");
        string Config(string clip) => $$"""
            models:
              - name: barrier
                launchers: [{framework: onnx_runtime, adapter: ssd}]
                datasets:
                  - name: plates
                    data_source: val
                    annotation_conversion: {converter: mscoco_detection, annotation_file: val/instances.json}
                    postprocessing: [{{clip}}, {type: resize_prediction_boxes}]
                    metrics: [{type: map}]
            """;
        File.WriteAllText(tmp.File("ac.yml"), Config("{type: clip_boxes, apply_to: prediction, dst_width: 1, dst_height: 1}"));
        var clip = Assert.IsType<ClipBoxesStep>(Assert.Single(EngineDefinition.Load(tmp.File("ac.yml")).Datasets[0].Adapter.Postprocessing));
        Assert.Equal((true, false, true, (int?)null), (clip.Predictions, clip.Annotations, clip.ToInput, clip.Width));
        File.WriteAllText(tmp.File("ac.yml"), Config("{type: clip_boxes, apply_to: prediction, size: 300}"));
        Assert.Contains("with a size before resize_prediction_boxes clips the model input's coordinates", Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("ac.yml"))).Message);
    }

    private static double Map(IReadOnlyList<IReadOnlyList<Detection>> predictions, IReadOnlyList<DetectionAnnotation> images, bool coco = false, AccuracyCheckerMatching? ac = null) =>
        DetectionMatches.Find(predictions, images, new[] { 0.5 }, false, coco, 0, false, ac).Mean(coco ? ApIntegral.HundredOnePoint : ApIntegral.Area, IWeightedAggregate.Once(predictions.Count));

    [Fact]
    public void AnIgnoredDetectionCountsNeitherWayInEachMatchingAsItsReferenceSays()
    {
        // One object; an ignored detection on it at .9, then an ordinary one at .8.
        var image = new[] { new DetectionAnnotation(new[] { new DetectionBox(0, 0, 0, 10, 10) }, 100, 100) };
        var both = new[] { (IReadOnlyList<Detection>)new[] { Box(.9, 0, 0, 10, 10) with { Ignored = true }, Box(.8, 0, 0, 10, 10) } };
        // VOC's devkit and Accuracy Checker's map leave it out: the ordinary one finds the object.
        Assert.Equal(1.0, Map(both, image), 12);
        Assert.Equal(1.0, Map(both, image, ac: new AccuracyCheckerMatching()), 12);
        // COCO's matching lets it take the object first (pycocotools' ignored detections): the ordinary one is wrong.
        Assert.Equal(0.0, Map(both, image, coco: true), 12);
        // use_filtered_tp: alone on the object it is right; without, the class has no right detection.
        var alone = new[] { (IReadOnlyList<Detection>)new[] { Box(.9, 0, 0, 10, 10) with { Ignored = true } } };
        Assert.Equal(1.0, Map(alone, image, ac: new AccuracyCheckerMatching(UseFilteredTp: true)), 12);
        Assert.Equal(0.0, Map(alone, image, ac: new AccuracyCheckerMatching()), 12);
    }

    [Fact]
    public void AccuracyCheckersMapStillCountsAnIgnoredDetectionWhereItsClassIsAbsentAndLetsItTakeADifficultBox()
    {
        // Image 0: an object found at .5. Image 1: no object of class 0, an ignored detection at .9: bbox_match counts it
        // wrong before asking whether it is ignored. Curve: wrong, right -> precision 1/2 at recall 1.
        var images = new[] { new DetectionAnnotation(new[] { new DetectionBox(0, 0, 0, 10, 10) }, 100, 100), new DetectionAnnotation(Array.Empty<DetectionBox>(), 100, 100) };
        var predictions = new[] { (IReadOnlyList<Detection>)new[] { Box(.5, 0, 0, 10, 10) }, new[] { Box(.9, 0, 0, 10, 10) with { Ignored = true } } };
        Assert.Equal(0.5, Map(predictions, images, ac: new AccuracyCheckerMatching()), 12);
        Assert.Equal(1.0, Map(predictions, images), 12);

        // A difficult box and a countable one. The ignored .9 takes the difficult box (without
        // allow_multiple_matches_per_ignored), so the .8 on it is its second match: wrong; the .7 finds the other object.
        var scene = new[] { new DetectionAnnotation(new[] { new DetectionBox(0, 0, 0, 10, 10, Difficult: true), new DetectionBox(0, 50, 50, 60, 60) }, 100, 100) };
        var three = new[] { (IReadOnlyList<Detection>)new[] { Box(.9, 0, 0, 10, 10) with { Ignored = true }, Box(.8, 0, 0, 10, 10), Box(.7, 50, 50, 60, 60) } };
        Assert.Equal(0.5, Map(three, scene, ac: new AccuracyCheckerMatching()), 12);
        Assert.Equal(1.0, Map(three, scene, ac: new AccuracyCheckerMatching(MultipleMatchesPerIgnored: true)), 12);
        // Without the ignored detection the .8 is the difficult box's first match: neither way.
        Assert.Equal(1.0, Map(new[] { (IReadOnlyList<Detection>)three[0].Skip(1).ToList() }, scene, ac: new AccuracyCheckerMatching()), 12);
    }

    [Fact]
    public void WiderFaceGroundTruthIsReadAsItsConverterReadsIt()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("gt.txt"), "0--Parade/a.jpg\n2\n1 2 3 4 0 0 0 0 0 0\n10 20 0 5 2 0 0 1 0 0\n1--Handshaking/b.jpg\n0\n0 0 0 0 0 0 0 0 0 0\n");
        var set = WiderFaceFile.Read(tmp.File("gt.txt"));
        Assert.Equal(new[] { "0--Parade/a.jpg", "1--Handshaking/b.jpg" }, set.Files);
        Assert.Equal(new[] { new DetectionBox(0, 1, 2, 4, 6), new DetectionBox(0, 10, 20, 10, 25) }, set.Annotations[0].Boxes);
        Assert.Empty(set.Annotations[1].Boxes);
        // Broken files name the line.
        File.WriteAllText(tmp.File("gt.txt"), "a.jpg\n2\n1 2 3 4\n");
        Assert.Contains("Line 2 of the WIDER FACE annotation", Assert.Throws<PotException>(() => WiderFaceFile.Read(tmp.File("gt.txt"))).Message);
        File.WriteAllText(tmp.File("gt.txt"), "a.jpg\n1\n1 2 x 4\n");
        Assert.Contains("Line 3 of the WIDER FACE annotation", Assert.Throws<PotException>(() => WiderFaceFile.Read(tmp.File("gt.txt"))).Message);
        File.WriteAllText(tmp.File("gt.txt"), "a.jpg\nmany\n");
        Assert.Contains("must give the number of faces in 'a.jpg'", Assert.Throws<PotException>(() => WiderFaceFile.Read(tmp.File("gt.txt"))).Message);
        File.WriteAllText(tmp.File("gt.txt"), "a.png\n0\n");
        Assert.Contains("names no image", Assert.Throws<PotException>(() => WiderFaceFile.Read(tmp.File("gt.txt"))).Message);
    }

    /// <summary>
    /// Three grey 2x6 images of YOLOv8-style candidates (<see cref="DetectionEvaluationTests.Save"/>) in WIDER FACE's
    /// folders: a.jpg and c.jpg a face-class box at .9 on [0.3, 0.7]², b.jpg a box of class 1 there. The ground truth:
    /// a face on that square in a and b, and a small one (0.1 high) in b; none in c.
    /// </summary>
    private static TempFolder WiderScene()
    {
        var tmp = new TempFolder();
        foreach (var folder in new[] { "val/0--Parade", "val/1--Handshaking" }) Directory.CreateDirectory(tmp.File(folder));
        byte[] face = { 128, 128, 102, 102, 230, 25 }, other = { 128, 128, 102, 102, 10, 204 }, low = { 50, 50, 20, 20, 20, 20 };
        DetectionEvaluationTests.Save(tmp.File("val/0--Parade/a.jpg"), face, low);
        DetectionEvaluationTests.Save(tmp.File("val/0--Parade/b.jpg"), other, low);
        DetectionEvaluationTests.Save(tmp.File("val/1--Handshaking/c.jpg"), face, low);
        File.WriteAllText(tmp.File("gt.txt"), """
            0--Parade/a.jpg
            1
            0.3 0.3 0.4 0.4 0 0 0 0 0 0
            0--Parade/b.jpg
            2
            0.3 0.3 0.4 0.4 0 0 0 0 0 0
            1.0 4.0 0.5 0.1 0 0 0 0 0 0
            1--Handshaking/c.jpg
            0
            0 0 0 0 0 0 0 0 0 0
            """);
        return tmp;
    }

    /// <summary>A native engine over <see cref="WiderScene"/>'s faces with the postprocessing and metrics given.</summary>
    private static string WiderEngine(string postprocessing, string metrics) => $$"""
        dataset:
          data_source: val
          wider_annotations: gt.txt
          channels: 1
          preprocessing: [{type: scale, value: 0.00392156862745098}]
          postprocessing: [{{postprocessing}}]
        adapter: {type: yolo_v8, conf_threshold: 0.25, nms_threshold: 0.5}
        metrics: [{{metrics}}]
        """;

    private static double Run(TempFolder tmp, string engine, string metric)
    {
        File.WriteAllText(tmp.File("engine.yml"), engine);
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        return evaluator.Run(DetectionEvaluationTests.ReshapeModel(), new EvaluationRequest(), CancellationToken.None).Values[metric];
    }

    [Fact]
    public void AnnotatedFacesAreFilteredThroughTheEngine()
    {
        using var tmp = WiderScene();
        const string Voc = "{name: voc, type: map, include_boundaries: false}";
        // Faces: a's found (.9), c's .9 wrong (c has none), b's two missed: precision 1 then 1/2 at recall 1/3.
        Assert.Equal(1.0 / 3, Run(tmp, WiderEngine("", Voc), "voc"), 12);
        // The small face made difficult: two faces to find, so recall 1/2.
        string small = "{type: filter, apply_to: annotation, height_range: 0.2, is_empty: true}";
        Assert.Equal(0.5, Run(tmp, WiderEngine(small, Voc), "voc"), 12);
        Assert.Equal(0.5, Run(tmp, WiderEngine(small.Replace("}", ", remove_filtered: true}"), Voc), "voc"), 12);
        // ignore_difficult: false counts it again.
        Assert.Equal(1.0 / 3, Run(tmp, WiderEngine(small, Voc.Replace("}", ", ignore_difficult: false}")), "voc"), 12);
        // Steps run in order: clipped to 1 x 1 the small face (x 1 to 1.5, y 4 to 4.1) is empty, then filtered as such.
        string clip = "{type: clip_boxes, apply_to: annotation, dst_width: 1, dst_height: 1}", empty = "{type: filter, apply_to: annotation, is_empty: true}";
        Assert.Equal(0.5, Run(tmp, WiderEngine($"{clip}, {empty}", Voc), "voc"), 12);
        Assert.Equal(1.0 / 3, Run(tmp, WiderEngine($"{empty}, {clip}", Voc), "voc"), 12);
    }

    [Fact]
    public void PycocotoolsCountsEveryDetectionAndOnlyCrowdsAreLeftOut()
    {
        // Every detection ignored (scores .9 below .95). map counts none: 0. coco_orig_precision counts them all, as
        // Accuracy Checker hands pycocotools every detection: a's face found at .9 with c's false one beside it, two
        // faces (the small one made difficult counts for pycocotools, which knows crowds only): three faces, one found.
        using var tmp = WiderScene();
        string filters = "{type: filter, min_confidence: 0.95}, {type: filter, apply_to: annotation, height_range: 0.2}";
        Assert.Equal(0.0, Run(tmp, WiderEngine(filters, "{name: voc, type: map, include_boundaries: false}"), "voc"), 12);
        // COCO's 101 points: precision 1 at recall 0 to 1/3 (34 points of 101).
        Assert.Equal(34.0 / 101, Run(tmp, WiderEngine(filters, "{name: orig, type: coco_orig_precision, include_boundaries: false, threshold: 0.5}"), "orig"), 12);
    }

    [Fact]
    public void BadFilterAndClipKeysAreNamed()
    {
        using var tmp = WiderScene();
        File.WriteAllText(tmp.File("engine.yml"), """
            dataset:
              data_source: val
              wider_annotations: gt.txt
              postprocessing:
                - {type: filter, apply_to: both}
                - {type: filter, height_range: '1024, 64', labels: [1.5], top_k: -1}
                - {type: clip_boxes, size: 10, dst_width: 5}
            adapter: {type: yolo_v8}
            metrics: [{type: map, use_filtered_tp: true}]
            """);
        string message = Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("engine.yml"))).Message;
        foreach (var expected in new[]
                 {
                     "dataset.postprocessing[0].apply_to", "dataset.postprocessing[0].type (line 5): filter needs a criterion: one or more of labels, min_confidence",
                     "dataset.postprocessing[1].height_range (line 6): must be a lower end or 'lower, upper' such as '64, 1024', not '1024, 64'.",
                     "dataset.postprocessing[1].labels (line 6): must be class indices such as [1, 3]", "dataset.postprocessing[1].top_k",
                     "dataset.postprocessing[2].dst_width (line 7): give size: or dst_width: and dst_height:, not both.",
                     "metrics[0].use_filtered_tp (line 9): applies with matching: accuracy_checker",
                 })
            Assert.Contains(expected, message);
    }

    [Fact]
    public void OpenModelZoosFaceDetectorConfigurationIsRead()
    {
        using var tmp = WiderScene();
        string Config(string labelStart) => $$"""
            models:
              - name: face-detection
                launchers: [{framework: onnx_runtime, adapter: yolo_v8}]
                datasets:
                  - name: wider
                    data_source: val
                    annotation_conversion: {converter: wider, annotation_file: gt.txt{{labelStart}}}
                    preprocessing: [{type: bgr_to_gray}, {type: normalization, std: 255}]
                    postprocessing:
                      - type: resize_prediction_boxes
                      - {type: clip_boxes, size: 1024, apply_to: annotation}
                      - {type: filter, apply_to: annotation, height_range: '0.2, 1024', is_empty: True, min_visibility: visible}
                    metrics:
                      - {type: map, ignore_difficult: True, include_boundaries: False, allow_multiple_matches_per_ignored: True, use_filtered_tp: False}
            """;
        File.WriteAllText(tmp.File("ac.yml"), Config(""));
        var engine = EngineDefinition.Load(tmp.File("ac.yml"));
        var dataset = engine.Datasets[0];
        // Faces are class label_start, 1 by default (after a background class).
        Assert.Equal((1, true), (dataset.LabelOffset, dataset.WiderAnnotations!.EndsWith("gt.txt")));
        var filter = Assert.IsType<FilterStep>(dataset.Adapter.Postprocessing[^1]);
        Assert.Equal((false, true, false), (filter.Predictions, filter.Annotations, filter.Remove));
        Assert.Equal(new[] { new FilterCriterion(FilterKind.HeightRange, 0.2, 1024), new FilterCriterion(FilterKind.IsEmpty) }, filter.Criteria);
        Assert.Contains(engine.Warnings, w => w.Contains("min_visibility: read and ignored", StringComparison.Ordinal));
        var clip = Assert.IsType<ClipBoxesStep>(dataset.Adapter.Postprocessing[^2]);
        Assert.Equal((false, true, (int?)1024, (int?)1024), (clip.Predictions, clip.Annotations, clip.Width, clip.Height));

        // With label_start 0 the faces are the model's class 0: a's found, c's wrong, b's small face difficult, so
        // recall 1/2 at precision 1 (AP 1/2); Accuracy Checker's mean also counts class 1 (detected in b, never
        // annotated) as 0: 1/4.
        File.WriteAllText(tmp.File("ac.yml"), Config(", label_start: 0"));
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("ac.yml")));
        Assert.Equal(0.25, evaluator.Run(DetectionEvaluationTests.ReshapeModel(), new EvaluationRequest(), CancellationToken.None).Values["map"], 12);
    }
}
