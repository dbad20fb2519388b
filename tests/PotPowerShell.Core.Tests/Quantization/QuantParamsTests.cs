using System.Runtime.InteropServices;
using Onnx;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

public class QuantParamsTests
{
    private static void AssertUsable(QuantParameters p, IntRange range)
    {
        Assert.True(float.IsFinite(p.Scale) && p.Scale >= QuantParams.MinNormal, $"scale {p.Scale}");
        Assert.InRange(p.ZeroPoint, range.Min, range.Max);
    }

    [Theory]
    [InlineData(0f, 0f)]
    [InlineData(1e-45f, 1e-45f)]
    [InlineData(-1e-42f, 3e-41f)]
    [InlineData(float.NaN, float.NaN)]
    [InlineData(float.NegativeInfinity, float.PositiveInfinity)]
    [InlineData(float.MinValue, float.MaxValue)]
    [InlineData(5f, 2f)]
    public void Degenerate_and_non_finite_ranges_give_a_finite_positive_scale(float min, float max)
    {
        foreach (var types in new[] { QuantizationTypes.U8S8, QuantizationTypes.S8S8 })
            foreach (var symmetric in new[] { false, true })
                // The zero point may be the type's minimum even when symmetric: a range without negatives starts at qmin.
                AssertUsable(QuantParams.ForActivation(min, max, types, symmetric), types == QuantizationTypes.S8S8 ? IntRange.Int8 : IntRange.UInt8);
    }

    [Theory]
    [InlineData(2f, 5f)]
    [InlineData(-7f, -3f)]
    [InlineData(-0.3f, 1.7f)]
    public void The_range_always_includes_zero_exactly(float min, float max)
    {
        var p = QuantParams.ForActivation(min, max, QuantizationTypes.U8S8, symmetric: false);
        Assert.Equal(0f, QuantMath.Dequantize(QuantMath.Quantize(0f, p.Scale, p.ZeroPoint, IntRange.UInt8), p.Scale, p.ZeroPoint));
        // The calibrated ends stay representable within half a step.
        Assert.True(QuantMath.Dequantize(255, p.Scale, p.ZeroPoint) >= Math.Max(max, 0) - p.Scale / 2);
        Assert.True(QuantMath.Dequantize(0, p.Scale, p.ZeroPoint) <= Math.Min(min, 0) + p.Scale / 2);
    }

    [Fact]
    public void Scales_and_zero_points_follow_the_reference_formulas()
    {
        // Asymmetric uint8: scale = (rmax - rmin)/255 in float64 stored as float32, zp = round(qmin - rmin/scale).
        var a = QuantParams.ForActivation(-1f, 3f, QuantizationTypes.U8S7, symmetric: false);
        Assert.Equal((float)(4.0 / 255), a.Scale);
        Assert.Equal((int)Math.Round(1.0 / (4.0 / 255), MidpointRounding.ToEven), a.ZeroPoint);
        // Symmetric uint8: zp = 128 (round half to even of 127.5), scale = 2*absmax/255.
        var s = QuantParams.ForActivation(-1f, 3f, QuantizationTypes.U8S8, symmetric: true);
        Assert.Equal(128, s.ZeroPoint);
        Assert.Equal((float)(6.0 / 255), s.Scale);
        // Symmetric int8: narrow [-127,127], zp 0.
        var s8 = QuantParams.ForActivation(-1f, 3f, QuantizationTypes.S8S8, symmetric: true);
        Assert.Equal(0, s8.ZeroPoint);
        Assert.Equal((float)(6.0 / 254), s8.Scale);
        // A non-negative range (after Relu) starts at qmin even when symmetric.
        Assert.Equal(new QuantParameters((float)(3.0 / 255), 0), QuantParams.ForActivation(0f, 3f, QuantizationTypes.U8S8, symmetric: true));
        Assert.Equal(new QuantParameters((float)(3.0 / 255), -128), QuantParams.ForActivation(0f, 3f, QuantizationTypes.S8S8, symmetric: true));
    }

    [Theory]
    [InlineData(QuantizationTypes.U8S8, true, -127, 127)]
    [InlineData(QuantizationTypes.U8S7, true, -63, 63)]
    [InlineData(QuantizationTypes.S8S8, true, -127, 127)]
    [InlineData(QuantizationTypes.U8S8, false, -128, 127)]
    [InlineData(QuantizationTypes.U8S7, false, -64, 63)]
    public void Weight_ranges_are_narrow_when_symmetric_and_7_bit_for_u8s7(QuantizationTypes types, bool symmetric, int min, int max)
    {
        Assert.Equal(new IntRange(min, max), QuantParams.WeightRange(types, symmetric));
        var weights = new[] { -2f, 0.5f, 1f, -0.25f };
        var p = QuantParams.ForWeights(weights, new long[] { 4 }, -1, QuantParams.WeightRange(types, symmetric), symmetric);
        var q = QuantParams.QuantizeWeights(weights, new long[] { 4 }, p, QuantParams.WeightRange(types, symmetric));
        Assert.Contains(q, v => v == min || v == max);
        Assert.All(q, v => Assert.InRange(v, min, max));
        if (symmetric) Assert.Equal(0, p.ZeroPoints[0]);
    }

    [Fact]
    public void Near_zero_weight_channels_get_finite_positive_scales()
    {
        var w = new float[] { 0, 0, 0, 0, 1e-44f, -1e-45f, 0, 1e-44f, 1e-30f, -2e-30f, 0, 0, 1, -0.5f, 0.25f, 0 };
        var p = QuantParams.ForWeights(w, new long[] { 4, 4 }, 0, new IntRange(-127, 127), symmetric: true);
        Assert.All(p.Scales, s => Assert.True(float.IsFinite(s) && s >= QuantParams.MinNormal));
        Assert.Equal((float)(2e-30 / 127), p.Scales[2]);
        var q = QuantParams.QuantizeWeights(w, new long[] { 4, 4 }, p, new IntRange(-127, 127));
        Assert.Equal(new sbyte[] { 0, 0, 0, 0, 0, 0, 0, 0 }, q.Take(8));
        Assert.Equal(-127, q[9]);
    }

    /// <summary>Builds a node and weight whose channel k along <paramref name="axis"/> has absmax k + 1.</summary>
    private static (NodeProto Node, TensorProto Weight) Layer(string op, long[] dims, int axis, params (string, object)[] attrs)
    {
        var count = (int)dims.Aggregate(1L, (a, b) => a * b);
        var (channels, inner) = QuantMath.AxisLayout(dims, axis, count);
        var values = Enumerable.Range(0, count).Select(i => (float)((i / inner % channels) + 1) * (i % 2 == 0 ? 1 : -1)).ToArray();
        var node = new NodeProto { OpType = op, Name = op };
        foreach (var (name, value) in attrs) node.Attribute.Add(GraphBuilder.Attribute(name, value));
        return (node, TensorProtos.FromFloats("w", values, dims));
    }

    public static IEnumerable<object[]> AxisCases() => new[]
    {
        new object[] { "Conv", new long[] { 4, 3, 3, 3 }, 0, 0L, 0L },
        new object[] { "ConvTranspose", new long[] { 4, 3, 2, 2 }, 1, 0L, 0L },
        new object[] { "ConvTranspose", new long[] { 4, 3, 2, 2 }, 1, 0L, 2L },
        new object[] { "Gemm", new long[] { 5, 6 }, 1, 0L, 0L },
        new object[] { "Gemm", new long[] { 6, 5 }, 0, 1L, 0L },
        new object[] { "MatMul", new long[] { 5, 6 }, 1, 0L, 0L },
    };

    [Theory]
    [MemberData(nameof(AxisCases))]
    public void Weights_are_quantized_per_output_channel_on_the_right_axis(string op, long[] dims, int axis, long transB, long group)
    {
        var attrs = new List<(string, object)>();
        if (op == "Gemm") attrs.Add(("transB", transB));
        if (group > 0) attrs.Add(("group", group));
        var (node, weight) = Layer(op, dims, axis, attrs.ToArray());
        Assert.Equal(axis, QdqWeights.ChannelAxis(node, weight));
        int outChannels = op == "ConvTranspose" ? (int)(dims[1] * Math.Max(group, 1)) : (int)dims[axis];
        var bias = Enumerable.Range(0, outChannels).Select(c => 0.01f * (c + 1)).ToArray();
        var plan = new QuantizationPlan { Types = QuantizationTypes.U8S8, SymmetricActivations = false, SymmetricWeights = true, PerChannelWeights = true, Ranges = new Dictionary<string, ActivationRange>() };
        var q = QdqWeights.Quantize(node, weight, bias, 0.02f, plan);
        Assert.Equal(dims[axis], q.Params.Scales.Length);
        for (int c = 0; c < dims[axis]; c++) Assert.Equal((float)((c + 1) / 127.0), q.Params.Scales[c]);
        // Bias channel c uses weight channel c (ConvTranspose: c modulo the channels per group).
        for (int c = 0; c < outChannels; c++)
        {
            Assert.Equal(0.02f * q.Params.Scales[c % dims[axis]], q.BiasScales![c]);
            Assert.Equal(Math.Round(bias[c] / (double)q.BiasScales[c], MidpointRounding.ToEven), q.BiasCodes![c]);
        }
        var perTensor = QdqWeights.Quantize(node, weight, bias, 0.02f, plan with { PerChannelWeights = false });
        Assert.Equal(-1, perTensor.Params.Axis);
        Assert.Single(perTensor.Params.Scales);
    }

    [Fact]
    public void The_bias_remedy_enlarges_only_the_channel_that_overflows()
    {
        var w = new float[] { 1e-6f, -1e-6f, 0.5f, -0.25f };
        var dims = new long[] { 2, 2 };
        var range = new IntRange(-127, 127);
        var p = QuantParams.ForWeights(w, dims, 0, range, symmetric: true);
        var bias = new[] { 1e6f, 0.1f };
        var (adjusted, changed) = QuantParams.AdjustForInt32Bias(p, bias, 1e-4f, c => c, w, dims, range, symmetric: true);
        Assert.True(changed);
        Assert.True(adjusted.Scales[0] > p.Scales[0]);
        Assert.Equal(p.Scales[1], adjusted.Scales[1]);
        var (codes, scales) = QuantParams.QuantizeBias(bias, 1e-4f, adjusted.Scales, c => c);
        Assert.True(Math.Abs((long)codes[0]) < int.MaxValue);
        Assert.Equal(1e6, codes[0] * (double)scales[0], 1e6 * 1e-6);
    }
}

public class HardwareProfileTests
{
    [Theory]
    [InlineData(Architecture.X64, new[] { "AVX2", "AVX512F", "AVX512-VNNI" }, QuantizationTypes.U8S8)]
    [InlineData(Architecture.X64, new[] { "AVX2", "AVX-VNNI" }, QuantizationTypes.U8S8)]
    [InlineData(Architecture.X64, new[] { "AVX2", "AVX512F", "AVX512BW" }, QuantizationTypes.U8S7)]
    [InlineData(Architecture.X64, new string[0], QuantizationTypes.U8S7)]
    [InlineData(Architecture.Arm64, new[] { "AdvSimd", "Dp" }, QuantizationTypes.S8S8)]
    public void Auto_types_follow_the_cpu(Architecture arch, string[] features, QuantizationTypes expected)
    {
        var profile = HardwareProfile.FromFeatures(arch, features);
        Assert.Equal(expected, profile.RecommendedTypes);
        Assert.Equal((expected, profile.Reason), profile.Resolve(QuantizationTypes.Auto));
        var (types, reason) = profile.Resolve(QuantizationTypes.S8S8);
        Assert.Equal(QuantizationTypes.S8S8, types);
        Assert.Contains("requested", reason);
        Assert.NotEqual(QuantizationTypes.Auto, HardwareProfile.Current.RecommendedTypes);
        Assert.False(string.IsNullOrWhiteSpace(HardwareProfile.Current.Reason));
    }

    [Fact]
    public void The_current_cpu_is_detected()
    {
        var current = HardwareProfile.Current;
        Assert.Equal(RuntimeInformation.ProcessArchitecture.ToString(), current.Architecture);
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported) Assert.Contains("AVX2", current.Features);
        if (current.Architecture == "X64") Assert.Equal(current.HasVnni ? QuantizationTypes.U8S8 : QuantizationTypes.U8S7, current.RecommendedTypes);
    }

    [Fact]
    public void Quantile_weight_ranges_follow_numpy_per_channel()
    {
        // Channel 0 holds 0, 1, ..., 100 (|w| the same); channel 1 holds -50, ..., 50. With outlier_prob 0.01 NumPy's
        // linear quantiles are: channel 0, |w| at 0.99 -> 99; channel 1, |w| (0, 1, 1, ..., 50, 50) at 0.99 -> 50, and
        // w at 0.01 and 0.99 -> -49 and 49.
        var w = Enumerable.Range(0, 101).Select(v => (float)v).Concat(Enumerable.Range(-50, 101).Select(v => (float)v)).ToArray();
        var dims = new long[] { 2, 101 };
        var symmetric = QuantParams.ForWeights(w, dims, 0, new IntRange(-127, 127), symmetric: true, outlierProbability: 0.01);
        Assert.Equal(new[] { (float)(2 * 99.0 / 254), (float)(2 * 50.0 / 254) }, symmetric.Scales);
        var asymmetric = QuantParams.ForWeights(w, dims, 0, IntRange.Int8, symmetric: false, outlierProbability: 0.01);
        // Channel 0: [0, 99] (0 kept inside the range); channel 1: [-49, 49].
        Assert.Equal(new[] { (float)(99.0 / 255), (float)(98.0 / 255) }, asymmetric.Scales);
        // Beyond the quantile, weights clip to the extreme code.
        var codes = QuantParams.QuantizeWeights(w, dims, symmetric, new IntRange(-127, 127));
        Assert.Equal(127, codes[100]);
        Assert.Equal(127, codes[99]);
    }
}
