using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace PotPowerShell.Core.Data;

/// <summary>Writes NumPy .npy files (format 1.0, little-endian, C order), as numpy.save does.</summary>
public static class NpyWriter
{
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
        string dims = tensor.Shape.Length == 1
            ? tensor.Shape[0].ToString(CultureInfo.InvariantCulture) + ","
            : string.Join(", ", tensor.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
        string header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}";
        int unpadded = 10 + header.Length + 1;
        header += new string(' ', (64 - unpadded % 64) % 64) + "\n";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        stream.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 });
        stream.Write(BitConverter.GetBytes((ushort)header.Length));
        stream.Write(Encoding.Latin1.GetBytes(header));
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
}
