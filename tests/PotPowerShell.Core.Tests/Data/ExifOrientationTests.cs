using PotPowerShell.Core.Data;
using StbImageWriteSharp;

namespace PotPowerShell.Core.Tests.Data;

/// <summary>
/// JPEGs with an EXIF orientation decode upright in BGR (OpenCV's imread: transpose and flips by orientation) and as
/// stored in RGB (Pillow's Image.open).
/// </summary>
public class ExifOrientationTests
{
    private const int Width = 5, Height = 3;

    /// <summary>A 5x3 JPEG (quality 100) whose pixels all differ.</summary>
    private static byte[] Jpeg()
    {
        var rgb = new byte[Width * Height * 3];
        for (int i = 0; i < rgb.Length; i++) rgb[i] = (byte)(i * 37 % 251);
        using var stream = new MemoryStream();
        new ImageWriter().WriteJpg(rgb, Width, Height, ColorComponents.RedGreenBlue, stream, 100);
        return stream.ToArray();
    }

    /// <summary><paramref name="jpeg"/> with an APP1 Exif segment holding IFD0 tag 0x0112 = <paramref name="orientation"/> after SOI.</summary>
    private static byte[] WithOrientation(byte[] jpeg, int orientation, bool littleEndian)
    {
        var tiff = new List<byte>();
        void U16(int v) => tiff.AddRange(littleEndian ? new[] { (byte)v, (byte)(v >> 8) } : new[] { (byte)(v >> 8), (byte)v });
        void U32(int v) => tiff.AddRange(littleEndian ? new[] { (byte)v, (byte)(v >> 8), (byte)(v >> 16), (byte)(v >> 24) } : new[] { (byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v });
        tiff.AddRange(littleEndian ? "II"u8.ToArray() : "MM"u8.ToArray());
        U16(42); U32(8);
        U16(2);                                        // two entries: another tag first, then Orientation
        U16(0x010F); U16(2); U32(4); U32(0);           // Make (ASCII), value ignored
        U16(0x0112); U16(3); U32(1); U16(orientation); U16(0);
        U32(0);
        var body = "Exif\0\0"u8.ToArray().Concat(tiff).ToArray();
        int length = body.Length + 2;
        return jpeg.Take(2).Concat(new byte[] { 0xFF, 0xE1, (byte)(length >> 8), (byte)length }).Concat(body).Concat(jpeg.Skip(2)).ToArray();
    }

    /// <summary>OpenCV's ApplyExifOrientation: a transpose and a flip (1 around the vertical axis, 0 the horizontal, -1 both).</summary>
    private static (int W, int H, float[] Pixels) OpenCv(int orientation, int w, int h, float[] p)
    {
        (int, int, float[]) Transpose(int w0, int h0, float[] q)
        {
            var r = new float[q.Length];
            for (int y = 0; y < h0; y++) for (int x = 0; x < w0; x++) Array.Copy(q, (y * w0 + x) * 3, r, (x * h0 + y) * 3, 3);
            return (h0, w0, r);
        }
        (int, int, float[]) Flip(int code, int w0, int h0, float[] q)
        {
            var r = new float[q.Length];
            for (int y = 0; y < h0; y++)
                for (int x = 0; x < w0; x++)
                    Array.Copy(q, ((code == 1 ? y : h0 - 1 - y) * w0 + (code == 0 ? x : w0 - 1 - x)) * 3, r, (y * w0 + x) * 3, 3);
            return (w0, h0, r);
        }
        return orientation switch
        {
            2 => Flip(1, w, h, p),
            3 => Flip(-1, w, h, p),
            4 => Flip(0, w, h, p),
            5 => Transpose(w, h, p),
            6 => Transpose(w, h, p) is var (a, b, c) ? Flip(1, a, b, c) : default,
            7 => Transpose(w, h, p) is var (d, e, f) ? Flip(-1, d, e, f) : default,
            8 => Transpose(w, h, p) is var (g, i, j) ? Flip(0, g, i, j) : default,
            _ => (w, h, p),
        };
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    [InlineData(4, true)]
    [InlineData(5, false)]
    [InlineData(6, true)]
    [InlineData(7, false)]
    [InlineData(8, true)]
    public void A_jpeg_decodes_upright_in_bgr_as_opencv_shows_it_and_as_stored_in_rgb(int orientation, bool littleEndian)
    {
        var stored = ImagePipeline.Decode(Jpeg(), 3, ColorOrder.Bgr, "stored.jpg");
        var file = WithOrientation(Jpeg(), orientation, littleEndian);
        Assert.Equal(orientation, JpegHeader.Read(file)!.Value.Orientation);

        var upright = ImagePipeline.Decode(file, 3, ColorOrder.Bgr, "photo.jpg");
        var (w, h, pixels) = OpenCv(orientation, Width, Height, stored.Data);
        Assert.Equal((w, h), (upright.Width, upright.Height));
        Assert.Equal(pixels, upright.Data);

        var rgb = ImagePipeline.Decode(file, 3, ColorOrder.Rgb, "photo.jpg");
        Assert.Equal((Width, Height), (rgb.Width, rgb.Height));
        Assert.Equal(ImagePipeline.Decode(Jpeg(), 3, ColorOrder.Rgb, "stored.jpg").Data, rgb.Data);
    }

    [Fact]
    public void Missing_or_malformed_metadata_reads_as_stored_and_never_fails()
    {
        Assert.Equal(new JpegHeader(true, 1), JpegHeader.Read(Jpeg()));
        var badValue = WithOrientation(Jpeg(), 9, littleEndian: true);          // no such orientation
        Assert.Equal(new JpegHeader(true, 1), JpegHeader.Read(badValue));
        Assert.Null(JpegHeader.Read(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }));
        var decoded = ImagePipeline.Decode(badValue, 3, ColorOrder.Bgr, "bad.jpg");
        Assert.Equal((Width, Height), (decoded.Width, decoded.Height));
    }

    [Fact]
    public void A_jpeg_cut_short_before_its_image_data_is_unreadable_instead_of_hanging_the_decoder()
    {
        // 19 bytes of a JFIF header (found by fuzzing): StbImageSharp's header and pixel readers both loop for ever on it.
        byte[] cut = { 0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00 };
        Assert.Equal(new JpegHeader(false, 1), JpegHeader.Read(cut));
        var e = Assert.Throws<PotException>(() => ImagePipeline.Decode(cut, 3, ColorOrder.Bgr, "cut.jpg"));
        Assert.Equal("ImageUnreadable", e.ErrorId);
        Assert.StartsWith("The image 'cut.jpg' is a JPEG that ends or breaks before its image data", e.Message);
        // Cut inside the Exif segment, or right before the scan header ends: the same.
        var photo = WithOrientation(Jpeg(), 6, littleEndian: true);
        Assert.Equal(new JpegHeader(false, 1), JpegHeader.Read(photo.AsSpan(0, 30)));
        int scan = photo.AsSpan().IndexOf(new byte[] { 0xFF, 0xDA });
        Assert.Equal(new JpegHeader(false, 6), JpegHeader.Read(photo.AsSpan(0, scan + 5)));
        Assert.Equal(new JpegHeader(true, 6), JpegHeader.Read(photo));
    }
}
