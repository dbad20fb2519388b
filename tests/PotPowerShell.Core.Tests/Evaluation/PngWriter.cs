using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>Writes minimal 8-bit PNG files (grey or RGB, no filtering) for tests: StbImageWriteSharp is not referenced.</summary>
internal static class PngWriter
{
    /// <param name="pixels">Row-major pixels, <paramref name="channels"/> bytes each (1 = grey, 3 = RGB).</param>
    public static byte[] Encode(int width, int height, int channels, byte[] pixels)
    {
        if (pixels.Length != width * height * channels) throw new ArgumentException("Pixel count does not match the size.");
        using var png = new MemoryStream();
        png.Write(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A });
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(0), width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = channels == 1 ? (byte)0 : (byte)2; // colour type: grey or truecolour
        Chunk(png, "IHDR", header);
        using var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(0); // filter type None
            raw.Write(pixels, y * width * channels, width * channels);
        }
        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) raw.WriteTo(z);
        Chunk(png, "IDAT", compressed.ToArray());
        Chunk(png, "IEND", Array.Empty<byte>());
        return png.ToArray();
    }

    public static void Save(string path, int width, int height, int channels, byte[] pixels) =>
        File.WriteAllBytes(path, Encode(width, height, channels, pixels));

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        s.Write(length);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typed);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
        s.Write(crc);
    }

    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }
}
