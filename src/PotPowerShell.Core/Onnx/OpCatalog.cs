namespace PotPowerShell.Core.Onnx;

/// <summary>Op-type facts shared by inspection and quantization.</summary>
public static class OpCatalog
{
    /// <summary>Ops with weights that ONNX Runtime runs as INT8 kernels (QLinearConv, QLinearMatMul, QGemm...).</summary>
    public static readonly IReadOnlySet<string> WeightedLayers = new HashSet<string>(StringComparer.Ordinal)
    {
        "Conv", "ConvTranspose", "MatMul", "Gemm",
    };

    /// <summary>
    /// Ops that only a quantized model holds: QuantizeLinear/DequantizeLinear (QDQ), DynamicQuantizeLinear, the QLinear*
    /// kernels, QGemm, and the integer kernels (ConvInteger, MatMulInteger...) of dynamic quantization.
    /// </summary>
    public static bool IsQuantizationOp(string opType) =>
        opType is "QuantizeLinear" or "DequantizeLinear" or "DynamicQuantizeLinear" or "QGemm"
        || opType.StartsWith("QLinear", StringComparison.Ordinal) || opType.EndsWith("Integer", StringComparison.Ordinal);

    /// <summary>True for nodes of the default ONNX domain ("" or "ai.onnx").</summary>
    public static bool IsDefaultDomain(string domain) => domain.Length == 0 || domain == "ai.onnx";
}
