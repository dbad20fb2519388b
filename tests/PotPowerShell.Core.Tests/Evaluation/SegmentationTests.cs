using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Tests.Data;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>The segmentation adapter and the confusion-matrix metrics, against counts made by hand.</summary>
public class SegmentationTests
{
    // SegmentationCase: two items of 1x4 pixels and 3 classes; the model passes its input through, so the input is the
    // class scores.
    // Predicted (argmax):  item 0: 0 1 2 2    item 1: 1 1 0 0
    // Annotated:           item 0: 0 1 1 2    item 1: 1 0 0 255 (left out with ignore_label: 255)
    // Confusion (annotated row, predicted column): [0,0] 2, [0,1] 1, [1,1] 2, [1,2] 1, [2,2] 1; 7 pixels.
    private static byte[] PassThrough() => Google.Protobuf.MessageExtensions.ToByteArray(SegmentationCase.PassThrough());

    private static TempFolder Data(long[]? masks = null, long[]? maskShape = null)
    {
        var tmp = new TempFolder();
        SegmentationCase.Write(tmp.Path, masks, maskShape);
        return tmp;
    }

    private static EngineDefinition Engine(TempFolder tmp, string metrics, string adapter = "adapter: segmentation\n")
    {
        File.WriteAllText(tmp.File("engine.yml"), adapter + "metrics:\n" + metrics + "dataset:\n  data_source: d\n  labels: masks.npy\n");
        return EngineDefinition.Load(tmp.File("engine.yml"));
    }

    [Fact]
    public void The_four_metrics_match_the_confusion_matrix_counted_by_hand()
    {
        using var tmp = Data();
        var metrics = string.Concat(new[] { "segmentation_accuracy", "mean_iou", "mean_accuracy", "frequency_weighted_accuracy" }
            .Select(t => $"  - type: {t}\n    ignore_label: 255\n"));
        using var evaluator = new Evaluator(Engine(tmp, metrics));
        var r = evaluator.Evaluate(PassThrough(), null, CancellationToken.None);
        // Annotated pixels per class 3, 3, 1; predicted 2, 3, 2; found 2, 2, 1.
        Assert.Equal(5.0 / 7, r.Values["segmentation_accuracy"], 12);
        // IoU: 2 / (3 + 2 - 2), 2 / (3 + 3 - 2), 1 / (1 + 2 - 1).
        Assert.Equal((2.0 / 3 + 0.5 + 0.5) / 3, r.Values["mean_iou"], 12);
        Assert.Equal((2.0 / 3 + 2.0 / 3 + 1) / 3, r.Values["mean_accuracy"], 12);
        Assert.Equal(3.0 / 7 * 2 / 3 + 3.0 / 7 * 0.5 + 1.0 / 7 * 0.5, r.Values["frequency_weighted_accuracy"], 12);
        // Dataset-level: items have no value of their own.
        Assert.All(r.PerItem["mean_iou"], v => Assert.True(double.IsNaN(v)));
    }

    [Fact]
    public void With_reference_fp32_the_class_maps_are_compared_with_the_fp32_models_and_need_no_labels()
    {
        // The evaluated model (same output name) adds 1 to class 0's score: with one-hot scores every pixel then ties at
        // class 0 or wins it, so it predicts 0 everywhere. Against the pass-through model's maps (0 1 2 2 and 1 1 0 0;
        // classes 3, 3, 2 pixels): the 3 pixels of class 0 are right, IoU 3 / 8, the others 0.
        using var tmp = Data();
        File.Delete(tmp.File("masks.npy"));
        File.WriteAllText(tmp.File("engine.yml"), "adapter: segmentation\nmetrics:\n  - type: mean_iou\n    reference: fp32\n  - type: segmentation_accuracy\n    reference: fp32\ndataset:\n  data_source: d\n");
        var b = new GraphBuilder("biased");
        var biased = b.Node("Add", new[] { b.Input("x", "N", 3, 1, 4), b.Initializer("bias", new[] { 1f, 0, 0 }, 1, 3, 1, 1) }, "scores");
        b.Output(biased, global::Onnx.TensorProto.Types.DataType.Float, "N", 3, 1, 4);
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")), new EvaluatorOptions { ReferenceModel = PassThrough() });
        var r = evaluator.Evaluate(Google.Protobuf.MessageExtensions.ToByteArray(b.Build()), null, CancellationToken.None);
        Assert.Equal(3.0 / 8 / 3, r.Values["mean_iou"], 12);
        Assert.Equal(3.0 / 8, r.Values["segmentation_accuracy"], 12);
        Assert.Equal(1.0, evaluator.Evaluate(PassThrough(), null, CancellationToken.None).Values["mean_iou"], 12);
        // The FP32 class maps are kept, not the class scores of every pixel they came from (a 21-class model at 512 x 512
        // held 22 MB per item).
        Assert.Empty(evaluator.ReferenceRows);
    }

    [Fact]
    public void A_class_map_output_is_read_as_it_is_and_the_adapter_is_the_default_for_segmentation_metrics()
    {
        // The model's own class map [N, 1, 4] (float class indices), no adapter named: the metrics select segmentation.
        using var tmp = Data();
        var maps = SegmentationCase.Predicted.SelectMany(p => p).Select(c => (float)c).ToArray();
        NpyWriter.Save(tmp.File("d/x.npy"), maps, new long[] { 2, 1, 4 }, "<f4");
        var b = new GraphBuilder("mapper");
        b.Output(b.Node("Identity", new[] { b.Input("x", "N", 1, 4) }, "map"), global::Onnx.TensorProto.Types.DataType.Float, "N", 1, 4);
        using var evaluator = new Evaluator(Engine(tmp, "  - type: segmentation_accuracy\n    ignore_label: 255\n", adapter: ""));
        var r = evaluator.Evaluate(Google.Protobuf.MessageExtensions.ToByteArray(b.Build()), null, CancellationToken.None);
        Assert.Equal(5.0 / 7, r.Values["segmentation_accuracy"], 12);

        // use_argmax: false (Accuracy Checker's, as Open Model Zoo's deeplabv3 gives it) says just that: the same value.
        using var mapped = new Evaluator(Engine(tmp, "  - type: segmentation_accuracy\n    ignore_label: 255\n    use_argmax: false\n", adapter: ""));
        Assert.Equal(5.0 / 7, mapped.Evaluate(Google.Protobuf.MessageExtensions.ToByteArray(b.Build()), null, CancellationToken.None).Values["segmentation_accuracy"], 12);
    }

    [Fact]
    public void Use_argmax_false_on_a_model_that_outputs_class_scores_is_an_error_that_says_so()
    {
        using var tmp = Data();
        using var evaluator = new Evaluator(Engine(tmp, "  - type: mean_iou\n    use_argmax: false\n"));
        var e = Assert.Throws<PotException>(() => evaluator.Evaluate(PassThrough(), null, CancellationToken.None));
        Assert.Equal("SegmentationOutputShape", e.ErrorId);
        Assert.Contains("holds 3 class scores per pixel. Remove use_argmax: false", e.Message);
    }

    [Fact]
    public void Ignore_label_leaves_out_the_pixels_annotated_or_predicted_with_it()
    {
        // Item 1's last pixel annotated 2 instead of 255, and class 0 ignored: of the pairs (annotated, predicted)
        // (0,0) (1,1) (1,2) (2,2) and (1,1) (0,1) (0,0) (2,0), those with a 0 on either side go; 3 of the 4 left are right.
        using var tmp = Data(new long[] { 0, 1, 1, 2, 1, 0, 0, 2 });
        using var evaluator = new Evaluator(Engine(tmp, "  - type: segmentation_accuracy\n    ignore_label: 0\n"));
        Assert.Equal(0.75, evaluator.Evaluate(PassThrough(), null, CancellationToken.None).Values["segmentation_accuracy"], 12);
    }

    [Fact]
    public void Without_ignore_label_a_mask_value_that_is_no_class_is_an_error_that_says_so()
    {
        using var tmp = Data();
        using var evaluator = new Evaluator(Engine(tmp, "  - type: mean_iou\n"));
        var e = Assert.Throws<PotException>(() => evaluator.Evaluate(PassThrough(), null, CancellationToken.None));
        Assert.Equal("AnnotationNotMask", e.ErrorId);
        Assert.Contains("mask value 255", e.Message);
        Assert.Contains("ignore_label", e.Message);
    }

    [Fact]
    public void A_mask_of_another_size_is_scored_at_its_size_from_the_nearest_pixels_of_the_class_map()
    {
        // Masks 1x3 against class maps 1x4: pixel x takes the class at (x + 0.5) * 4 / 3, columns 0, 2 and 3, so the
        // maps 0 1 2 2 and 1 1 0 0 become 0 2 2 and 1 0 0. Against the masks 0 1 1 and 0 0 1: 2 of 6 pixels right; IoU
        // of class 0 2 / (3 + 3 - 2), of class 1 0 (3 annotated, 1 predicted), of class 2 0 (2 predicted).
        using var tmp = Data(new long[] { 0, 1, 1, 0, 0, 1 }, new long[] { 2, 1, 3 });
        using var evaluator = new Evaluator(Engine(tmp, "  - type: mean_iou\n  - type: segmentation_accuracy\n"));
        var r = evaluator.Evaluate(PassThrough(), null, CancellationToken.None);
        Assert.Equal(1.0 / 3, r.Values["segmentation_accuracy"], 12);
        Assert.Equal(0.5 / 3, r.Values["mean_iou"], 12);
    }

    [Fact]
    public void A_mask_that_is_not_two_dimensional_is_an_error_that_says_what_a_mask_is()
    {
        using var tmp = Data(Enumerable.Repeat(0L, 24).ToArray(), new long[] { 2, 2, 2, 3 });
        using var evaluator = new Evaluator(Engine(tmp, "  - type: mean_iou\n"));
        var e = Assert.Throws<PotException>(() => evaluator.Evaluate(PassThrough(), null, CancellationToken.None));
        Assert.Equal("AnnotationNotMask", e.ErrorId);
        Assert.Contains("a mask [H, W] of class indices", e.Message);
    }

    [Theory]
    [InlineData("adapter: classification\n", "  - type: mean_iou\n", "use adapter type segmentation")]
    public void Engines_that_cannot_compare_class_maps_are_refused_at_reading(string adapter, string metrics, string expected)
    {
        using var tmp = Data();
        var e = Assert.Throws<PotException>(() => Engine(tmp, metrics, adapter));
        Assert.Contains(expected, e.Message);
    }
}
