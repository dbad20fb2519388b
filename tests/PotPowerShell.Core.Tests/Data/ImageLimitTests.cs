using System.Buffers.Binary;
using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Tests.Data;

/// <summary>An image whose header declares more pixels than <see cref="ImagePipeline.MaxPixels"/> is refused before decoding.</summary>
public class ImageLimitTests
{
    /// <summary>A PNG of a signature, an IHDR declaring <paramref name="width"/> x <paramref name="height"/> RGB, and IEND: 45 bytes, no pixels.</summary>
    private static byte[] PngHeader(int width, int height)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // RGB
        static byte[] Chunk(string type, byte[] data)
        {
            var chunk = new byte[12 + data.Length];
            BinaryPrimitives.WriteInt32BigEndian(chunk, data.Length);
            System.Text.Encoding.ASCII.GetBytes(type).CopyTo(chunk, 4);
            data.CopyTo(chunk, 8);
            return chunk; // the CRC is left zero: the header is read without it
        }
        return new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10 }.Concat(Chunk("IHDR", ihdr)).Concat(Chunk("IEND", Array.Empty<byte>())).ToArray();
    }

    [Fact]
    public void A_small_file_that_declares_a_huge_image_is_refused_by_its_header()
    {
        var e = Assert.Throws<PotException>(() => ImagePipeline.Decode(PngHeader(20_000, 10_000), 3, ColorOrder.Bgr, "huge.png"));
        Assert.Equal("ImageTooLarge", e.ErrorId);
        Assert.Equal("The image 'huge.png' declares 20000 x 10000 pixels, more than 134,217,728. Resize it first: models take far smaller inputs.", e.Message);
        // At the limit the header passes, and the missing pixels make it unreadable, not too large.
        Assert.Equal("ImageUnreadable", Assert.Throws<PotException>(() => ImagePipeline.Decode(PngHeader(16_384, 8_192), 3, ColorOrder.Bgr, "edge.png")).ErrorId);
    }
}
