using System.Buffers.Binary;
using System.IO.Compression;

namespace PotPowerShell.TestSupport;

/// <summary>
/// 8-bit PNG files written from the PNG specification (no filter, one IDAT), for tests that need exact pixels: grey
/// (colour type 0), RGB (2) or palette indices (3) with their palette.
/// </summary>
public static class PngFiles
{
    public static byte[] Grey(int width, int height, byte[] values) => Write(width, height, 0, 1, values, null);

    public static byte[] Rgb(int width, int height, byte[] rgb) => Write(width, height, 2, 3, rgb, null);

    public static byte[] Palette(int width, int height, byte[] indices, byte[] palette) => Write(width, height, 3, 1, indices, palette);

    /// <summary>Writes a grey (<paramref name="channels"/> 1) or RGB (3) PNG of row-major <paramref name="pixels"/>.</summary>
    public static void Save(string path, int width, int height, int channels, byte[] pixels)
    {
        if (pixels.Length != width * height * channels) throw new ArgumentException("Pixel count does not match the size.");
        File.WriteAllBytes(path, channels == 1 ? Grey(width, height, pixels) : Rgb(width, height, pixels));
    }

    /// <summary>Pascal VOC's first colours (background, aeroplane, bicycle), black again at index 3, grey levels after, its border colour at 255.</summary>
    public static byte[] VocPalette()
    {
        var palette = new byte[256 * 3];
        new byte[] { 0, 0, 0, 128, 0, 0, 0, 128, 0 }.CopyTo(palette, 0);
        for (int i = 4; i < 255; i++) palette[3 * i] = palette[3 * i + 1] = palette[3 * i + 2] = (byte)i;
        new byte[] { 224, 224, 192 }.CopyTo(palette, 255 * 3);
        return palette;
    }

    private static byte[] Write(int width, int height, byte colourType, int channels, byte[] pixels, byte[]? palette)
    {
        using var output = new MemoryStream();
        output.Write(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A });
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;
        header[9] = colourType;
        Chunk(output, "IHDR", header);
        if (palette != null) Chunk(output, "PLTE", palette);
        using var data = new MemoryStream();
        using (var z = new ZLibStream(data, CompressionLevel.Optimal, leaveOpen: true))
            for (int y = 0; y < height; y++)
            {
                z.WriteByte(0);
                z.Write(pixels, y * width * channels, width * channels);
            }
        Chunk(output, "IDAT", data.ToArray());
        Chunk(output, "IEND", Array.Empty<byte>());
        return output.ToArray();
    }

    private static void Chunk(Stream output, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        output.Write(length);
        var typed = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        output.Write(typed);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
        output.Write(crc);
    }

    private static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }
}
