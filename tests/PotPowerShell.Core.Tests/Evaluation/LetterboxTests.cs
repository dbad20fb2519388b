using Google.Protobuf;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.TestSupport;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// Predictions in model-input coordinates go back to the image through the preprocessing's resizes, crops and padding:
/// a letterboxed input (an aspect-keeping resize, then padding) is scored where its objects are in the image.
/// </summary>
public class LetterboxTests
{
    /// <summary>A 200x100 image resized to 64x32 (longer side 64, scale 0.32) and padded to 64x64 at the centre (16 rows above).</summary>
    private const string Letterbox = "[{type: resize, size: 64, aspect: longer_side}, {type: pad, size: 64}]";

    [Fact]
    public void The_geometry_of_resizes_crops_and_padding_maps_image_pixels_to_the_input()
    {
        var image = PngFiles.Rgb(200, 100, new byte[200 * 100 * 3]);
        var options = new ImageOptions(3, ColorOrder.Bgr, TensorLayout.Nchw, new PreprocessingStep[] { new ResizeStep(0, 0, 64, ResizeAspect.LongerSide, Interpolation.Bilinear), new PaddingStep(64, 64, 0, PadPosition.Center) });
        var (tensor, g) = ImagePipeline.ProcessWithGeometry(image, options, "a.png");
        Assert.Equal(new long[] { 1, 3, 64, 64 }, tensor.Shape);
        Assert.Equal((200, 100, 64, 64, 0.32, 0.32, 0.0, 16.0), (g.ImageWidth, g.ImageHeight, g.InputWidth, g.InputHeight, g.ScaleX, g.ScaleY, g.OffsetX, g.OffsetY));
        Assert.Equal((50, 25), (g.ImageX(16), g.ImageY(24)));

        // Resize to 100x50 (scale 0.5), then a centre crop of 60x40: 20 columns and 5 rows cut on the left and top.
        options = new ImageOptions(3, ColorOrder.Bgr, TensorLayout.Nchw, new PreprocessingStep[] { new ResizeStep(100, 50, 0, ResizeAspect.Stretch, Interpolation.Bilinear), new CenterCropStep(60, 40) });
        g = ImagePipeline.ProcessWithGeometry(image, options, "a.png").Geometry;
        Assert.Equal((60, 40, 0.5, 0.5, -20.0, -5.0), (g.InputWidth, g.InputHeight, g.ScaleX, g.ScaleY, g.OffsetX, g.OffsetY));
    }

    /// <summary>A model that ignores its image [N, 3, 64, 64] and always outputs <paramref name="values"/> (shape <paramref name="dims"/>, batch first).</summary>
    private static byte[] ConstantModel(float[] values, params long[] dims)
    {
        var g = new GraphBuilder("constant");
        var x = g.Input("image", "batch", 3L, 64L, 64L);
        var mean = g.Node("ReduceMean", new[] { x }, "mean", ("axes", new long[] { 1, 2, 3 }), ("keepdims", 1L));
        var flat = g.Node("Reshape", new[] { mean, g.Initializer("shape", Enumerable.Repeat(1L, dims.Length - 1).Prepend(-1L).ToArray(), dims.Length) }, "flat");
        var zero = g.Node("Mul", new[] { flat, g.Initializer("zero", new[] { 0f }, 1) }, "zero");
        g.Output(g.Node("Add", new[] { zero, g.Initializer("values", values, dims) }, "out"), DataType.Float, new object[] { "batch" }.Concat(dims.Skip(1).Cast<object>()).ToArray());
        return g.Build().ToByteArray();
    }

    [Fact]
    public void Boxes_of_a_letterboxed_input_go_back_to_the_image()
    {
        // The object [50, 25] to [150, 75] of the 200x100 image is [16, 24] to [48, 40] of the input: one YOLOv8
        // candidate (centre 32, 32, size 32 x 16, score 0.9).
        var model = ConstantModel(new[] { 32f, 32f, 32f, 16f, 0.9f }, 1, 5, 1);
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        PngFiles.Save(tmp.File("val/a.png"), 200, 100, 3, new byte[200 * 100 * 3]);
        File.WriteAllText(tmp.File("val/instances.json"), """
            {"images": [{"id": 1, "file_name": "a.png", "width": 200, "height": 100}],
             "annotations": [{"image_id": 1, "category_id": 3, "bbox": [50, 25, 100, 50]}],
             "categories": [{"id": 3, "name": "box"}]}
            """);
        File.WriteAllText(tmp.File("engine.yml"), $"""
            dataset: {"{"}data_source: val, annotation_file: val/instances.json, preprocessing: {Letterbox}{"}"}
            adapter: {"{"}type: yolo_v8, conf_threshold: 0.25{"}"}
            metrics: [{"{"}name: voc, type: map{"}"}]
            """);
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        var r = evaluator.Run(model, new EvaluationRequest { KeepPredictions = true }, CancellationToken.None);
        var d = Assert.Single(Assert.IsAssignableFrom<IReadOnlyList<Detection>>(r.Predictions![0]));
        Assert.Equal((50.0, 25.0, 150.0, 75.0), (Math.Round(d.X1, 9), Math.Round(d.Y1, 9), Math.Round(d.X2, 9), Math.Round(d.Y2, 9)));
        Assert.Equal(1.0, r.Values["voc"], 12);
    }

    [Fact]
    public void A_class_map_of_a_letterboxed_input_is_scored_at_its_masks_pixels()
    {
        // A 200x100 image whose left half is class 1 and right half class 0 (a palette mask of its size). The model's
        // class map is 8x8 for its 64x64 input (stride 8): the image is map rows 2 to 5 (input rows 16 to 48), where
        // columns 0 to 3 are class 1; the padding rows above and below say class 1 everywhere, so stretching the map
        // over the image would miscount a quarter of it.
        var scores = new float[2 * 8 * 8];
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++)
                scores[(y is >= 2 and <= 5 && x >= 4 ? 0 : 1) * 64 + y * 8 + x] = 1;
        var model = ConstantModel(scores, 1, 2, 8, 8);
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("images"));
        Directory.CreateDirectory(tmp.File("masks"));
        PngFiles.Save(tmp.File("images/a.png"), 200, 100, 3, new byte[200 * 100 * 3]);
        var mask = new byte[200 * 100];
        for (int p = 0; p < mask.Length; p++) mask[p] = (byte)(p % 200 < 100 ? 1 : 0);
        File.WriteAllBytes(tmp.File("masks/a.png"), PngFiles.Palette(200, 100, mask, PngFiles.VocPalette()));
        File.WriteAllText(tmp.File("engine.yml"), $"""
            dataset: {"{"}data_source: images, masks: masks, preprocessing: {Letterbox}{"}"}
            adapter: segmentation
            metrics: [{"{"}type: mean_iou{"}"}, {"{"}type: segmentation_accuracy{"}"}]
            """);
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        var r = evaluator.Evaluate(model, null, CancellationToken.None);
        Assert.Equal(1.0, r.Values["segmentation_accuracy"], 12);
        Assert.Equal(1.0, r.Values["mean_iou"], 12);
    }
}
