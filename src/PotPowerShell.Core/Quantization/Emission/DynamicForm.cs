using Onnx;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// The dynamic form of a reverted layer (restore_mode only_activations, NNCF's RestoreMode.ONLY_ACTIVATIONS): INT8
/// weights, and the float activation quantized at run time, written in standard ONNX as ONNX Runtime's own dynamic
/// quantizer writes it:
/// <code>
/// x -> DynamicQuantizeLinear -> (x_q uint8, x_scale, x_zp)
/// MatMulInteger(x_q, W_q [K,N] int8, x_zp[, W_zp]) -> Cast(float) -> Mul(Mul(x_scale, W_scale))[ -> Add(bias)]
/// </code>
/// ONNX Runtime's CPU EP fuses this into MatMulIntegerToFloat (MatMulIntegerToFloatFusion, which also takes a constant
/// bias Add that follows) and then DynamicQuantizeMatMul (DynamicQuantizeMatMulFusion, when the DynamicQuantizeLinear
/// feeds only that MatMulInteger: each dynamic layer gets its own). <c>FusionReport</c> counts these kernels apart
/// from the static INT8 ones.
/// <para>
/// Only MatMul (2-D constant weight) and Gemm (2-D constant weight, transA 0, bias of one value per output or one
/// value) have this form. Conv would need ConvInteger, which ONNX Runtime's CPU EP runs without the NCHWc kernels of
/// float Conv, so a reverted Conv stays float.
/// </para>
/// </summary>
internal static class DynamicForm
{
    /// <summary>Whether <paramref name="node"/> (a weighted layer of the prepared model) can take the dynamic form.</summary>
    public static bool Supports(NodeProto node, GraphIndex index)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(index);
        if (!OpCatalog.IsDefaultDomain(node.Domain) || node.Input.Count < 2) return false;
        if (!index.Initializers.TryGetValue(node.Input[1], out var w) || w.Dims.Count != 2) return false;
        if (w.DataType != (int)TensorProto.Types.DataType.Float) return false;
        if (index.IsInitializer(node.Input[0])) return false;
        switch (node.OpType)
        {
            case "MatMul":
                return true;
            case "Gemm":
                if (QdqLayerInfo.Attr(node, "transA", 0) != 0) return false;
                if (node.Input.Count < 3 || node.Input[2].Length == 0) return true;
                if (!index.Initializers.TryGetValue(node.Input[2], out var c)) return false;
                long n = QdqLayerInfo.Attr(node, "transB", 0) != 0 ? w.Dims[0] : w.Dims[1];
                long count = TensorProtos.ElementCount(c);
                return count == 1 || (count == n && c.Dims.Take(Math.Max(0, c.Dims.Count - 1)).All(d => d == 1));
            default:
                return false;
        }
    }
}
