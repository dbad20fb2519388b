using Google.Protobuf;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.TestSupport;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// map and coco_precision with reference fp32: the FP32 model's detections of at least reference_confidence are the
/// objects, so unlabelled images serve. The images' pixels are a YOLOv8-style output [6, 2] (centre x, centre y,
/// width, height, scores of classes 0 and 1; one column per candidate), passed through by a Reshape model (the FP32
/// model); the model compared halves every box's width and height, which keeps its centre: a halved box inside its
/// FP32 box has IoU 0.25 with it (include_boundaries false).
/// </summary>
public class DetectionReferenceTests
{
    private static byte[] Model(bool halveBoxes)
    {
        var g = new GraphBuilder(halveBoxes ? "halved" : "yolo");
        g.Input("image", "batch", 1L, 6L, 2L);
        string output = g.Node("Reshape", new[] { "image", g.Initializer("shape", new long[] { -1, 6, 2 }, 3) }, "reshape");
        if (halveBoxes)
            output = g.Node("Mul", new[] { output, g.Initializer("halve", new float[] { 1, 1, 1, 1, 0.5f, 0.5f, 0.5f, 0.5f, 1, 1, 1, 1 }, 6, 2) }, "halve");
        g.Output(output, DataType.Float, "batch", 6L, 2L);
        var model = g.Build();
        model.Graph.Output[0].Name = "output0";
        model.Graph.Node[^1].Output[0] = "output0";
        return model.ToByteArray();
    }

    /// <summary>
    /// Two images, unlabelled unless <paramref name="labelled"/>: a.png, class 0 at .9 and a near copy at .78 that NMS
    /// drops; b.png, class 1 at .8.
    /// </summary>
    private static TempFolder Scene(string metrics, bool labelled = false)
    {
        var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        DetectionEvaluationTests.Save(tmp.File("val/a.png"), new byte[] { 128, 128, 102, 102, 230, 25 }, new byte[] { 128, 128, 100, 100, 200, 10 });
        DetectionEvaluationTests.Save(tmp.File("val/b.png"), new byte[] { 128, 128, 102, 102, 10, 204 }, new byte[] { 50, 50, 20, 20, 20, 20 });
        File.WriteAllText(tmp.File("val/instances.json"), """
            {"images": [{"id": 1, "file_name": "a.png", "width": 2, "height": 6}, {"id": 2, "file_name": "b.png", "width": 2, "height": 6}],
             "annotations": [{"image_id": 1, "category_id": 7, "bbox": [0.3, 0.3, 0.4, 0.4]}], "categories": [{"id": 7, "name": "square"}]}
            """);
        File.WriteAllText(tmp.File("engine.yml"), $$"""
            dataset:
              data_source: val
              {{(labelled ? "annotation_file: val/instances.json" : "")}}
              channels: 1
              preprocessing: [{type: scale, value: 0.00392156862745098}]
            adapter: {type: yolo_v8, conf_threshold: 0.25, nms_threshold: 0.5}
            metrics:
            {{metrics}}
            """);
        return tmp;
    }

    private static IReadOnlyDictionary<string, double> Evaluate(TempFolder tmp, bool halveBoxes)
    {
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")), new EvaluatorOptions { ReferenceModel = Model(false) });
        var values = evaluator.Evaluate(Model(halveBoxes), null, CancellationToken.None).Values;
        // The FP32 detections are kept, not the outputs they came from (a YOLOv8 head's [84, 8400] held 2.8 MB per item).
        Assert.Empty(evaluator.ReferenceRows);
        return values;
    }

    [Fact]
    public void The_FP32_models_confident_detections_are_the_objects_of_unlabelled_images()
    {
        using var tmp = Scene("""
              - {name: same, type: map, reference: fp32, include_boundaries: false}
              - {name: tight, type: map, reference: fp32, include_boundaries: false}
              - {name: loose, type: map, reference: fp32, include_boundaries: false, overlap_threshold: 0.2}
              - {name: coco, type: coco_precision, reference: fp32, include_boundaries: false, threshold: 0.2}
              - {name: both_classes, type: map, reference: fp32, reference_confidence: 0.75, include_boundaries: false, overlap_threshold: 0.2}
            """);
        // The FP32 model itself finds every object it gives: 1 at any overlap.
        Assert.All(Evaluate(tmp, halveBoxes: false).Values, v => Assert.Equal(1.0, v, 12));
        // Objects at the default reference confidence (.5): a's class-0 box (.9) and b's class-1 box (.8). The halved
        // boxes overlap them by IoU .25: every one missed at overlap .5, every one found at .2.
        var halved = Evaluate(tmp, halveBoxes: true);
        Assert.Equal(0.0, halved["tight"], 12);
        Assert.Equal(1.0, halved["loose"], 12);
        Assert.Equal(1.0, halved["coco"], 12);
        Assert.Equal(1.0, halved["both_classes"], 12);
    }

    [Fact]
    public void Detections_below_the_reference_confidence_are_no_objects()
    {
        // At .85 b's class-1 box (.8) is no object, and class 1, without objects, is left out of the mean; the halved
        // model's class-1 detection of b is then not counted either way.
        using var tmp = Scene("  - {name: confident, type: map, reference: fp32, reference_confidence: 0.85, include_boundaries: false, overlap_threshold: 0.2}");
        Assert.Equal(1.0, Evaluate(tmp, halveBoxes: true)["confident"], 12);
        // At .95 neither is an object: no class has objects, and the value is NaN, as for labelled data without objects.
        using var none = Scene("  - {name: none, type: map, reference: fp32, reference_confidence: 0.95}");
        Assert.True(double.IsNaN(Evaluate(none, halveBoxes: false)["none"]));
        // Said, not passed on quietly.
        using var evaluator = new Evaluator(EngineDefinition.Load(none.File("engine.yml")), new EvaluatorOptions { ReferenceModel = Model(false) });
        Assert.StartsWith("none has no value (NaN): none of the FP32 model's detections on the 2 items reaches reference_confidence 0.95, so there is no object to find.",
            evaluator.NoValue("none", 2), StringComparison.Ordinal);
        Assert.Equal("x has no value (NaN): none of the 2 items has a value for it (each was left out, or the metric returned nothing).", evaluator.NoValue("x", 2));
    }

    [Fact]
    public void Reference_confidence_without_reference_fp32_is_refused()
    {
        using var tmp = Scene("  - {name: voc, type: map, reference_confidence: 0.7}");
        var e = Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("engine.yml")));
        Assert.Contains("reference_confidence", e.Message);
        Assert.Contains("applies with reference: fp32", e.Message);
    }

    [Fact]
    public void Annotation_free_turns_detection_and_segmentation_metrics_to_FP32_instead_of_dropping_them()
    {
        using var tmp = Scene("  - {name: voc, type: map, include_boundaries: false}", labelled: true);
        var engine = EngineDefinition.Load(tmp.File("engine.yml")).AnnotationFree(0.6);
        var voc = Assert.Single(engine.Metrics);
        Assert.Equal((MetricReference.Fp32, 0.6), (voc.Reference, voc.ConfidenceThreshold));
        Assert.False(voc.RequiresAnnotation);
        Assert.Contains(engine.Warnings, w => w == "annotation_free: voc compares with the FP32 model's detections (those scored at least 0.6, annotation_conf_threshold), class maps, answers or token classes instead of annotations.");

        // Unlabelled images: refused as written, loaded for annotation_free, whose labels are the FP32 model's.
        using var unlabelled = Scene("  - {name: voc, type: map}");
        Assert.Throws<PotException>(() => EngineDefinition.Load(unlabelled.File("engine.yml")));
        Assert.Equal(MetricReference.Fp32, Assert.Single(EngineDefinition.Load(unlabelled.File("engine.yml"), annotationFree: true).AnnotationFree(0.6).Metrics).Reference);

        // A segmentation engine: mean_iou compares with the FP32 model's class maps; no top-1 agreement is added.
        Directory.CreateDirectory(tmp.File("seg"));
        NpyWriter.Save(tmp.File("seg/x.npy"), new float[2 * 3 * 4 * 4], new long[] { 2, 3, 4, 4 }, "<f4");
        NpyWriter.Save(tmp.File("masks.npy"), new long[2 * 4 * 4], new long[] { 2, 4, 4 }, "<i8");
        File.WriteAllText(tmp.File("seg.yml"), "adapter: segmentation\nmetrics:\n  - type: mean_iou\ndataset:\n  data_source: seg\n  labels: masks.npy\n");
        var iou = Assert.Single(EngineDefinition.Load(tmp.File("seg.yml")).AnnotationFree(0.6).Metrics);
        Assert.Equal((MetricType.MeanIou, MetricReference.Fp32), (iou.Type, iou.Reference));
    }
}
