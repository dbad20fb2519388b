using System.Text;
using System.Text.RegularExpressions;

namespace PotPowerShell.Core.Data;

/// <summary>Reads NumPy .npy arrays (NPY format 1.0 to 3.0, little-endian, C order); NpzArchive reads .npz archives.</summary>
public static class NpyReader
{
    private static readonly byte[] Magic = { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' };

    public static TensorData ReadFile(string path)
    {
        if (!File.Exists(path))
            throw new PotException("DataFileNotFound", PotErrorCategory.ObjectNotFound, $"The data file '{path}' does not exist.", path);
        using var stream = File.OpenRead(path);
        return Read(stream, path);
    }

    public static TensorData Read(Stream stream, string source)
    {
        var header = ReadHeader(stream, source);
        long count = header.ElementCount;
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
        byte major = reader.ReadByte();
        reader.ReadByte();
        int headerLength;
        try
        {
            headerLength = major == 1 ? reader.ReadUInt16() : (int)reader.ReadUInt32();
        }
        catch (EndOfStreamException e)
        {
            throw Bad(source, "its header is cut short", e);
        }
        byte[] headerBytes = reader.ReadBytes(headerLength);
        if (headerBytes.Length != headerLength) throw Bad(source, "its header is cut short", null);
        string header = (major >= 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);
        long dataOffset = 6 + 2 + (major == 1 ? 2 : 4) + headerLength;

        string descr = Match(header, @"'descr'\s*:\s*'([^']+)'", source, "descr");
        string fortran = Match(header, @"'fortran_order'\s*:\s*(True|False)", source, "fortran_order");
        string shapeText = Match(header, @"'shape'\s*:\s*\(([^)]*)\)", source, "shape");
        long[] shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
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
        return new NpyHeader(kind, shape, TensorBytes.ElementSize(kind), dataOffset);
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
public sealed record NpyHeader(TensorElementKind Kind, long[] Shape, int ElementSize, long DataOffset)
{
    public long ElementCount => TensorData.ElementCount(Shape);
}
