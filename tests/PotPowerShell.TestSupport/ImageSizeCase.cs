using Google.Protobuf;
using PotPowerShell.Core.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.TestSupport;

/// <summary>
/// A detector fed the image's size beside the image, as ONNX Model Zoo's YOLOv3 is (tests of other_inputs and the
/// yolo_v3_onnx adapter): input_1 [N, 3, 16, 16] through two convolutions (seeded weights) to 64 boxes per image, their
/// corners fractions of the image scaled by image_shape [N, 2] (height, width) into its pixels, scores [N, 1, 64], and
/// the boxes its NonMaxSuppression keeps, indices [M, 3].
/// </summary>
public static class ImageSizeCase
{
    public static byte[] Model()
    {
        var random = new Random(11);
        float[] Weights(int n, double scale) => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
        var g = new GraphBuilder("image_size_detector", 13);
        var image = g.Input("input_1", "batch", 3L, 16L, 16L);
        var size = g.Input("image_shape", "batch", 2L);
        var c1 = g.Node("Relu", new[] { g.Node("Conv", new[] { image, g.Initializer("w1", Weights(8 * 3 * 9, 0.5), 8, 3, 3, 3), g.Initializer("b1", Weights(8, 0.1), 8) }, "conv1",
            ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { 2, 2 }), ("pads", new long[] { 1, 1, 1, 1 })) }, "relu1");
        var c2 = g.Node("Conv", new[] { c1, g.Initializer("w2", Weights(5 * 8, 0.8), 5, 8, 1, 1), g.Initializer("b2", Weights(5, 0.2), 5) }, "conv2", ("kernel_shape", new long[] { 1, 1 }));
        var flat = g.Node("Sigmoid", new[] { g.Node("Reshape", new[] { c2, g.Initializer("flat_shape", new long[] { 0, 5, 64 }, 3) }, "flat") }, "squashed");
        var parts = g.NodeMulti("Split", new[] { flat, g.Initializer("split", new long[] { 4, 1 }, 2) }, 2, "split", ("axis", 1L));
        // Corners y1, x1 in [0, .5] and y2, x2 in [.5, 1] of the image, then times (height, width, height, width).
        var unit = g.Node("Transpose", new[] { parts[0] }, "corners", ("perm", new long[] { 0, 2, 1 }));
        var fractions = g.Node("Add", new[] { g.Node("Mul", new[] { unit, g.Initializer("half", new[] { 0.5f, 0.5f, 0.5f, 0.5f }, 4) }, "halves"), g.Initializer("shift", new[] { 0f, 0f, 0.5f, 0.5f }, 4) }, "fractions");
        var scale = g.Node("Unsqueeze", new[] { g.Node("Concat", new[] { size, size }, "sizes", ("axis", 1L)), g.Initializer("axis1", new long[] { 1 }, 1) }, "scale");
        var boxes = g.Node("Mul", new[] { fractions, scale }, "boxes");
        var indices = g.Node("NonMaxSuppression", new[] { boxes, parts[1], g.Initializer("max", new long[] { 5 }, 1), g.Initializer("iou", new[] { 0.5f }, 1), g.Initializer("threshold", new[] { 0.2f }, 1) }, "indices");
        g.Output(boxes, DataType.Float, "batch", 64L, 4L);
        g.Output(parts[1], DataType.Float, "batch", 1L, 64L);
        g.Output(indices, DataType.Int64, "selected", 3L);
        return g.Build().ToByteArray();
    }

    /// <summary>
    /// Writes detector.onnx, 16 images of 24x12 in val/ (seeded noise), engine.yml (map against the FP32 model's
    /// detections; other_inputs: the image's size) and pot.yml (AccuracyAwareQuantization of the detector on it).
    /// </summary>
    public static void Write(string folder)
    {
        Directory.CreateDirectory(Path.Combine(folder, "val"));
        var model = Model();
        File.WriteAllBytes(Path.Combine(folder, "detector.onnx"), model);
        var g = global::Onnx.ModelProto.Parser.ParseFrom(model).Graph;
        string Output(int i) => g.Output[i].Name;
        var random = new Random(12);
        for (int i = 0; i < 16; i++)
        {
            var pixels = new byte[24 * 12 * 3];
            random.NextBytes(pixels);
            PngFiles.Save(Path.Combine(folder, "val", $"{i:D2}.png"), 24, 12, 3, pixels);
        }
        File.WriteAllText(Path.Combine(folder, "engine.yml"), $$"""
            dataset:
              data_source: val
              other_inputs: {image_shape: image_size}
              preprocessing: [{type: resize, size: 16}, {type: scale, value: 0.00392156862745098}]
            adapter: {type: yolo_v3_onnx, output: {{Output(0)}}, scores: {{Output(1)}}, indices: {{Output(2)}}}
            metrics: [{name: map, type: map, reference: fp32, reference_confidence: 0.2}]
            """);
        File.WriteAllText(Path.Combine(folder, "pot.yml"), """
            model: {model_name: detector, model: detector.onnx}
            engine: {config: engine.yml}
            compression:
              algorithms:
                - name: AccuracyAwareQuantization
                  params: {preset: performance, stat_subset_size: 16, maximal_drop: 0.5}
            """);
    }
}
