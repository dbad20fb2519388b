using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace PotPowerShell.Core.Data;

/// <summary>Reads NumPy .npy arrays (NPY format 1.0 to 3.0, little-endian, C order); NpzArchive reads .npz archives.</summary>
public static class NpyReader
{
    private static readonly byte[] Magic = { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' };

    /// <summary>The longest header read (NumPy writes a few hundred bytes; its own reader stops at 10,000).</summary>
    public const int MaxHeaderBytes = 65_536;

    /// <summary>The most dimensions an array may have (NumPy's limit).</summary>
    public const int MaxDimensions = 64;

    public static TensorData ReadFile(string path)
    {
        if (!File.Exists(path))
            throw new PotException("DataFileNotFound", PotErrorCategory.ObjectNotFound, $"The data file '{path}' does not exist.", path);
        using var stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>Reads a whole array; a seekable stream must hold every byte the header declares before any is allocated.</summary>
    public static TensorData Read(Stream stream, string source)
    {
        var header = ReadHeader(stream, source);
        if (stream.CanSeek && stream.Length - stream.Position < header.DataBytes)
            throw Bad(source, $"it ends before its {header.ElementCount} elements ({stream.Length} of {header.DataOffset + header.DataBytes} bytes)", null);
        return ReadData(stream, header, source);
    }

    /// <summary>The elements after a header already read (the caller has checked that the stream holds them).</summary>
    internal static TensorData ReadData(Stream stream, NpyHeader header, string source)
    {
        long count = header.ElementCount;
        // Read as one span of bytes, so the bytes (not only the elements) must fit one .NET array.
        if (header.DataBytes > Array.MaxLength)
            throw new PotException("NpyTooLarge", PotErrorCategory.InvalidData,
                $"'{source}' holds {header.DataBytes} bytes, more than one array read whole can ({Array.MaxLength}). Split it into several files.", source);
        Array data = TensorBytes.Allocate(header.Kind, count);
        var target = TensorBytes.AsBytes(data);
        int read = stream.ReadAtLeast(target, target.Length, throwOnEndOfStream: false);
        if (read != target.Length) throw Bad(source, $"it ends before its {count} elements", null);
        return new TensorData(header.Kind, header.Shape, data);
    }

    /// <summary>
    /// Reads the header and leaves the stream at the first data byte; <see cref="NpyHeader.DataOffset"/> is that
    /// position from the start of the stream. Lazy readers use it to read single items.
    /// </summary>
    public static NpyHeader ReadHeader(Stream stream, string source)
    {
        var reader = new BinaryReader(stream, Encoding.Latin1, leaveOpen: true);
        byte[] magic = reader.ReadBytes(6);
        if (!magic.AsSpan().SequenceEqual(Magic)) throw Bad(source, "it does not start with the NumPy magic string", null);
        long headerLength;
        byte major;
        try
        {
            major = reader.ReadByte();
            reader.ReadByte();
            if (major is < 1 or > 3) throw Bad(source, $"its format version {major} is not one of 1, 2, 3", null);
            headerLength = major == 1 ? reader.ReadUInt16() : reader.ReadUInt32();
        }
        catch (EndOfStreamException e)
        {
            throw Bad(source, "its header is cut short", e);
        }
        if (headerLength > MaxHeaderBytes)
            throw new PotException("NpyHeaderTooLarge", PotErrorCategory.InvalidData,
                $"'{source}' declares a header of {headerLength} bytes, more than the limit of {MaxHeaderBytes} (NumPy writes a few hundred). The file is damaged or not a NumPy file.", source);
        byte[] headerBytes = reader.ReadBytes((int)headerLength);
        if (headerBytes.Length != headerLength) throw Bad(source, "its header is cut short", null);
        string header = (major >= 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);
        long dataOffset = 6 + 2 + (major == 1 ? 2 : 4) + headerLength;

        string descr = Match(header, @"'descr'\s*:\s*'([^']+)'", source, "descr");
        string fortran = Match(header, @"'fortran_order'\s*:\s*(True|False)", source, "fortran_order");
        string shapeText = Match(header, @"'shape'\s*:\s*\(([^)]*)\)", source, "shape");
        long[] shape = ParseShape(shapeText, source);
        if (fortran == "True")
            throw new PotException("NpyFortranOrder", PotErrorCategory.InvalidData,
                $"'{source}' is stored in Fortran (column-major) order. Save it in C order, e.g. np.save(path, np.ascontiguousarray(a)).", source);

        TensorElementKind kind = descr switch
        {
            "<f4" => TensorElementKind.Float,
            "<f2" => TensorElementKind.Float16,
            "<f8" => TensorElementKind.Double,
            "<i8" => TensorElementKind.Int64,
            "<i4" => TensorElementKind.Int32,
            "|u1" => TensorElementKind.UInt8,
            "|i1" => TensorElementKind.Int8,
            "|b1" => TensorElementKind.Bool,
            _ => throw new PotException("NpyUnsupportedType", PotErrorCategory.InvalidData,
                $"'{source}' holds elements of NumPy type '{descr}', which is not supported. Use float32, float16, float64, int64, int32, int8, uint8 or bool (little-endian).", source),
        };
        int elementSize = TensorBytes.ElementSize(kind);
        long bytes = 0;
        try
        {
            if (!shape.Contains(0))
            {
                long count = 1;
                foreach (long d in shape) count = checked(count * d);
                bytes = checked(count * elementSize);
                _ = checked(bytes + dataOffset);
            }
        }
        catch (OverflowException)
        {
            throw Bad(source, $"its shape ({shapeText}) declares more than 2^63 bytes", null);
        }
        return new NpyHeader(kind, shape, elementSize, dataOffset, bytes);
    }

    // Each dimension is a whole number from 0 to 2^63-1, written in decimal (a Python tuple: '(3, 4)', '(3,)' or '()').
    private static long[] ParseShape(string text, string source)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length > MaxDimensions) throw Bad(source, $"its shape has {parts.Length} dimensions, more than NumPy's {MaxDimensions}", null);
        var shape = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            string p = parts[i].EndsWith('L') ? parts[i][..^1] : parts[i];
            if (!long.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]))
                throw Bad(source, $"dimension {i} of its shape is '{(parts[i].Length > 30 ? parts[i][..30] + "..." : parts[i])}', not a whole number from 0 to {long.MaxValue}", null);
        }
        return shape;
    }

    private static string Match(string header, string pattern, string source, string key)
    {
        var m = Regex.Match(header, pattern);
        if (!m.Success) throw Bad(source, $"its header has no '{key}'", null);
        return m.Groups[1].Value;
    }

    internal static PotException Bad(string source, string why, Exception? inner) =>
        new("NpyInvalid", PotErrorCategory.InvalidData, $"'{source}' is not a readable NumPy file: {why}.", source, inner);
}

/// <summary>The parsed header of an .npy file.</summary>
/// <param name="DataOffset">Byte offset of the first element from the start of the file.</param>
/// <param name="DataBytes">Bytes of the elements (checked: DataOffset + DataBytes fits in a long).</param>
public sealed record NpyHeader(TensorElementKind Kind, long[] Shape, int ElementSize, long DataOffset, long DataBytes)
{
    public long ElementCount => TensorData.ElementCount(Shape);
}
