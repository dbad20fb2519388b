namespace PotPowerShell.Core.Onnx;

/// <summary>Op-type facts shared by inspection and quantization.</summary>
public static class OpCatalog
{
    /// <summary>Ops with weights that ONNX Runtime runs as INT8 kernels (QLinearConv, QLinearMatMul, QGemm...).</summary>
    public static readonly IReadOnlySet<string> WeightedLayers = new HashSet<string>(StringComparer.Ordinal)
    {
        "Conv", "ConvTranspose", "MatMul", "Gemm",
    };

    /// <summary>True for nodes of the default ONNX domain ("" or "ai.onnx").</summary>
    public static bool IsDefaultDomain(string domain) => domain.Length == 0 || domain == "ai.onnx";
}
