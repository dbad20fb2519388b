using Google.Protobuf;
using PotPowerShell.Core.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.TestSupport;

/// <summary>
/// The letterbox case of the engine tests (xunit and Pester): a 200x100 image resized to 64x32 (longer side 64) and
/// padded to 64x64 at the centre (16 rows above), and a model that ignores its image and always outputs the same
/// prediction in input coordinates, so that where it lands in the image depends only on the mapping back.
/// </summary>
public static class LetterboxCase
{
    /// <summary>The letterbox as engine preprocessing.</summary>
    public const string Preprocessing = "[{type: resize, size: 64, aspect: longer_side}, {type: pad, size: 64}]";

    /// <summary>A model [N, 3, 64, 64] -> <paramref name="values"/> (shape <paramref name="dims"/>, batch first), whatever the image.</summary>
    public static byte[] ConstantModel(float[] values, params long[] dims)
    {
        var g = new GraphBuilder("constant");
        var x = g.Input("image", "batch", 3L, 64L, 64L);
        var mean = g.Node("ReduceMean", new[] { x }, "mean", ("axes", new long[] { 1, 2, 3 }), ("keepdims", 1L));
        var flat = g.Node("Reshape", new[] { mean, g.Initializer("shape", Enumerable.Repeat(1L, dims.Length - 1).Prepend(-1L).ToArray(), dims.Length) }, "flat");
        var zero = g.Node("Mul", new[] { flat, g.Initializer("zero", new[] { 0f }, 1) }, "zero");
        g.Output(g.Node("Add", new[] { zero, g.Initializer("values", values, dims) }, "out"), DataType.Float, new object[] { "batch" }.Concat(dims.Skip(1).Cast<object>()).ToArray());
        return g.Build().ToByteArray();
    }

    /// <summary>
    /// Writes detector.onnx (one YOLOv8 candidate: centre 32, 32, size 32 x 16, score 0.9 in input pixels, which is
    /// [50, 25] to [150, 75] of the image), val/a.png, val/instances.json (that object) and engine.yml (map) into
    /// <paramref name="folder"/>.
    /// </summary>
    public static void WriteDetection(string folder)
    {
        Directory.CreateDirectory(Path.Combine(folder, "val"));
        File.WriteAllBytes(Path.Combine(folder, "detector.onnx"), ConstantModel(new[] { 32f, 32f, 32f, 16f, 0.9f }, 1, 5, 1));
        PngFiles.Save(Path.Combine(folder, "val", "a.png"), 200, 100, 3, new byte[200 * 100 * 3]);
        File.WriteAllText(Path.Combine(folder, "val", "instances.json"), """
            {"images": [{"id": 1, "file_name": "a.png", "width": 200, "height": 100}],
             "annotations": [{"image_id": 1, "category_id": 3, "bbox": [50, 25, 100, 50]}],
             "categories": [{"id": 3, "name": "box"}]}
            """);
        File.WriteAllText(Path.Combine(folder, "engine.yml"), $$"""
            dataset: {data_source: val, annotation_file: val/instances.json, preprocessing: {{Preprocessing}}}
            adapter: {type: yolo_v8, conf_threshold: 0.25}
            metrics: [{name: voc, type: map}]
            """);
    }
}
