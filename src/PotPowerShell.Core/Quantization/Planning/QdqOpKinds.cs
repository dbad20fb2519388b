using Onnx;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Quantization;

/// <summary>How the emitter treats an op type, following what ORT's CPU QDQ fusions accept (ARCHITECTURE.md, QDQ rule 2).</summary>
internal enum QdqOpKind
{
    /// <summary>Left in float, no Q/DQ around it for its own sake.</summary>
    Float,
    /// <summary>Conv, ConvTranspose, Gemm, MatMul with a constant weight, or MatMul of two activations.</summary>
    Weighted,
    /// <summary>Add, Mul: both inputs and the output quantized with their own parameters (QLinearAdd/QLinearMul).</summary>
    Binary,
    /// <summary>Concat: every input and the output quantized (QLinearConcat).</summary>
    Variadic,
    /// <summary>AveragePool, GlobalAveragePool, LeakyRelu, Sigmoid: input and output quantized (QLinear* unary).</summary>
    Unary,
    /// <summary>Data movement: the output(s) share the input's quantizer, so ORT drops the DQ/Q pair around it.</summary>
    Shared,
}

internal static class QdqOpKinds
{
    private static readonly HashSet<string> SharedOps = new(StringComparer.Ordinal)
    {
        "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Slice", "Expand", "Tile", "Gather", "MaxPool", "Resize",
    };

    private static readonly HashSet<string> UnaryOps = new(StringComparer.Ordinal)
    {
        "AveragePool", "GlobalAveragePool", "LeakyRelu", "Sigmoid",
    };

    public static QdqOpKind Of(NodeProto node)
    {
        if (!OpCatalog.IsDefaultDomain(node.Domain)) return QdqOpKind.Float;
        string op = node.OpType;
        if (OpCatalog.WeightedLayers.Contains(op)) return QdqOpKind.Weighted;
        if (op is "Add" or "Mul") return QdqOpKind.Binary;
        if (op == "Concat") return QdqOpKind.Variadic;
        if (UnaryOps.Contains(op)) return node.Output.Count == 1 ? QdqOpKind.Unary : QdqOpKind.Float;
        // Split's outputs all share the input's quantizer (ORT's SplitReplaceWithQuant needs equal parameters).
        if (op == "Split") return QdqOpKind.Shared;
        // MaxPool with an Indices output has no integer kernel.
        if (SharedOps.Contains(op)) return node.Output.Count(o => o.Length > 0) == 1 ? QdqOpKind.Shared : QdqOpKind.Float;
        return QdqOpKind.Float;
    }

    /// <summary>Input slots that carry quantized data for an INT8 node of this kind (others are shapes, axes, indices).</summary>
    public static bool IsDataInput(QdqOpKind kind, int input) => kind switch
    {
        QdqOpKind.Binary or QdqOpKind.Variadic => true,
        QdqOpKind.Unary or QdqOpKind.Shared => input == 0,
        _ => false,
    };
}
