namespace PotPowerShell.Core.Data;

/// <summary>
/// What the segments of a JPEG before its first scan say: whether the scan header is there at all, and the EXIF
/// orientation (<see cref="ExifOrientation"/>). StbImageSharp loops for ever on a JPEG cut short among these segments
/// (19 bytes of a JFIF header hung it), so the decoder only ever sees a JPEG whose scan header is complete.
/// </summary>
/// <param name="ReachesScan">The segments fit in the file up to a complete start-of-scan header.</param>
/// <param name="Orientation">1 to 8; 1 without a valid EXIF orientation.</param>
public readonly record struct JpegHeader(bool ReachesScan, int Orientation)
{
    /// <summary>Segments read before giving up (metadata comes first, and a file has a few dozen at most).</summary>
    private const int MaxSegments = 1024;

    /// <summary>The header of <paramref name="file"/>; null when it is not a JPEG (no start-of-image marker).</summary>
    public static JpegHeader? Read(ReadOnlySpan<byte> file)
    {
        if (file.Length < 2 || file[0] != 0xFF || file[1] != 0xD8) return null;
        int orientation = 1;
        int at = 2;
        for (int segment = 0; segment < MaxSegments; segment++)
        {
            // Fill bytes (0xFF) may precede a marker.
            while (at + 1 < file.Length && file[at] == 0xFF && file[at + 1] == 0xFF) at++;
            if (at + 4 > file.Length || file[at] != 0xFF) return new JpegHeader(false, orientation);
            byte marker = file[at + 1];
            if (marker is 0xD9 or 0xD8) return new JpegHeader(false, orientation);
            int length = (file[at + 2] << 8) | file[at + 3];
            if (length < 2 || at + 2 + length > file.Length) return new JpegHeader(false, orientation);
            var body = file.Slice(at + 4, length - 2);
            if (marker == 0xDA) return new JpegHeader(true, orientation);
            if (marker == 0xE1 && orientation == 1 && body.Length > 6 && body[..6].SequenceEqual("Exif\0\0"u8))
                orientation = ExifOrientation.FromTiff(body[6..]);
            at += 2 + length;
        }
        return new JpegHeader(false, orientation);
    }
}
