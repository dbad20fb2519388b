using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.TestSupport;

/// <summary>
/// The segmentation case of the engine tests (xunit and Pester): a model that passes its input through, so the input
/// is the class scores [N, 3, 1, 4]; two items whose per-pixel argmax is <see cref="Predicted"/>; masks as .npy labels.
/// Its confusion matrix is counted by hand in tests/PotPowerShell.Core.Tests/Evaluation/SegmentationTests.cs.
/// </summary>
public static class SegmentationCase
{
    public static readonly int[][] Predicted = { new[] { 0, 1, 2, 2 }, new[] { 1, 1, 0, 0 } };

    /// <summary>Item 0: 0 1 1 2; item 1: 1 0 0 255 (255: Pascal VOC's "leave out").</summary>
    public static readonly long[] Masks = { 0, 1, 1, 2, 1, 0, 0, 255 };

    public static ModelProto PassThrough()
    {
        var b = new GraphBuilder("segmenter");
        b.Output(b.Node("Identity", new[] { b.Input("x", "N", 3, 1, 4) }, "scores"), TensorProto.Types.DataType.Float, "N", 3, 1, 4);
        return b.Build();
    }

    /// <summary>Writes segmenter.onnx, d/x.npy (the scores) and masks.npy (<paramref name="masks"/> or <see cref="Masks"/>) into <paramref name="folder"/>.</summary>
    public static void Write(string folder, long[]? masks = null, long[]? maskShape = null)
    {
        Directory.CreateDirectory(Path.Combine(folder, "d"));
        File.WriteAllBytes(Path.Combine(folder, "segmenter.onnx"), PassThrough().ToByteArray());
        var scores = new float[2 * 3 * 4];
        for (int item = 0; item < 2; item++)
            for (int p = 0; p < 4; p++) scores[item * 12 + Predicted[item][p] * 4 + p] = 1;
        NpyWriter.Save(Path.Combine(folder, "d", "x.npy"), scores, new long[] { 2, 3, 1, 4 }, "<f4");
        NpyWriter.Save(Path.Combine(folder, "masks.npy"), masks ?? Masks, maskShape ?? new long[] { 2, 1, 4 }, "<i8");
    }

    /// <summary>
    /// Writes segmenter.onnx and the two items as RGB images 4x1 whose channels are the class scores (images/street0_left.png,
    /// images/street1_left.png; scaled by 1/255 they are one-hot) with their masks (<see cref="Masks"/>) as palette PNGs
    /// 8x2, each pixel twice across and each row twice (masks/street0_labels.png, ...), so class maps are scored at the
    /// masks' size with the shares of the .npy case.
    /// </summary>
    public static void WriteImages(string folder)
    {
        Directory.CreateDirectory(Path.Combine(folder, "images"));
        Directory.CreateDirectory(Path.Combine(folder, "masks"));
        File.WriteAllBytes(Path.Combine(folder, "segmenter.onnx"), PassThrough().ToByteArray());
        for (int item = 0; item < 2; item++)
        {
            var rgb = new byte[4 * 3];
            for (int p = 0; p < 4; p++) rgb[3 * p + Predicted[item][p]] = 255;
            File.WriteAllBytes(Path.Combine(folder, "images", $"street{item}_left.png"), PngFiles.Rgb(4, 1, rgb));
            var mask = Enumerable.Range(0, 16).Select(i => (byte)Masks[item * 4 + i % 8 / 2]).ToArray();
            File.WriteAllBytes(Path.Combine(folder, "masks", $"street{item}_labels.png"), PngFiles.Palette(8, 2, mask, PngFiles.VocPalette()));
        }
    }
}
