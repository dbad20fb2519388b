using System.Buffers.Binary;
using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Tests.Data;

/// <summary>
/// Images are checked before StbImageSharp decodes them: the pixels their header declares
/// (<see cref="ImagePipeline.MaxPixels"/>), and that the file holds what its format needs (<see cref="ImageFileCheck"/>).
/// </summary>
public class ImageFileCheckTests
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

    /// <summary>A 16x12 24-bit BMP as StbImageWriteSharp writes it.</summary>
    private static byte[] Bmp()
    {
        using var stream = new MemoryStream();
        new StbImageWriteSharp.ImageWriter().WriteBmp(new byte[16 * 12 * 3], 16, 12, StbImageWriteSharp.ColorComponents.RedGreenBlue, stream);
        return stream.ToArray();
    }

    [Fact]
    public void A_bmp_that_declares_more_rows_than_it_holds_is_refused_before_decoding()
    {
        // Found by fuzzing: 115 bytes declaring 16 x 16,777,204 pixels kept the decoder reading past the end.
        var bmp = Bmp();
        Assert.Null(ImageFileCheck.Refusal(bmp));
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), -16_777_204); // top-down rows
        Assert.Equal($"is a BMP that declares 16 x 16777204 pixels, which need {54 + 48L * 16_777_204} bytes, in {bmp.Length}", ImageFileCheck.Refusal(bmp));
        var e = Assert.Throws<PotException>(() => ImagePipeline.Decode(bmp, 3, ColorOrder.Bgr, "tall.bmp"));
        Assert.Equal("ImageUnreadable", e.ErrorId);
        Assert.Equal("is a BMP that declares 16 x 12 pixels, which need 630 bytes, in 300", ImageFileCheck.Refusal(Bmp().AsSpan(0, 300)));
    }

    [Fact]
    public void A_png_cut_before_its_end_chunk_and_a_file_of_another_format_are_refused()
    {
        using var stream = new MemoryStream();
        new StbImageWriteSharp.ImageWriter().WritePng(new byte[8 * 8 * 3], 8, 8, StbImageWriteSharp.ColorComponents.RedGreenBlue, stream);
        var png = stream.ToArray();
        Assert.Null(ImageFileCheck.Refusal(png));
        Assert.Equal("is a PNG that ends or breaks before its IEND chunk", ImageFileCheck.Refusal(png.AsSpan(0, png.Length - 12)));
        Assert.Equal("is not a PNG, JPEG or BMP file", ImageFileCheck.Refusal("GIF89a"u8));
    }
}
