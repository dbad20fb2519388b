using Google.Protobuf;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// yolo_v3_onnx, detr and other_inputs: detections a model selected itself with NonMaxSuppression from the image's size it
/// was fed (ONNX Model Zoo's YOLOv3), and DETR's queries, read as Accuracy Checker's yolo_v3_onnx and detr read them;
/// golden values from their definitions.
/// </summary>
public class YoloV3OnnxTests
{
    private static readonly AdapterDefinition Definition = new(AdapterType.YoloV3Onnx, "boxes") { ScoresOutput = "scores", IndicesOutput = "indices" };

    /// <summary>
    /// A batch of two images, two boxes (y1, x1, y2, x2) and two classes each; indices [M, 3] shared by the batch:
    /// image 1's box 0 as class 1, image 0's box 1 as class 0, then a row of -1 that ends them and one after it.
    /// </summary>
    private static BatchOutputs Outputs()
    {
        var outputs = new BatchOutputs(new[] { "boxes", "scores", "indices" }) { Rows = 2, Items = 2 };
        outputs.Data[0] = new float[] { 0, 1, 2, 3, 10, 20, 30, 40, /* image 1 */ 5, 6, 7, 8, 1, 1, 2, 2 };
        outputs.SetShape(0, new long[] { 2, 2, 4 });
        outputs.Data[1] = new float[] { 0.1f, 0.9f, 0.3f, 0.4f, /* image 1 */ 0.2f, 0.5f, 0.7f, 0.6f };
        outputs.SetShape(1, new long[] { 2, 2, 2 });
        outputs.Data[2] = new float[] { 1, 1, 0, 0, 0, 1, -1, -1, -1, 0, 1, 1 };
        outputs.SetShape(2, new long[] { 4, 3 });
        return outputs;
    }

    private static List<Detection> Predict(BatchOutputs outputs, int row, DetectionAnnotation? annotation = null)
    {
        var adapter = Adapter.Create(Definition);
        adapter.Bind(outputs.Names, null, new HashSet<string>());
        adapter.Resolve(outputs);
        return (List<Detection>)adapter.Predict(outputs, row, annotation)!;
    }

    [Fact]
    public void Each_selected_row_of_its_image_is_a_detection_of_its_class()
    {
        // Image 0: box 1 [y1 10, x1 20, y2 30, x2 40] as class 0, scored scores[0, 1] = .9. Image 1: box 0 [5, 6, 7, 8]
        // as class 1, scored scores[1, 0] = .7. The row after -1 (image 1, class 1, box 1) is not read.
        Assert.Equal(new[] { (0, 0.9, 20.0, 10.0, 40.0, 30.0) }, Predict(Outputs(), 0).Select(Tuple));
        Assert.Equal(new[] { (1, 0.7, 6.0, 5.0, 8.0, 7.0) }, Predict(Outputs(), 1).Select(Tuple));
        // Boxes are the image's pixels: only the annotation's own size, here twice the decoded one, scales them.
        var geometry = ImageGeometry.Of(100, 50).Resized(416, 416);
        var annotation = new DetectionAnnotation(Array.Empty<DetectionBox>(), 200, 100) { Geometry = geometry };
        Assert.Equal(new[] { (0, 0.9, 40.0, 20.0, 80.0, 60.0) }, Predict(Outputs(), 0, annotation).Select(Tuple));
    }

    [Fact]
    public void Detr_makes_every_query_a_detection_of_its_best_class_but_no_object()
    {
        // Two queries over two classes and no object. Logits ln 3, 0, 0: softmax 3/5, 1/5, 1/5, class 0 at .6, box
        // centred (.5, .5), .2 x .4: [.4, .3, .6, .7]. Logits 0, 0, ln 8: 1/10, 1/10, 8/10; no object is left out, class 0
        // (the first of equals) at .1, centred (.25, .25), .5 x .5: [0, 0, .5, .5].
        var outputs = new BatchOutputs(new[] { "boxes", "logits" }) { Rows = 1, Items = 1 };
        outputs.Data[0] = new[] { 0.5f, 0.5f, 0.2f, 0.4f, 0.25f, 0.25f, 0.5f, 0.5f };
        outputs.SetShape(0, new long[] { 1, 2, 4 });
        outputs.Data[1] = new[] { (float)Math.Log(3), 0, 0, 0, 0, (float)Math.Log(8) };
        outputs.SetShape(1, new long[] { 1, 2, 3 });
        var adapter = Adapter.Create(new AdapterDefinition(AdapterType.Detr, "boxes") { ScoresOutput = "logits" });
        adapter.Bind(outputs.Names, null, new HashSet<string>());
        adapter.Resolve(outputs);
        Assert.Equal(new[] { (0, 0.6, 0.4, 0.3, 0.6, 0.7), (0, 0.1, 0.0, 0.0, 0.5, 0.5) }, ((List<Detection>)adapter.Predict(outputs, 0, null)!).Select(Tuple));
    }

    [Fact]
    public void A_selected_box_beyond_the_outputs_names_them()
    {
        var outputs = Outputs();
        outputs.Data[2][2] = 7;
        Assert.Contains("selects class 1 and box 7, but the model gives 2 classes and 2 boxes", Assert.Throws<PotException>(() => Predict(outputs, 1)).Message);
    }

    private static (int, double, double, double, double, double) Tuple(Detection d) =>
        (d.Label, Math.Round(d.Score, 6), Math.Round(d.X1, 6), Math.Round(d.Y1, 6), Math.Round(d.X2, 6), Math.Round(d.Y2, 6));

    [Fact]
    public void Other_inputs_feed_the_images_size_and_constants_beside_it()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        File.WriteAllBytes(tmp.File("val/a.png"), PngFiles.Rgb(3, 2, new byte[18]));
        File.WriteAllText(tmp.File("engine.yml"), """
            dataset:
              data_source: val
              input: input_1
              preprocessing: [{type: resize, size: 4}]
              other_inputs: {image_shape: image_size, image_info: [[600, 600, 1]]}
            adapter: identity
            metrics: [{type: cosine_similarity, reference: fp32}]
            """);
        using var data = EngineDefinition.Load(tmp.File("engine.yml")).OpenDataset();
        Assert.Equal(new[] { "input_1", "image_shape", "image_info" }, data.InputNames);
        var item = data.Get(0).Inputs;
        Assert.Equal(new long[] { 1, 3, 4, 4 }, item["input_1"].Shape);
        // The image as decoded, 3 wide and 2 high: [height, width].
        Assert.Equal(new long[] { 1, 2 }, item["image_shape"].Shape);
        Assert.Equal(new float[] { 2, 3 }, item["image_shape"].ToFloats());
        Assert.Equal(new long[] { 1, 1, 3 }, item["image_info"].Shape);
        Assert.Equal(new float[] { 600, 600, 1 }, item["image_info"].ToFloats());
    }

    [Theory]
    [InlineData("{input_1: image_size}", "other_inputs.input_1", "is the input the image feeds")]
    [InlineData("{image_shape: size}", "other_inputs.image_shape", "must be image_size")]
    [InlineData("{image_info: [[1, 2], [3]]}", "other_inputs.image_info", "must be image_size")]
    [InlineData("[image_size]", "other_inputs", "must map model input names")]
    public void Other_inputs_are_checked(string value, string key, string message)
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        File.WriteAllBytes(tmp.File("val/a.png"), PngFiles.Rgb(1, 1, new byte[3]));
        File.WriteAllText(tmp.File("engine.yml"), $"dataset:\n  data_source: val\n  input: input_1\n  other_inputs: {value}\nadapter: identity\nmetrics: [{{type: cosine_similarity, reference: fp32}}]\n");
        var e = Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("engine.yml")));
        Assert.Contains($"dataset.{key} (line 4): {message}", e.Message);
    }

    [Fact]
    public void Open_Model_Zoos_yolo_v3_onnx_configuration_feeds_the_images_size()
    {
        using var tmp = DetectionEvaluationTests.OneImageCoco();
        File.WriteAllText(tmp.File("ac.yml"), """
            models:
              - name: yolo-v3-onnx
                launchers:
                  - framework: onnx_runtime
                    model: yolov3-10.onnx
                    adapter:
                      type: yolo_v3_onnx
                      boxes_out: yolonms_layer_1/ExpandDims_1:0
                      scores_out: yolonms_layer_1/ExpandDims_3:0
                      indices_out: yolonms_layer_1/concat_2:0
                    inputs:
                      - name: image_shape
                        type: ORIG_IMAGE_INFO
                      - {name: scale, type: CONST_INPUT, value: [1.5]}
                datasets:
                  - name: coco
                    data_source: val
                    annotation_conversion: {converter: mscoco_detection, annotation_file: val/instances.json}
                    metrics: [{type: map}]
            """);
        var engine = EngineDefinition.Load(tmp.File("ac.yml"));
        var adapter = engine.Datasets.Single().Adapter;
        Assert.Equal((AdapterType.YoloV3Onnx, "yolonms_layer_1/ExpandDims_1:0", "yolonms_layer_1/ExpandDims_3:0", "yolonms_layer_1/concat_2:0"),
            (adapter.Type, adapter.Output, adapter.ScoresOutput, adapter.IndicesOutput));
        // Accuracy Checker's detr: boxes_out and scores_out, both required.
        File.WriteAllText(tmp.File("detr.yml"), File.ReadAllText(tmp.File("ac.yml")).Replace("type: yolo_v3_onnx", "type: detr")
            .Replace("boxes_out: yolonms_layer_1/ExpandDims_1:0", "boxes_out: boxes").Replace("scores_out: yolonms_layer_1/ExpandDims_3:0", "scores_out: scores")
            .Split('\n').Where(line => !line.Contains("indices_out", StringComparison.Ordinal)).Aggregate((x, y) => x + "\n" + y));
        var detr = EngineDefinition.Load(tmp.File("detr.yml")).Datasets.Single().Adapter;
        Assert.Equal((AdapterType.Detr, "boxes", "scores"), (detr.Type, detr.Output, detr.ScoresOutput));
        var others = engine.Datasets.Single().Image!.OtherInputs;
        Assert.Equal(new[] { "image_shape", "scale" }, others.Select(o => o.Name));
        Assert.Null(others[0].Constant);
        Assert.Equal(new float[] { 1.5f }, others[1].Constant!.ToFloats());
    }

    [Fact]
    public void An_engine_feeds_the_images_size_to_a_model_whose_selected_box_is_the_whole_image()
    {
        // The model's one box per image is [0, 0, height, width] of the image_shape it is fed, scored 1; the image input
        // is named by no array and fed the image (the one array left). A 3x2 image annotated whole: map 1.
        var g = new GraphBuilder("whole_image");
        var image = g.Input("input_1", "batch", 1L, 2L, 3L);
        var size = g.Input("image_shape", "batch", 2L);
        var corners = g.Node("Concat", new[] { g.Node("Mul", new[] { size, g.Initializer("zero", new[] { 0f }, 1) }, "origin"), size }, "corners", ("axis", 1L));
        var boxes = g.Node("Reshape", new[] { corners, g.Initializer("box_shape", new long[] { -1, 1, 4 }, 3) }, "boxes");
        var one = g.Node("Add", new[] { g.Node("ReduceSum", new[] { g.Node("Mul", new[] { image, g.Initializer("zero_image", new[] { 0f }, 1) }, "zeros"), g.Initializer("axes", new long[] { 1, 2, 3 }, 3) }, "sum"), g.Initializer("one", new[] { 1f }, 1) }, "ones");
        var scores = g.Node("Reshape", new[] { one, g.Initializer("score_shape", new long[] { -1, 1, 1 }, 3) }, "scores");
        var indices = g.Node("NonMaxSuppression", new[] { boxes, scores, g.Initializer("max", new long[] { 1 }, 1) }, "indices");
        g.Output(boxes, DataType.Float, "batch", 1L, 4L);
        g.Output(scores, DataType.Float, "batch", 1L, 1L);
        g.Output(indices, DataType.Int64, "selected", 3L);
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        PngFiles.Save(tmp.File("val/a.png"), 3, 2, 1, new byte[6]);
        File.WriteAllText(tmp.File("val/instances.json"), """
            {"images": [{"id": 1, "file_name": "a.png", "width": 3, "height": 2}],
             "annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 3, 2]}], "categories": [{"id": 1}]}
            """);
        File.WriteAllText(tmp.File("engine.yml"), """
            dataset: {data_source: val, annotation_file: val/instances.json, channels: 1, other_inputs: {image_shape: image_size}}
            adapter: {type: yolo_v3_onnx, output: boxes, scores: scores, indices: indices}
            metrics: [{type: map, include_boundaries: false}]
            """.Replace("boxes,", boxes + ",").Replace("scores: scores", "scores: " + scores).Replace("indices: indices", "indices: " + indices));
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        var r = evaluator.Run(g.Build().ToByteArray(), new EvaluationRequest { KeepPredictions = true }, CancellationToken.None);
        Assert.Equal(new[] { (0, 1.0, 0.0, 0.0, 3.0, 2.0) }, Assert.IsAssignableFrom<IReadOnlyList<Detection>>(r.Predictions![0]).Select(Tuple));
        Assert.Equal(1.0, r.Values["map"], 12);
    }
}
