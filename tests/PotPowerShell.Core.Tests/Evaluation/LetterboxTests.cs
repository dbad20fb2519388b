using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// Predictions in model-input coordinates go back to the image through the preprocessing's resizes, crops and padding:
/// a letterboxed input (an aspect-keeping resize, then padding) is scored where its objects are in the image.
/// </summary>
public class LetterboxTests
{
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

        // A crop of 61x43 leaves 39 columns and 7 rows: rounded down 19 and 3 are cut, half to even round(19.5) = 20 and round(3.5) = 4.
        foreach (var (rounding, x, y) in new[] { (CropRounding.Down, -19.0, -3.0), (CropRounding.HalfEven, -20.0, -4.0) })
        {
            options = options with { Steps = new PreprocessingStep[] { new ResizeStep(100, 50, 0, ResizeAspect.Stretch, Interpolation.Bilinear), new CenterCropStep(61, 43) { Rounding = rounding } } };
            g = ImagePipeline.ProcessWithGeometry(image, options, "a.png").Geometry;
            Assert.Equal((x, y), (g.OffsetX, g.OffsetY));
        }
    }

    [Fact]
    public void Boxes_of_a_letterboxed_input_go_back_to_the_image()
    {
        // The object [50, 25] to [150, 75] of the 200x100 image is [16, 24] to [48, 40] of the input (scale 0.32, 16 rows
        // of padding above): the one candidate the model outputs.
        using var tmp = new TempFolder();
        LetterboxCase.WriteDetection(tmp.Path);
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        var r = evaluator.Run(File.ReadAllBytes(tmp.File("detector.onnx")), new EvaluationRequest { KeepPredictions = true }, CancellationToken.None);
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
        var values = Score(scores, 200, 100, p => p % 200 < 100 ? 1 : 0, LetterboxCase.Preprocessing);
        Assert.Equal(1.0, values["segmentation_accuracy"], 12);
        Assert.Equal(1.0, values["mean_iou"], 12);
    }

    [Fact]
    public void Pixels_a_crop_took_out_of_the_input_are_left_out_of_the_segmentation_metrics()
    {
        // A 128x64 image cropped to its central 64x64 (32 columns cut on each side); the model calls every pixel it sees
        // class 1, which the mask's central columns are. The outer columns are class 0: counted, they would halve the accuracy.
        var scores = new float[2 * 8 * 8];
        for (int p = 0; p < 64; p++) scores[64 + p] = 1;
        Assert.Equal(1.0, Score(scores, 128, 64, p => p % 128 is >= 32 and < 96 ? 1 : 0, "[{type: center_crop, size: 64}]")["segmentation_accuracy"], 12);
    }

    /// <summary>
    /// Mean IoU and pixel accuracy of a model whose class scores [2, 8, 8] are <paramref name="scores"/> whatever its
    /// 64x64 input, on one black <paramref name="width"/> x <paramref name="height"/> image with a palette mask of its
    /// size (<paramref name="classOf"/> each pixel), through <paramref name="preprocessing"/>.
    /// </summary>
    private static IReadOnlyDictionary<string, double> Score(float[] scores, int width, int height, Func<int, int> classOf, string preprocessing)
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("images"));
        Directory.CreateDirectory(tmp.File("masks"));
        PngFiles.Save(tmp.File("images/a.png"), width, height, 3, new byte[width * height * 3]);
        var mask = Enumerable.Range(0, width * height).Select(p => (byte)classOf(p)).ToArray();
        File.WriteAllBytes(tmp.File("masks/a.png"), PngFiles.Palette(width, height, mask, PngFiles.VocPalette()));
        File.WriteAllText(tmp.File("engine.yml"), $$"""
            dataset: {data_source: images, masks: masks, preprocessing: {{preprocessing}}}
            adapter: segmentation
            metrics: [{type: mean_iou}, {type: segmentation_accuracy}]
            """);
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        return evaluator.Evaluate(LetterboxCase.ConstantModel(scores, 1, 2, 8, 8), null, CancellationToken.None).Values;
    }
}
