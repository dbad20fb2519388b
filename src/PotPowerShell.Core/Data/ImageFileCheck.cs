using System.Buffers.Binary;

namespace PotPowerShell.Core.Data;

/// <summary>
/// What an image file must show before StbImageSharp decodes it, so that a small or damaged file cannot hang or
/// stall it (fuzzing found a JPEG cut inside its header that looped for ever, and BMPs of 50 bytes that declared
/// millions of rows and were read past their end for seconds): a PNG, JPEG or BMP signature; a PNG whose chunks fit
/// the file up to IEND; a JPEG whose segments reach a complete scan header (<see cref="JpegHeader"/>); an uncompressed
/// BMP holding every row its header declares.
/// </summary>
public static class ImageFileCheck
{
    private static ReadOnlySpan<byte> PngSignature => new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A };

    /// <summary>Why the file cannot be decoded (to finish "The image '...' "), or null when it may be.</summary>
    public static string? Refusal(ReadOnlySpan<byte> file)
    {
        if (JpegHeader.Read(file) is { } jpeg)
            return jpeg.ReachesScan ? null : "is a JPEG that ends or breaks before its image data";
        if (file.StartsWith(PngSignature)) return Png(file);
        if (file.Length >= 2 && file[0] == (byte)'B' && file[1] == (byte)'M') return Bmp(file);
        return "is not a PNG, JPEG or BMP file";
    }

    private static string? Png(ReadOnlySpan<byte> file)
    {
        int at = PngSignature.Length;
        while (at + 12 <= file.Length)
        {
            long length = BinaryPrimitives.ReadUInt32BigEndian(file[at..]);
            if (length > file.Length - at - 12) break;
            if (file.Slice(at + 4, 4).SequenceEqual("IEND"u8)) return null;
            at += 12 + (int)length;
        }
        return "is a PNG that ends or breaks before its IEND chunk";
    }

    private static string? Bmp(ReadOnlySpan<byte> file)
    {
        if (file.Length < 34) return "is a BMP that ends inside its header";
        long offset = BinaryPrimitives.ReadUInt32LittleEndian(file[10..]);
        long width = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(file[18..]));
        long height = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(file[22..]));
        int bits = BinaryPrimitives.ReadUInt16LittleEndian(file[28..]);
        uint compression = BinaryPrimitives.ReadUInt32LittleEndian(file[30..]);
        // Uncompressed rows (BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS) are padded to 4 bytes; run-length data has no
        // fixed size (and StbImageSharp refuses it).
        if (compression is not (0 or 3 or 6) || bits == 0) return null;
        long needed = offset + (bits * width + 31) / 32 * 4 * height;
        return needed <= file.Length ? null : FormattableString.Invariant($"is a BMP that declares {width} x {height} pixels, which need {needed} bytes, in {file.Length}");
    }
}
