using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using PotPowerShell.Core;
using PotPowerShell.Core.Data;

namespace PotPowerShell.TestSupport;

/// <summary>Writes NumPy .npy files (format 1.0, little-endian, C order), as numpy.save does.</summary>
public static class NpyWriter
{
    /// <summary>The bytes of an .npy file holding <paramref name="data"/> as <paramref name="descr"/> (e.g. '&lt;f4'), C or Fortran order as told.</summary>
    public static byte[] Encode<T>(T[] data, long[] shape, string descr, bool fortran = false) where T : struct
    {
        using var ms = new MemoryStream();
        ms.Write(Header(descr, shape, fortran));
        ms.Write(MemoryMarshal.AsBytes(data.AsSpan()));
        return ms.ToArray();
    }

    public static void Save<T>(string path, T[] data, long[] shape, string descr) where T : struct =>
        File.WriteAllBytes(path, Encode(data, shape, descr));

    /// <summary>Writes an .npz archive (as numpy.savez does: a zip of .npy files named after the arrays).</summary>
    public static void SaveNpz(string path, IReadOnlyDictionary<string, TensorData> arrays)
    {
        string temp = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Guid.NewGuid():N}.npy");
        using var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Create);
        foreach (var (name, array) in arrays)
        {
            Write(temp, array);
            System.IO.Compression.ZipFileExtensions.CreateEntryFromFile(zip, temp, name + ".npy");
            File.Delete(temp);
        }
    }

    public static void Write(string path, TensorData tensor)
    {
        string descr = tensor.Kind switch
        {
            TensorElementKind.Float => "<f4",
            TensorElementKind.Float16 => "<f2",
            TensorElementKind.Double => "<f8",
            TensorElementKind.Int64 => "<i8",
            TensorElementKind.Int32 => "<i4",
            TensorElementKind.UInt8 => "|u1",
            TensorElementKind.Int8 => "|i1",
            TensorElementKind.Bool => "|b1",
            _ => throw new PotException("NpyUnsupportedType", PotErrorCategory.InvalidData, $"{tensor.Kind} tensors cannot be written as .npy.", path),
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        stream.Write(Header(descr, tensor.Shape, fortran: false));
        ReadOnlySpan<byte> bytes = tensor.Data switch
        {
            float[] f => MemoryMarshal.AsBytes(f.AsSpan()),
            Half[] h => MemoryMarshal.AsBytes(h.AsSpan()),
            double[] d => MemoryMarshal.AsBytes(d.AsSpan()),
            long[] l => MemoryMarshal.AsBytes(l.AsSpan()),
            int[] i => MemoryMarshal.AsBytes(i.AsSpan()),
            byte[] b => b,
            sbyte[] s => MemoryMarshal.AsBytes(s.AsSpan()),
            bool[] b => MemoryMarshal.AsBytes(b.AsSpan()),
            _ => throw new InvalidOperationException("Unsupported array type."),
        };
        stream.Write(bytes);
    }

    /// <summary>Magic, version 1.0, header length and the header dictionary, padded to a multiple of 64 bytes.</summary>
    private static byte[] Header(string descr, long[] shape, bool fortran)
    {
        string dims = shape.Length == 1
            ? shape[0].ToString(CultureInfo.InvariantCulture) + ","
            : string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
        string header = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': ({dims}), }}";
        int unpadded = 10 + header.Length + 1;
        header += new string(' ', (64 - unpadded % 64) % 64) + "\n";
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 };
        bytes.AddRange(BitConverter.GetBytes((ushort)header.Length));
        bytes.AddRange(Encoding.Latin1.GetBytes(header));
        return bytes.ToArray();
    }
}
