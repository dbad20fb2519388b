using Google.Protobuf;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// yolox, nanodet and class_agnostic: candidates of YOLOX's and NanoDet's raw outputs decoded on their grids, and boxes
/// of one class scaled to fractions of the input, as Accuracy Checker's yolox, nanodet and class_agnostic_detection
/// adapters read them; golden values from their formulas.
/// </summary>
public class YoloxTests
{
    private static List<Detection> Predict(AdapterDefinition definition, float[] data, long[] shape, IReadOnlyList<int>? inputDims = null)
    {
        var adapter = Adapter.Create(definition);
        adapter.Bind(new[] { "o" }, null, new HashSet<string>(), inputDims);
        var outputs = new BatchOutputs(new[] { "o" }) { Rows = 1, Items = 1 };
        outputs.Data[0] = data;
        outputs.SetShape(0, shape);
        adapter.Resolve(outputs);
        return (List<Detection>)adapter.Predict(outputs, 0, null)!;
    }

    /// <summary>
    /// A 16x16 input at strides 8 and 16: a 2x2 grid, then one cell, five candidates of two classes. Candidate 0 has
    /// objectness .5 and classes .5, .5 (scores .25, below the threshold .3); candidate 3 (row 1, column 1 of stride 8)
    /// objectness .8, offsets (.5, .25), log sizes (0, ln 2), classes .5 and .9; candidate 4 objectness .25.
    /// </summary>
    private static float[] Candidates()
    {
        var data = new float[5 * 7];
        float[][] rows = { new[] { 0f, 0f, 0f, 0f, 0.5f, 0.5f, 0.5f }, new[] { 0.5f, 0.25f, 0f, (float)Math.Log(2), 0.8f, 0.5f, 0.9f }, new[] { 0f, 0f, 0f, 0f, 0.25f, 1f, 1f } };
        rows[0].CopyTo(data, 0);
        rows[1].CopyTo(data, 3 * 7);
        rows[2].CopyTo(data, 4 * 7);
        return data;
    }

    [Fact]
    public void Yolox_decodes_its_candidates_on_the_grids_and_keeps_every_class_above_the_threshold()
    {
        // Candidate 3: centre ((.5 + 1) x 8, (.25 + 1) x 8) = (12, 10), size (e^0 x 8, e^ln2 x 8) = (8, 16): [8, 2, 16, 18]
        // in input pixels; class 0 at .8 x .5 = .4 and class 1 at .8 x .9 = .72, both above .3.
        var definition = new AdapterDefinition(AdapterType.Yolox, "o") { Threshold = 0.3, Strides = new[] { 8, 16 } };
        var found = Predict(definition, Candidates(), new long[] { 1, 5, 7 }, new[] { 1, 3, 16, 16 });
        Assert.Equal(new[] { (0, 0.4, 8.0, 2.0, 16.0, 18.0), (1, 0.72, 8.0, 2.0, 16.0, 18.0) },
            found.Select(d => (d.Label, Math.Round(d.Score, 6), Math.Round(d.X1, 5), Math.Round(d.Y1, 5), Math.Round(d.X2, 5), Math.Round(d.Y2, 5))));
        // Strides 8, 16, 32 on a 16x16 input give the same five cells (16 / 32 rounds to none).
        Assert.Equal(2, Predict(definition with { Strides = new[] { 8, 16, 32 } }, Candidates(), new long[] { 1, 5, 7 }, new[] { 1, 3, 16, 16 }).Count);
        var e = Assert.Throws<PotException>(() => Predict(definition, Candidates(), new long[] { 1, 5, 7 }, new[] { 1, 3, 24, 24 }));
        Assert.Contains("holds 5 candidates, but a 24x24 input at strides 8, 16 has 10 cells", e.Message);
    }

    [Theory]
    [InlineData(false, 4.0)]
    [InlineData(true, 8.0)]
    public void Nanodet_takes_each_sides_mean_bin_times_the_stride_from_its_point(bool legacy, double corner)
    {
        // A 16x16 input at strides 8 and 16: points (0, 0), (8, 0), (0, 8), (8, 8), then (0, 0) of stride 16 (at the
        // cells' centres when legacy: + 4 and + 8). Two classes, bins 0 and 1. Point 3: class 1 at .9, every side's logits
        // equal, mean bin .5, 4 pixels: [4, 4, 12, 12] (legacy [8, 8, 16, 16]). Point 4: class 1 at .8, logits 0 and ln 3,
        // mean bin .75, 12 pixels: [-12, -12, 12, 12] clipped to [0, 0, 12, 12] (legacy [0, 0, 16, 16] from centre 8,
        // which overlaps the first by 81 / 289 with boundaries: kept). Point 0: class 0 at .2, below .3.
        var data = new float[5 * 10];
        data[0] = 0.2f;
        data[3 * 10 + 1] = 0.9f;
        data[4 * 10 + 1] = 0.8f;
        for (int side = 0; side < 4; side++) data[4 * 10 + 2 + side * 2 + 1] = (float)Math.Log(3);
        var definition = new AdapterDefinition(AdapterType.NanoDet, "o") { Classes = 2, RegMax = 1, Strides = new[] { 8, 16 }, ConfidenceThreshold = 0.3, NmsThreshold = 0.5, CellCentres = legacy };
        var found = Predict(definition, data, new long[] { 1, 5, 10 }, new[] { 1, 3, 16, 16 });
        double far = legacy ? 16 : 12;
        Assert.Equal(new[] { (1, 0.9, corner, corner, corner + 8, corner + 8), (1, 0.8, 0.0, 0.0, far, far) },
            found.Select(d => (d.Label, Math.Round(d.Score, 6), Math.Round(d.X1, 5), Math.Round(d.Y1, 5), Math.Round(d.X2, 5), Math.Round(d.Y2, 5))));
    }

    [Fact]
    public void Class_agnostic_keeps_scored_boxes_of_label_1_scaled_to_fractions()
    {
        // Rows x1, y1, x2, y2, score at scale (1 / 640, 1 / 320): the second, scored 0, goes.
        float[] data = { 64, 32, 320, 160, 0.9f, 0, 0, 10, 10, 0, 32, 32, 64, 64, 0.1f };
        var definition = new AdapterDefinition(AdapterType.ClassAgnostic, "o") { BoxScale = new[] { 1 / 640.0, 1 / 320.0, 1 / 640.0, 1 / 320.0 } };
        var found = Predict(definition, data, new long[] { 1, 3, 5 });
        Assert.Equal(new[] { (1, 0.9, 0.1, 0.1, 0.5, 0.5), (1, 0.1, 0.05, 0.1, 0.1, 0.2) },
            found.Select(d => (d.Label, Math.Round(d.Score, 6), Math.Round(d.X1, 6), Math.Round(d.Y1, 6), Math.Round(d.X2, 6), Math.Round(d.Y2, 6))));
        Assert.Contains("[batch, boxes, 5]", Assert.Throws<PotException>(() => Predict(definition, data, new long[] { 1, 5, 3 })).Message);
    }

    [Fact]
    public void Accuracy_Checkers_yolox_and_class_agnostic_detection_read_as_ours()
    {
        using var tmp = DetectionEvaluationTests.OneImageCoco();
        AdapterDefinition Load(string adapter) => DetectionEvaluationTests.AccuracyCheckerAdapter(tmp, adapter);
        var yolox = Load("yolox");
        Assert.Equal((AdapterType.Yolox, 0.001), (yolox.Type, yolox.Threshold));
        Assert.Equal(new[] { 8, 16, 32 }, yolox.Strides);
        yolox = Load("{type: yolox, threshold: 0.01, output_name: out}");
        Assert.Equal((0.01, "out"), (yolox.Threshold, yolox.Output));
        Assert.Contains("num", Assert.Throws<PotException>(() => Load("{type: yolox, num: 4}")).Message);
        var nanodet = Load("{type: nanodet, strides: [8, 16, 32, 64]}");
        Assert.Equal((AdapterType.NanoDet, 80, 7, 0.05, 0.6, 100, false), (nanodet.Type, nanodet.Classes, nanodet.RegMax, nanodet.ConfidenceThreshold, nanodet.NmsThreshold, nanodet.MaxDetections, nanodet.CellCentres));
        Assert.Equal(new[] { 8, 16, 32, 64 }, nanodet.Strides);
        Assert.Equal((3, 0.5, true), Load("{type: nanodet, num_classes: 3, confidence_threshold: 0.5, is_legacy: true}") is var legacy ? (legacy.Classes, legacy.ConfidenceThreshold, legacy.CellCentres) : default);
        var agnostic = Load("{type: class_agnostic_detection, scale: [0.0011574, 0.0020833]}");
        Assert.Equal((AdapterType.ClassAgnostic, true), (agnostic.Type, agnostic.NormalizedBoxes));
        Assert.Equal(new[] { 0.0011574, 0.0020833, 0.0011574, 0.0020833 }, agnostic.BoxScale);
        Assert.Equal(new[] { 0.0015625, 0.0015625, 0.0015625, 0.0015625 }, Load("{type: class_agnostic_detection, scale: 0.0015625}").BoxScale);
        Assert.Contains("scale", Assert.Throws<PotException>(() => Load("{type: class_agnostic_detection, scale: [1, 2, 3]}")).Message);
        // mask_rcnn with boxes_out alone (Intel's person detectors): boxes [N, 5] with their score in the input's pixels.
        var boxes = Load("{type: mask_rcnn, boxes_out: boxes}");
        Assert.Equal((AdapterType.ClassAgnostic, false, "boxes"), (boxes.Type, boxes.NormalizedBoxes, boxes.Output));
        Assert.Contains("adapter.raw_masks_out (line 4): is not supported: mask_rcnn is read with boxes_out alone", Assert.Throws<PotException>(() => Load("{type: mask_rcnn, boxes_out: boxes, raw_masks_out: masks}")).Message);
    }

    [Fact]
    public void Class_agnostic_boxes_in_the_inputs_pixels_go_back_through_the_resize()
    {
        // A 10x1 grey image reshaped to two rows [x1, y1, x2, y2, score] in pixels of the 10x1 input resized from the
        // 20x2 annotated image (twice as large): the second row scores 0 and is left out.
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        PngFiles.Save(tmp.File("val/a.png"), 20, 2, 1, Enumerable.Repeat((byte)0, 40).ToArray());
        File.WriteAllText(tmp.File("val/instances.json"), """{"images": [{"id": 1, "file_name": "a.png", "width": 20, "height": 2}], "annotations": [], "categories": [{"id": 1}]}""");
        File.WriteAllText(tmp.File("engine.yml"), """
            dataset: {data_source: val, annotation_file: val/instances.json, channels: 1, preprocessing: [{type: resize, width: 10, height: 1, interpolation: nearest}]}
            adapter: {type: class_agnostic, normalized: false}
            metrics: [{type: map}]
            """);
        // A model that ignores its input and outputs the two rows: 1, 0, 4, 1, .9 and 5, 0, 6, 1, 0.
        var g = new GraphBuilder("boxes");
        g.Input("image", "batch", 1L, 1L, 10L);
        string zero = g.Node("Mul", new[] { "image", g.Initializer("z", new[] { 0f }, 1) }, "zero");
        string rows = g.Node("Add", new[] { g.Node("Reshape", new[] { zero, g.Initializer("shape", new long[] { -1, 2, 5 }, 3) }, "reshape"),
            g.Initializer("rows", new[] { 1f, 0, 4, 1, 0.9f, 5, 0, 6, 1, 0 }, 1, 2, 5) }, "rows");
        g.Output(rows, global::Onnx.TensorProto.Types.DataType.Float, "batch", 2L, 5L);
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        var found = Assert.IsAssignableFrom<IReadOnlyList<Detection>>(evaluator.Run(g.Build().ToByteArray(), new EvaluationRequest { KeepPredictions = true }, CancellationToken.None).Predictions![0]);
        Assert.Equal(new[] { (1, 0.9, 2.0, 0.0, 8.0, 2.0) }, found.Select(d => (d.Label, Math.Round(d.Score, 5), d.X1, d.Y1, d.X2, d.Y2)));
    }

    [Fact]
    public void An_engine_evaluates_a_model_whose_output_is_yoloxs_candidates()
    {
        // A 9x3 grey image whose rows (pixels scaled by 1/255) are three candidates of 4 classes a Reshape passes on, on
        // the one grid of stride 3 (three cells in a row). Candidate 0: offsets 0, log sizes 0, objectness 1, class 0 at
        // 1: centre (0, 0), size 3: [-1.5, -1.5, 1.5, 1.5]. Candidate 1: offsets (51/255, 102/255) = (.2, .4),
        // objectness .8, class 2 at 1: centre ((.2 + 1) x 3, .4 x 3) = (3.6, 1.2): [2.1, -.3, 5.1, 2.7], score .8.
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        byte[] pixels =
        {
            0, 0, 0, 0, 255, 255, 0, 0, 0,
            51, 102, 0, 0, 204, 0, 0, 255, 0,
            0, 0, 0, 0, 0, 255, 255, 255, 255,
        };
        PngFiles.Save(tmp.File("val/a.png"), 9, 3, 1, pixels);
        File.WriteAllText(tmp.File("val/instances.json"), """
            {"images": [{"id": 1, "file_name": "a.png", "width": 9, "height": 3}],
             "annotations": [{"image_id": 1, "category_id": 3, "bbox": [2, 0, 3, 2.7]}], "categories": [{"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}]}
            """);
        File.WriteAllText(tmp.File("engine.yml"), DetectionEvaluationTests.GreyEngine("{type: yolox, strides: [3]}", "{name: voc, type: map}"));
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        var r = evaluator.Run(DetectionEvaluationTests.ReshapeModel(3, 9), new EvaluationRequest { KeepPredictions = true }, CancellationToken.None);
        var found = Assert.IsAssignableFrom<IReadOnlyList<Detection>>(r.Predictions![0]);
        Assert.Equal(new[] { (0, 1.0, -1.5, -1.5, 1.5, 1.5), (2, 0.8, 2.1, -0.3, 5.1, 2.7) },
            found.Select(d => (d.Label, Math.Round(d.Score, 5), Math.Round(d.X1, 5), Math.Round(d.Y1, 5), Math.Round(d.X2, 5), Math.Round(d.Y2, 5))));
    }

    [Fact]
    public void Keys_of_another_adapter_are_refused_by_name()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        foreach (var (adapter, key, owners) in new[]
                 {
                     ("{type: yolox, softmax: box}", "softmax", "the yolo_v2 adapter"),
                     ("{type: yolo_v3, outputs: [o], strides: [8]}", "strides", "the yolox, nanodet and prior_boxes adapters"),
                     ("{type: yolox, reg_max: 7}", "reg_max", "the nanodet adapter"),
                     ("{type: yolox, anchors: tiny_yolo_v2}", "anchors", "the yolo_v3 and yolo_v2 adapters"),
                     ("{type: yolo_v2, outputs: [o]}", "outputs", "the yolo_v3 adapter"),
                     ("{type: ssd, scale: 2}", "scale", "the class_agnostic adapter"),
                     ("{type: yolo_v8, normalized: false}", "normalized", "the ssd and class_agnostic adapters"),
                 })
        {
            File.WriteAllText(tmp.File("engine.yml"), DetectionEvaluationTests.GreyEngine(adapter, "{name: voc, type: map}"));
            string message = Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("engine.yml"))).Message;
            Assert.Contains($"adapter.{key} (line 6): applies to {owners} only.", message);
        }
    }
}
