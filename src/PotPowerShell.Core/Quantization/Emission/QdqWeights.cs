using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Quantization;

/// <summary>The quantized weight and (optional) int32 bias of one INT8 layer.</summary>
/// <param name="Codes">int8 weight codes in the weight's own layout.</param>
/// <param name="Params">Weight scales and zero points (per channel on <see cref="WeightParameters.Axis"/> or per tensor).</param>
/// <param name="BiasCodes">int32 bias codes, one per output channel, or null.</param>
/// <param name="BiasScales">Bias scale per output channel (input scale x weight scale), or null.</param>
/// <param name="Adjusted">True when the int32 bias remedy enlarged a weight scale.</param>
internal sealed record QuantizedLayerWeights(sbyte[] Codes, WeightParameters Params, int[]? BiasCodes, float[]? BiasScales, bool Adjusted)
{
    /// <summary>
    /// <see cref="Codes"/> as a tensor's raw data, copied once: ByteString is immutable, so every emission that reuses
    /// these weights (<see cref="QdqWeightCache"/>) shares the bytes instead of copying them again.
    /// </summary>
    public ByteString CodeBytes => _codeBytes ??= ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Codes.AsSpan()));

    private ByteString? _codeBytes;
}

/// <summary>Weight and bias quantization of one layer (ARCHITECTURE.md, QDQ rules 1 and 3).</summary>
internal static class QdqWeights
{
    /// <summary>
    /// The per-channel axis of a weight: Conv 0 (output channels), ConvTranspose 1 (output channels per group),
    /// Gemm 0 with transB else 1, MatMul 1 (columns of a 2-D B); -1 (per tensor) for an N-D MatMul weight.
    /// </summary>
    public static int ChannelAxis(NodeProto node, TensorProto weight) => node.OpType switch
    {
        "Conv" => 0,
        "ConvTranspose" => 1,
        "Gemm" => QdqLayerInfo.Attr(node, "transB", 0) != 0 ? 0 : 1,
        "MatMul" => weight.Dims.Count == 2 ? 1 : -1,
        _ => -1,
    };

    public static QuantizedLayerWeights Quantize(NodeProto node, TensorProto weight, float[]? bias, float inputScale,
        QuantizationPlan plan)
    {
        int axis = plan.PerChannelWeights ? ChannelAxis(node, weight) : -1;
        // CPU QLinearConv needs one zero point for all channels, so per-channel weights are always symmetric.
        bool symmetric = plan.SymmetricWeights || axis >= 0;
        var range = QuantParams.WeightRange(plan.SevenBitLayers.Contains(node.Name) ? QuantizationTypes.U8S7 : plan.Types, symmetric);
        var values = TensorProtos.ToFloats(weight);
        var dims = weight.Dims.ToArray();
        var p = QuantParams.ForWeights(values, dims, axis, range, symmetric, plan.WeightOutlierProbability);
        (p, values, _) = WeightChannelGuard.Apply(p, values, dims);

        // ConvTranspose weights are [C_in, C_out/group, k...]: output channel c uses weight channel c % (C_out/group).
        long perGroup = axis >= 0 ? dims[axis] : 1;
        Func<int, int> channelOf = axis < 0 ? _ => 0 : c => (int)(c % perGroup);
        bool adjusted = false;
        if (bias != null)
            (p, adjusted) = QuantParams.AdjustForInt32Bias(p, bias, inputScale, channelOf, values, dims, range, symmetric);
        var codes = QuantParams.QuantizeWeights(values, dims, p, range);
        if (bias == null) return new QuantizedLayerWeights(codes, p, null, null, adjusted);
        var (biasCodes, biasScales) = QuantParams.QuantizeBias(bias, inputScale, p.Scales, channelOf);
        return new QuantizedLayerWeights(codes, p, biasCodes, biasScales, adjusted);
    }
}
