using PotPowerShell.Core.Data;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Data;

/// <summary>Images decoded to one grey channel, as Accuracy Checker's bgr_to_gray computes it (OpenCV's cvtColor).</summary>
public class GreyImageTests
{
    [Fact]
    public void Colour_pixels_become_their_rounded_luma_and_grey_pixels_keep_their_values()
    {
        // 0.299 R + 0.587 G + 0.114 B, rounded: red 76.2 -> 76, green 149.7 -> 150, blue 29.1 -> 29,
        // (10, 200, 30) 123.8 -> 124. The decoder's own conversion truncated with weights 77/256, 150/256, 29/256:
        // 76, 149, 28, 123.
        var rgb = new byte[] { 255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 30 };
        foreach (var order in new[] { ColorOrder.Bgr, ColorOrder.Rgb })
            Assert.Equal(new float[] { 76, 150, 29, 124 }, ImagePipeline.Decode(PngFiles.Rgb(4, 1, rgb), 1, order, "rgb.png").Data);

        var values = Enumerable.Range(0, 256).Select(v => (byte)v).ToArray();
        Assert.Equal(values.Select(v => (float)v), ImagePipeline.Decode(PngFiles.Grey(256, 1, values), 1, ColorOrder.Bgr, "grey.png").Data);
    }
}
