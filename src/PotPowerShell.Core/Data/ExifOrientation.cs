using System.Buffers.Binary;

namespace PotPowerShell.Core.Data;

/// <summary>
/// The EXIF orientation of an image (tag 0x0112 of IFD0; a JPEG holds it in its APP1 "Exif" segment, see
/// <see cref="JpegHeader"/>), and the turn or mirror that shows the image upright. OpenCV's imread applies it (unless
/// IMREAD_IGNORE_ORIENTATION), so Accuracy Checker's opencv_imread and POT's simplified engine see a phone photo
/// upright; Pillow's Image.open does not. Malformed metadata reads as 1 (as stored): it never stops an image from
/// decoding.
/// </summary>
public static class ExifOrientation
{
    /// <summary>The orientation in an Exif block's TIFF data (after "Exif\0\0"): 1 to 8, 1 when there is none valid.</summary>
    public static int FromTiff(ReadOnlySpan<byte> tiff)
    {
        if (tiff.Length < 8) return 1;
        bool little = tiff[0] == (byte)'I' && tiff[1] == (byte)'I';
        if (!little && !(tiff[0] == (byte)'M' && tiff[1] == (byte)'M')) return 1;
        if (U16(tiff, 2, little) != 42) return 1;
        long ifd = U32(tiff, 4, little);
        if (ifd < 8 || ifd + 2 > tiff.Length) return 1;
        int entries = U16(tiff, (int)ifd, little);
        for (int e = 0; e < entries; e++)
        {
            int entry = (int)ifd + 2 + 12 * e;
            if (entry + 12 > tiff.Length) return 1;
            // Orientation: type SHORT (3), one value, held in the entry itself.
            if (U16(tiff, entry, little) == 0x0112)
                return U16(tiff, entry + 2, little) == 3 && U32(tiff, entry + 4, little) == 1 && U16(tiff, entry + 8, little) is int value and >= 1 and <= 8 ? value : 1;
        }
        return 1;
    }

    private static int U16(ReadOnlySpan<byte> b, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(b[at..]) : BinaryPrimitives.ReadUInt16BigEndian(b[at..]);

    private static long U32(ReadOnlySpan<byte> b, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(b[at..]) : BinaryPrimitives.ReadUInt32BigEndian(b[at..]);

    /// <summary>
    /// <paramref name="image"/> (interleaved rows of <paramref name="channels"/> values) as shown upright: 2 mirrors it,
    /// 3 turns it 180 degrees, 4 flips it, 5 transposes it, 6 turns it 90 degrees clockwise, 7 transverses it, 8 turns it
    /// 90 degrees counter-clockwise. Returns the new width and height.
    /// </summary>
    public static (int Width, int Height, float[] Data) Apply(int orientation, int width, int height, int channels, float[] image)
    {
        if (orientation is < 2 or > 8) return (width, height, image);
        bool swap = orientation >= 5;
        int w = swap ? height : width, h = swap ? width : height;
        var result = new float[image.Length];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                // The stored pixel shown at (x, y).
                var (sx, sy) = orientation switch
                {
                    2 => (width - 1 - x, y),
                    3 => (width - 1 - x, height - 1 - y),
                    4 => (x, height - 1 - y),
                    5 => (y, x),
                    6 => (y, height - 1 - x),
                    7 => (width - 1 - y, height - 1 - x),
                    _ => (width - 1 - y, x),
                };
                Array.Copy(image, (sy * width + sx) * channels, result, (y * w + x) * channels, channels);
            }
        return (w, h, result);
    }
}
