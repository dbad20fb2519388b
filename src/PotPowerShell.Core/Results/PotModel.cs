using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Results;

/// <summary>One graph input or output: name, element type and shape (symbolic dimensions by name, '?' when unknown).</summary>
public sealed record TensorDescription(string Name, string ElementType, IReadOnlyList<string> Shape)
{
    public override string ToString() => $"{Name}: {ElementType}[{string.Join(",", Shape)}]";
}

/// <summary>How many nodes of one op type a graph has.</summary>
public sealed record OpTypeCount(string OpType, int Count)
{
    public override string ToString() => $"{OpType}={Count}";
}

/// <summary>
/// One node of a graph: its name as -IgnoredScope matches it (unnamed nodes get the name quantization gives them,
/// "&lt;OpType&gt;_&lt;index&gt;"), its op type, and whether it is a layer quantization turns into an INT8 kernel.
/// </summary>
public sealed record NodeDescription(string Name, string OpType, bool Quantizable)
{
    public override string ToString() => Name;
}

/// <summary>Where a model keeps its weights.</summary>
public enum WeightStorage
{
    None,
    Initializers,
    ConstantNodes,
    Mixed,
}

/// <summary>What Import-PotModel reports about an ONNX model; later cmdlets take it from the pipeline.</summary>
public sealed record PotModel
{
    public required string Path { get; init; }
    public required string Name { get; init; }
    public required long Opset { get; init; }
    public required long IrVersion { get; init; }
    public required string Producer { get; init; }
    public required IReadOnlyList<TensorDescription> Inputs { get; init => field = ValueList.From(value); }
    public required IReadOnlyList<TensorDescription> Outputs { get; init => field = ValueList.From(value); }
    /// <summary>Nodes of the main graph, each call of a model-local function counted as the nodes of its body (as quantization inlines it).</summary>
    public required int NodeCount { get; init; }
    public required IReadOnlyList<OpTypeCount> OpTypes { get; init => field = ValueList.From(value); }
    /// <summary>Conv, ConvTranspose, MatMul and Gemm nodes: the layers quantization turns into INT8 kernels.</summary>
    public required int QuantizableLayerCount { get; init; }
    /// <summary>
    /// Conv, ConvTranspose, MatMul and Gemm nodes inside control-flow subgraphs (If branches, Loop and Scan bodies): not
    /// in <see cref="QuantizableLayerCount"/>, as quantization works on the main graph and they stay float.
    /// </summary>
    public int SubgraphLayerCount { get; init; }
    public required WeightStorage WeightStorage { get; init; }
    public required int InitializerCount { get; init; }
    public required int ConstantNodeCount { get; init; }
    public required long FileSize { get; init; }
    /// <summary>
    /// True when the model already holds quantization ops (QDQ, QLinear*, dynamic quantization's ConvInteger and
    /// MatMulInteger...): the ones for which DefaultQuantization refuses it (<see cref="PotPowerShell.Core.Onnx.OpCatalog.IsQuantizationOp"/>).
    /// </summary>
    public required bool IsQuantized { get; init; }
    /// <summary>Every node in file order: the names and op types -IgnoredScope and -IgnoredOpType take.</summary>
    public IReadOnlyList<NodeDescription> Nodes { get; init => field = ValueList.From(value); } = ValueList<NodeDescription>.Empty;
}
