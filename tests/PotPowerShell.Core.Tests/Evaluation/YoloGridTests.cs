using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// yolo_v3 and yolo_v2: raw YOLO grids decoded with their anchors as Accuracy Checker's yolo_v3 and yolo_v2 adapters
/// decode them; golden values from its formulas on a 2x2 grid of one anchor (2 x 4 pixels, or 1 x 2 cells) and two
/// classes, for an 8x8 input.
/// </summary>
public class YoloGridTests
{
    // Per cell (row, column): x, y, w, h, objectness, class 0, class 1.
    private static readonly float[][] Cells =
    {
        new[] { 0.5f, 0.5f, 0f, 0f, 0.9f, 0.2f, 0.8f },               // (0, 0): kept, class 1 at .9 x .8
        new[] { 0.5f, 0.5f, 0f, 0f, 0.3f, 0.9f, 0.1f },               // (0, 1): objectness .3, dropped
        new[] { 0.25f, 0.75f, (float)Math.Log(2), 0f, 0.6f, 0.5f, 0.5f }, // (1, 0): kept, class 0 (the first of equals) at .6 x .5
        new[] { 0.5f, 0.5f, 0f, 0f, 0.5f, 0.9f, 0.1f },               // (1, 1): objectness .5, not above the threshold
    };

    /// <summary>The grid as [7, 2, 2] (BHW) or [2, 2, 7] (HWB).</summary>
    private static float[] Grid(bool channelsLast)
    {
        var data = new float[28];
        for (int cell = 0; cell < 4; cell++)
            for (int k = 0; k < 7; k++)
                data[channelsLast ? cell * 7 + k : k * 4 + cell] = Cells[cell][k];
        return data;
    }

    private static List<Detection> Decode(float[] data, long[] shape, YoloGrid grid, ImageGeometry? geometry = null, IReadOnlyList<int>? inputDims = null)
    {
        var adapter = Adapter.Create(new AdapterDefinition(grid.AnchorsInCells ? AdapterType.YoloV2 : AdapterType.YoloV3, "o") { Grid = grid });
        adapter.Bind(new[] { "o" }, null, new HashSet<string>(), inputDims);
        var outputs = new BatchOutputs(new[] { "o" }) { Rows = 1, Items = 1 };
        outputs.Data[0] = data;
        outputs.SetShape(0, shape);
        adapter.Resolve(outputs);
        var annotation = geometry == null ? null : new DetectionAnnotation(Array.Empty<DetectionBox>(), geometry.ImageWidth, geometry.ImageHeight) { Geometry = geometry };
        return (List<Detection>)adapter.Predict(outputs, 0, annotation)!;
    }

    private static YoloGrid Options(bool channelsLast = false, bool raw = false) =>
        new(new[] { "o" }, new double[] { 2, 4 }, null, 1, 2, 0.5, raw, channelsLast, new[] { 2 }, false, null, false);

    [Fact]
    public void Cells_above_the_objectness_threshold_give_boxes_from_their_anchors()
    {
        // (0, 0): centre ((.5 + 0) / 2, (.5 + 0) / 2) = (.25, .25), size (e^0 x 2 / 8, e^0 x 4 / 8) = (.25, .5) of the
        // 8x8 input: [.125, 0, .375, .5], in its pixels [1, 0, 3, 4]. (1, 0): centre ((.25 + 0) / 2, (.75 + 1) / 2) =
        // (.125, .875), size (2 x 2 / 8, 4 / 8) = (.5, .5): [-.125, .625, .375, 1.125], pixels [-1, 5, 3, 9].
        var expected = new[] { (1, 0.72, 1.0, 0.0, 3.0, 4.0), (0, 0.3, -1.0, 5.0, 3.0, 9.0) };
        foreach (bool channelsLast in new[] { false, true })
        {
            var found = Decode(Grid(channelsLast), channelsLast ? new long[] { 1, 2, 2, 7 } : new long[] { 1, 7, 2, 2 }, Options(channelsLast), ImageGeometry.Of(8, 8));
            Assert.Equal(expected, found.Select(d => (d.Label, Math.Round(d.Score, 6), Math.Round(d.X1, 6), Math.Round(d.Y1, 6), Math.Round(d.X2, 6), Math.Round(d.Y2, 6))));
        }
    }

    [Fact]
    public void Raw_outputs_pass_through_a_sigmoid_and_without_an_image_the_model_inputs_size_scales_the_anchors()
    {
        // Logits of cell (0, 0): sigmoid(0) = .5, sigmoid(ln 9) = .9, sigmoid(ln(.2 / .8)) = .2, sigmoid(ln 4) = .8;
        // the other cells' objectness far below the threshold.
        var data = new float[28];
        float[] logits = { 0, 0, 0, 0, (float)Math.Log(9), (float)Math.Log(0.25), (float)Math.Log(4) };
        for (int k = 0; k < 7; k++)
            for (int cell = 0; cell < 4; cell++) data[k * 4 + cell] = cell == 0 ? logits[k] : k == 4 ? -20 : 0;
        // No annotated image: the input [1, 3, 8, 8] (NCHW, as its 3 channels say) gives the size; boxes stay fractions.
        var d = Assert.Single(Decode(data, new long[] { 1, 7, 2, 2 }, Options(raw: true), inputDims: new[] { 1, 3, 8, 8 }));
        Assert.Equal((1, 0.72, 0.125, 0.0, 0.375, 0.5), (d.Label, Math.Round(d.Score, 6), Math.Round(d.X1, 6), Math.Round(d.Y1, 6), Math.Round(d.X2, 6), Math.Round(d.Y2, 6)));
        var e = Assert.Throws<PotException>(() => Decode(data, new long[] { 1, 7, 2, 2 }, Options(raw: true), inputDims: new[] { 1, 3, -1, -1 }));
        Assert.Contains("export the model with a fixed input size", e.Message);
    }

    [Fact]
    public void Yolo_v5s_box_decoding_doubles_the_sigmoids()
    {
        // Cell (0, 0)'s logits x = w = ln 3 (sigmoid .75), y = h = 0 (.5). YOLO v3: centre x (.75 + 0) / 2 = .375, width
        // e^(ln 3) x 2 / 8 = .75. YOLOv5: centre x (2 x .75 - .5) / 2 = .5, width (2 x .75)² x 2 / 8 = .5625; y (2 x .5 -
        // .5) / 2 = .25 and height (2 x .5)² x 4 / 8 = .5 as YOLO v3's.
        var data = new float[28];
        float[] logits = { (float)Math.Log(3), 0, (float)Math.Log(3), 0, (float)Math.Log(9), (float)Math.Log(0.25), (float)Math.Log(4) };
        for (int k = 0; k < 7; k++)
            for (int cell = 0; cell < 4; cell++) data[k * 4 + cell] = cell == 0 ? logits[k] : k == 4 ? -20 : 0;
        (double, double, double, double) Box(YoloGrid grid) =>
            Assert.Single(Decode(data, new long[] { 1, 7, 2, 2 }, grid, inputDims: new[] { 1, 3, 8, 8 })) is var d ? (Math.Round(d.X1, 6), Math.Round(d.Y1, 6), Math.Round(d.X2, 6), Math.Round(d.Y2, 6)) : default;
        Assert.Equal((0.0, 0.0, 0.75, 0.5), Box(Options(raw: true)));
        Assert.Equal((0.21875, 0.0, 0.78125, 0.5), Box(Options(raw: true) with { V5Boxes = true }));
        // Accuracy Checker's yolo_v5: yolo_v3's keys, YOLOv5's decoding for raw grids.
        using var tmp = DetectionEvaluationTests.OneImageCoco();
        Assert.True(DetectionEvaluationTests.AccuracyCheckerAdapter(tmp, "{type: yolo_v5, outputs: [o], anchors: '2,4', num: 1, classes: 2, cells: [2], raw_output: true}").Grid!.V5Boxes);
        Assert.False(DetectionEvaluationTests.AccuracyCheckerAdapter(tmp, "{type: yolo_v5, outputs: [o], anchors: '2,4', num: 1, classes: 2, cells: [2]}").Grid!.V5Boxes);
    }

    private static YoloGrid V2Options(bool channelsLast = false, bool raw = false, YoloSoftmax softmax = YoloSoftmax.Image) =>
        new(new[] { "o" }, new double[] { 1, 2 }, null, 1, 2, 0.5, raw, channelsLast, new[] { 2 }, false, null, false) { AnchorsInCells = true, Softmax = softmax };

    [Fact]
    public void Yolo_v2s_anchors_are_in_cells()
    {
        // As the yolo_v3 case, but sizes are e^w x anchor / cells: (0, 0) (.5, 1) about (.25, .25): [0, -.25, .5, .75];
        // (1, 0) (2 x 1 / 2, 2 / 2) about (.125, .875): [-.375, .375, .625, 1.375]; fractions, as no image is annotated.
        var expected = new[] { (1, 0.72, 0.0, -0.25, 0.5, 0.75), (0, 0.3, -0.375, 0.375, 0.625, 1.375) };
        foreach (bool channelsLast in new[] { false, true })
        {
            var found = Decode(Grid(channelsLast), channelsLast ? new long[] { 1, 2, 2, 7 } : new long[] { 1, 7, 2, 2 }, V2Options(channelsLast));
            Assert.Equal(expected, found.Select(d => (d.Label, Math.Round(d.Score, 6), Math.Round(d.X1, 6), Math.Round(d.Y1, 6), Math.Round(d.X2, 6), Math.Round(d.Y2, 6))));
        }
        // A flat output is reshaped to its cells.
        Assert.Equal(2, Decode(Grid(false), new long[] { 1, 28 }, V2Options()).Count);
    }

    [Fact]
    public void Yolo_v2s_raw_class_scores_take_the_softmax_over_the_grid_or_over_the_box()
    {
        // Class logits 0 everywhere but class 1 of cell (0, 0), ln 3; objectness ln 9 there (.9), -20 elsewhere.
        // Over the grid (Accuracy Checker's): e^ln3 / (1 + 3 + 3 x (1 + 1)) = .3, x .9 = .27. Over the box: 3 / 4 x .9 = .675.
        var data = new float[28];
        float[] logits = { 0, 0, 0, 0, (float)Math.Log(9), 0, (float)Math.Log(3) };
        for (int k = 0; k < 7; k++)
            for (int cell = 0; cell < 4; cell++) data[k * 4 + cell] = cell == 0 ? logits[k] : k == 4 ? -20 : 0;
        foreach (var (softmax, score) in new[] { (YoloSoftmax.Image, 0.27), (YoloSoftmax.Box, 0.675) })
        {
            var d = Assert.Single(Decode(data, new long[] { 1, 7, 2, 2 }, V2Options(raw: true, softmax: softmax)));
            Assert.Equal((1, score, 0.0, -0.25, 0.5, 0.75), (d.Label, Math.Round(d.Score, 6), Math.Round(d.X1, 6), Math.Round(d.Y1, 6), Math.Round(d.X2, 6), Math.Round(d.Y2, 6)));
        }
    }

    [Fact]
    public void A_grid_of_another_shape_names_what_to_check()
    {
        var e = Assert.Throws<PotException>(() => Decode(Grid(false), new long[] { 1, 7, 2, 2 }, Options() with { Classes = 4 }, ImageGeometry.Of(8, 8)));
        Assert.Contains("not 1 anchors x (4 + objectness + 4 classes) per cell", e.Message);
    }

    [Fact]
    public void Open_Model_Zoos_yolo_v4_adapter_reads_as_its_grids()
    {
        using var tmp = DetectionEvaluationTests.OneImageCoco();
        File.WriteAllText(tmp.File("ac.yml"), """
            models:
              - name: yolo-v4
                launchers:
                  - framework: onnx_runtime
                    adapter:
                      type: yolo_v3
                      anchors: 12,16,19,36,40,28,36,75,76,55,72,146,142,110,192,243,459,401
                      num: 3
                      coords: 4
                      classes: 80
                      threshold: 0.001
                      anchor_masks: [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
                      raw_output: True
                      output_format: HWB
                      do_reshape: True
                      cells: [76, 38, 19]
                      outputs: [conv2d_93, conv2d_101, conv2d_109]
                datasets:
                  - name: coco
                    data_source: val
                    annotation_conversion: {converter: mscoco_detection, annotation_file: val/instances.json}
                    postprocessing:
                      - type: resize_prediction_boxes
                      - {type: diou_nms, overlap: 0.5}
                    metrics: [{type: map}]
            """);
        var adapter = EngineDefinition.Load(tmp.File("ac.yml")).Datasets.Single().Adapter;
        var g = adapter.Grid!;
        Assert.Equal((AdapterType.YoloV3, "conv2d_93"), (adapter.Type, adapter.Output));
        Assert.Equal(new[] { "conv2d_93", "conv2d_101", "conv2d_109" }, g.Outputs);
        Assert.Equal((80, 3, 0.001, true, true, true), (g.Classes, g.Num, g.Threshold, g.RawOutput, g.ChannelsLast, g.Reshape));
        Assert.Equal(new[] { 76, 38, 19 }, g.Cells);
        Assert.Equal(new[] { 6, 7, 8 }, g.AnchorMasks![2]);
        Assert.Equal(401, g.Anchors[17]);
        Assert.True(((NmsStep)adapter.Postprocessing.Single()).Diou);
    }

    [Fact]
    public void Open_Model_Zoos_yolo_v2_adapter_reads_with_the_softmax_over_the_grid()
    {
        using var tmp = DetectionEvaluationTests.OneImageCoco();
        string Config(string adapter) => $$"""
            models:
              - name: yolo-v2-tf
                launchers:
                  - framework: onnx_runtime
                    adapter:
            {{adapter}}
                datasets:
                  - name: coco
                    data_source: val
                    annotation_conversion: {converter: mscoco_detection, annotation_file: val/instances.json}
                    metrics: [{type: map}]
            """;
        File.WriteAllText(tmp.File("ac.yml"), Config("""
                      type: yolo_v2
                      anchors: "0.57273, 0.677385, 1.87446, 2.06253, 3.33843, 5.47434, 7.88282, 3.52778, 9.77052, 9.16828"
                      num: 5
                      coords: 4
                      classes: 80
                      cells: 19
                      raw_output: True
            """));
        var adapter = EngineDefinition.Load(tmp.File("ac.yml")).Datasets.Single().Adapter;
        var g = adapter.Grid!;
        Assert.Equal((AdapterType.YoloV2, null), (adapter.Type, adapter.Output));
        Assert.Equal((80, 5, 0.001, true, false, YoloSoftmax.Image, true), (g.Classes, g.Num, g.Threshold, g.RawOutput, g.ChannelsLast, g.Softmax, g.AnchorsInCells));
        Assert.Equal(new[] { 19 }, g.Cells);
        Assert.Equal(9.16828, g.Anchors[9]);
        // Accuracy Checker's defaults: yolo_v2's anchors, 20 classes, a 13x13 grid; softmax is ours, not its key.
        File.WriteAllText(tmp.File("ac.yml"), Config("                  type: yolo_v2"));
        g = EngineDefinition.Load(tmp.File("ac.yml")).Datasets.Single().Adapter.Grid!;
        Assert.Equal((20, 5, 13, 1.3221), (g.Classes, g.Num, g.Cells[0], g.Anchors[0]));
        // A key its adapter does not take is ignored by Accuracy Checker: read and ignored here, said.
        File.WriteAllText(tmp.File("ac.yml"), Config("                  {type: yolo_v2, softmax: box}"));
        var engine = EngineDefinition.Load(tmp.File("ac.yml"));
        Assert.Equal(YoloSoftmax.Image, engine.Datasets.Single().Adapter.Grid!.Softmax);
        Assert.Contains(engine.Warnings, w => w.Contains("adapter.softmax: read and ignored: the yolo_v2 adapter does not take it", StringComparison.Ordinal));
    }

    [Fact]
    public void An_engine_evaluates_a_model_whose_output_is_the_grid()
    {
        // A 14x2 grey image whose pixels (scaled by 1/255) are the grid [7, 2, 2] a Reshape passes on: only cell (0, 0)
        // has objectness, 230/255, with classes 51/255 and 204/255, at x = y = 102/255, w = h = 0. Its box: centre
        // (102/255 / 2, 102/255 / 2) = (.2, .2), size (e^0 x 2 / 14, e^0 x 4 / 2) of the 14x2 input, in its pixels
        // [(.2 - 1/14) x 14, (.2 - 1) x 2, (.2 + 1/14) x 14, (.2 + 1) x 2] = [1.8, -1.6, 3.8, 2.4].
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        var pixels = new byte[28];
        byte[] cell = { 102, 102, 0, 0, 230, 51, 204 };
        for (int k = 0; k < 7; k++) pixels[k * 4] = cell[k];
        PngFiles.Save(tmp.File("val/a.png"), 14, 2, 1, pixels);
        File.WriteAllText(tmp.File("val/instances.json"), """
            {"images": [{"id": 1, "file_name": "a.png", "width": 14, "height": 2}],
             "annotations": [{"image_id": 1, "category_id": 2, "bbox": [1.8, 0, 2, 2.4]}], "categories": [{"id": 1}, {"id": 2}]}
            """);
        File.WriteAllText(tmp.File("engine.yml"), DetectionEvaluationTests.GreyEngine("{type: yolo_v3, outputs: [output0], anchors: '2,4', num: 1, classes: 2, threshold: 0.5}", "{name: voc, type: map}"));
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        var r = evaluator.Run(DetectionEvaluationTests.ReshapeModel(7, 2, 2), new EvaluationRequest { KeepPredictions = true }, CancellationToken.None);
        var d = Assert.Single(Assert.IsAssignableFrom<IReadOnlyList<Detection>>(r.Predictions![0]));
        Assert.Equal(1, d.Label);
        Assert.Equal(230 / 255.0 * (204 / 255.0), d.Score, 6);
        Assert.Equal((1.8, -1.6, 3.8, 2.4), (Math.Round(d.X1, 5), Math.Round(d.Y1, 5), Math.Round(d.X2, 5), Math.Round(d.Y2, 5)));
    }
}
