using System.Runtime.InteropServices;
using System.Text;

namespace PotPowerShell.Core.Tests.Data;

/// <summary>Writes .npy files the way numpy.save does (format 1.0), for tests.</summary>
internal static class NpyWriter
{
    public static byte[] Encode<T>(T[] data, long[] shape, string descr, bool fortran = false) where T : struct
    {
        string dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        string header = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': ({dims}), }}";
        int total = 10 + header.Length + 1;
        header += new string(' ', (64 - total % 64) % 64) + "\n";
        using var ms = new MemoryStream();
        ms.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 });
        ms.Write(BitConverter.GetBytes((ushort)header.Length));
        ms.Write(Encoding.Latin1.GetBytes(header));
        ms.Write(MemoryMarshal.AsBytes(data.AsSpan()));
        return ms.ToArray();
    }

    public static void Save<T>(string path, T[] data, long[] shape, string descr) where T : struct =>
        File.WriteAllBytes(path, Encode(data, shape, descr));
}
