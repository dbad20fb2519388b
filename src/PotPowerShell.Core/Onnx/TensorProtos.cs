using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Onnx;

/// <summary>Conversions between ONNX TensorProto and plain arrays. Values go to raw_data (little-endian), as ONNX writers do.</summary>
public static class TensorProtos
{
    public static TensorProto FromFloats(string name, ReadOnlySpan<float> data, params long[] dims) =>
        Make(name, DataType.Float, MemoryMarshal.AsBytes(data), dims);

    public static TensorProto FromInt64(string name, ReadOnlySpan<long> data, params long[] dims) =>
        Make(name, DataType.Int64, MemoryMarshal.AsBytes(data), dims);

    public static TensorProto FromInt32(string name, ReadOnlySpan<int> data, params long[] dims) =>
        Make(name, DataType.Int32, MemoryMarshal.AsBytes(data), dims);

    public static TensorProto FromInt8(string name, ReadOnlySpan<sbyte> data, params long[] dims) =>
        Make(name, DataType.Int8, MemoryMarshal.AsBytes(data), dims);

    /// <summary>An int8 tensor whose raw data is <paramref name="data"/> itself (immutable, so it may be shared).</summary>
    public static TensorProto FromInt8(string name, ByteString data, params long[] dims) => Make(name, DataType.Int8, data, dims);

    public static TensorProto FromUInt8(string name, ReadOnlySpan<byte> data, params long[] dims) =>
        Make(name, DataType.Uint8, data, dims);

    private static TensorProto Make(string name, DataType type, ReadOnlySpan<byte> bytes, long[] dims) => Make(name, type, ByteString.CopyFrom(bytes), dims);

    private static TensorProto Make(string name, DataType type, ByteString bytes, long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = bytes };
        t.Dims.AddRange(dims);
        return t;
    }

    public static long ElementCount(TensorProto t) => t.Dims.Aggregate(1L, (a, b) => a * b);

    /// <summary>Float values of a float, float16, bfloat16, double or integer tensor, from raw_data or the typed fields.</summary>
    public static float[] ToFloats(TensorProto t)
    {
        var type = (DataType)t.DataType;
        if (!t.RawData.IsEmpty)
        {
            var raw = t.RawData.Span;
            return type switch
            {
                DataType.Float => MemoryMarshal.Cast<byte, float>(raw).ToArray(),
                DataType.Float16 => Array.ConvertAll(MemoryMarshal.Cast<byte, Half>(raw).ToArray(), h => (float)h),
                DataType.Bfloat16 => Array.ConvertAll(MemoryMarshal.Cast<byte, ushort>(raw).ToArray(), FromBfloat16),
                DataType.Double => Array.ConvertAll(MemoryMarshal.Cast<byte, double>(raw).ToArray(), d => (float)d),
                DataType.Int64 => Array.ConvertAll(MemoryMarshal.Cast<byte, long>(raw).ToArray(), v => (float)v),
                DataType.Int32 => Array.ConvertAll(MemoryMarshal.Cast<byte, int>(raw).ToArray(), v => (float)v),
                DataType.Int8 => Array.ConvertAll(MemoryMarshal.Cast<byte, sbyte>(raw).ToArray(), v => (float)v),
                DataType.Uint8 => Array.ConvertAll(raw.ToArray(), v => (float)v),
                _ => throw Unsupported(t),
            };
        }
        return type switch
        {
            DataType.Float => t.FloatData.ToArray(),
            // float16 values travel as their bit patterns in int32_data
            DataType.Float16 => t.Int32Data.Select(v => (float)BitConverter.UInt16BitsToHalf((ushort)v)).ToArray(),
            DataType.Bfloat16 => t.Int32Data.Select(v => FromBfloat16((ushort)v)).ToArray(),
            DataType.Double => t.DoubleData.Select(v => (float)v).ToArray(),
            DataType.Int64 => t.Int64Data.Select(v => (float)v).ToArray(),
            DataType.Int32 or DataType.Int8 or DataType.Uint8 or DataType.Int16 or DataType.Uint16 => t.Int32Data.Select(v => (float)v).ToArray(),
            _ => throw Unsupported(t),
        };
    }

    /// <summary>A bfloat16 is the upper half of a float's bits.</summary>
    private static float FromBfloat16(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Integer values of an int64 or int32 tensor (shapes, axes).</summary>
    public static long[] ToInt64(TensorProto t)
    {
        var type = (DataType)t.DataType;
        if (!t.RawData.IsEmpty)
            return type switch
            {
                DataType.Int64 => MemoryMarshal.Cast<byte, long>(t.RawData.Span).ToArray(),
                DataType.Int32 => Array.ConvertAll(MemoryMarshal.Cast<byte, int>(t.RawData.Span).ToArray(), v => (long)v),
                _ => throw Unsupported(t),
            };
        return type switch
        {
            DataType.Int64 => t.Int64Data.ToArray(),
            DataType.Int32 => t.Int32Data.Select(v => (long)v).ToArray(),
            _ => throw Unsupported(t),
        };
    }

    private static PotException Unsupported(TensorProto t) =>
        new("TensorTypeUnsupported", PotErrorCategory.InvalidData,
            $"Tensor '{t.Name}' has element type {ModelInspector.ElementTypeName(t.DataType)}, which this operation cannot read.", t.Name);
}
