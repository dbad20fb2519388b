using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Runtime;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>QuantMath against ORT's own QuantizeLinear/DequantizeLinear kernels (ORT_DISABLE_ALL), bit for bit.</summary>
public class QuantMathTests
{
    /// <summary>Exact ties (k + 0.5) * scale, saturation at both ends, huge values, NaN, ±Inf, -0, subnormals.</summary>
    private static float[] Probe(float scale)
    {
        var values = new List<float>();
        for (int k = -300; k <= 300; k++)
        {
            values.Add((k + 0.5f) * scale);
            values.Add(k * scale);
            values.Add(MathF.BitIncrement((k + 0.5f) * scale));
            values.Add(MathF.BitDecrement((k + 0.5f) * scale));
        }
        values.AddRange(new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, 0f, float.Epsilon, -float.Epsilon,
            1e30f, -1e30f, float.MaxValue, float.MinValue, 1e-30f, 254.5f * scale, 255.5f * scale, -128.5f * scale, -127.5f * scale });
        // NaN at the start, in a full vector and in a tail, so every MLAS code path sees one.
        values.Insert(0, float.NaN);
        values.Insert(17, float.NaN);
        values.Add(float.NaN);
        return values.ToArray();
    }

    private static ModelProto QdqModel(DataType type, long[] dims, float[] scales, int[] zps, int? axis)
    {
        var b = new GraphBuilder("qdq");
        b.Input("x", DataType.Float, dims.Cast<object>().ToArray());
        long[] pdims = scales.Length == 1 && axis == null ? Array.Empty<long>() : new long[] { scales.Length };
        b.Initializer(TensorProtos.FromFloats("s", scales, pdims));
        b.Initializer(type == DataType.Uint8
            ? TensorProtos.FromUInt8("zp", zps.Select(z => (byte)z).ToArray(), pdims)
            : TensorProtos.FromInt8("zp", zps.Select(z => (sbyte)z).ToArray(), pdims));
        var attrs = axis == null ? Array.Empty<(string, object)>() : new (string, object)[] { ("axis", (long)axis.Value) };
        var q = b.Node("QuantizeLinear", new[] { "x", "s", "zp" }, "q", attrs);
        var dq = b.Node("DequantizeLinear", new[] { q, "s", "zp" }, "dq", attrs);
        b.Output(q, type);
        b.Output(dq);
        return b.Build();
    }

    private static (int[] Q, float[] Dq) RunOrt(ModelProto model, float[] x, long[] dims, DataType type)
    {
        OnnxRuntimeLoader.Ensure();
        using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_DISABLE_ALL, threads: 1);
        using var session = OrtSessions.Create(model.ToByteArray(), options, "qdq");
        var input = NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, dims.Select(d => (int)d).ToArray()));
        using var results = session.Run(new[] { input });
        var qv = results.First(r => r.Name == "q_out");
        int[] q = type == DataType.Uint8 ? qv.AsEnumerable<byte>().Select(v => (int)v).ToArray() : qv.AsEnumerable<sbyte>().Select(v => (int)v).ToArray();
        return (q, results.First(r => r.Name == "dq_out").AsEnumerable<float>().ToArray());
    }

    public static IEnumerable<object[]> PerTensorCases() => new[]
    {
        new object[] { DataType.Uint8, 0.125f, 0 },
        new object[] { DataType.Uint8, 0.1f, 128 },
        new object[] { DataType.Uint8, 0.0371f, 37 },
        new object[] { DataType.Int8, 0.125f, 0 },
        new object[] { DataType.Int8, 0.1f, -5 },
        new object[] { DataType.Int8, 3.3e-7f, 100 },
    };

    [Theory]
    [MemberData(nameof(PerTensorCases))]
    public void Per_tensor_quantize_and_dequantize_equal_ORT_bit_for_bit(DataType type, float scale, int zp)
    {
        var x = Probe(scale);
        var dims = new long[] { x.Length };
        var (ortQ, ortDq) = RunOrt(QdqModel(type, dims, new[] { scale }, new[] { zp }, null), x, dims, type);
        var range = type == DataType.Uint8 ? IntRange.UInt8 : IntRange.Int8;
        var q = QuantMath.QuantizeLinear(x, scale, zp, range);
        var dq = QuantMath.DequantizeLinear(q, scale, zp);
        Assert.Equal(ortQ, q);
        Assert.Equal(ortDq.Select(BitConverter.SingleToInt32Bits), dq.Select(BitConverter.SingleToInt32Bits));
        // The documented NaN behaviour: NaN -> qmin.
        Assert.Equal(range.Min, q[0]);
    }

    [Theory]
    [InlineData(DataType.Uint8)]
    [InlineData(DataType.Int8)]
    public void Per_axis_quantize_and_dequantize_equal_ORT_bit_for_bit(DataType type)
    {
        var scales = new[] { 0.125f, 0.1f, 0.003f, 2.5f };
        var zps = type == DataType.Uint8 ? new[] { 0, 128, 255, 17 } : new[] { 0, -128, 127, -3 };
        // [2, 4, N]: axis 1 is the channel; every channel sees the whole probe.
        var probe = Probe(0.1f);
        var dims = new long[] { 2, 4, probe.Length };
        var x = Enumerable.Range(0, 8).SelectMany(c => probe.Select(v => v * scales[c % 4] / 0.1f)).ToArray();
        var (ortQ, ortDq) = RunOrt(QdqModel(type, dims, scales, zps, 1), x, dims, type);
        var range = type == DataType.Uint8 ? IntRange.UInt8 : IntRange.Int8;
        var q = QuantMath.QuantizeLinear(x, dims, 1, scales, zps, range);
        var dq = QuantMath.DequantizeLinear(q, dims, 1, scales, zps);
        Assert.Equal(ortQ, q);
        Assert.Equal(ortDq.Select(BitConverter.SingleToInt32Bits), dq.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Rounding_is_half_to_even_on_exact_ties()
    {
        Assert.Equal(2, QuantMath.Quantize(2.5f * 0.25f, 0.25f, 0, IntRange.UInt8));
        Assert.Equal(4, QuantMath.Quantize(3.5f * 0.25f, 0.25f, 0, IntRange.UInt8));
        Assert.Equal(-2, QuantMath.Quantize(-2.5f * 0.25f, 0.25f, 0, IntRange.Int8));
        Assert.Equal(255, QuantMath.Quantize(float.PositiveInfinity, 0.25f, 3, IntRange.UInt8));
        Assert.Equal(-128, QuantMath.Quantize(float.NegativeInfinity, 0.25f, 3, IntRange.Int8));
    }

    [Theory]
    [InlineData(new long[] { 4, 3, 2, 2 }, 0)]  // Conv: output channels first
    [InlineData(new long[] { 4, 3, 2, 2 }, 1)]  // ConvTranspose: channels between an outer and an inner axis
    [InlineData(new long[] { 5, 7 }, 1)]        // MatMul: columns, inner 1
    [InlineData(new long[] { 6 }, 0)]           // one value per channel
    public void The_channel_cursor_names_the_channel_a_division_names(long[] dims, int axis)
    {
        int count = (int)dims.Aggregate(1L, (a, b) => a * b);
        var (channels, inner) = QuantMath.AxisLayout(dims, axis, count);
        var cursor = new QuantMath.ChannelCursor(channels, inner);
        for (int i = 0; i < count; i++, cursor.Next())
            Assert.Equal((int)(i / inner % channels), cursor.Channel);
    }
}
