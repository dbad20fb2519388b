using Microsoft.ML.OnnxRuntime;
using Onnx;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization;

/// <summary>One node of ORT's optimized graph.</summary>
public sealed record OptimizedNode(string Name, string OpType);

/// <summary>
/// What ONNX Runtime's CPU EP made of a QDQ model: it loads the model at ORT_ENABLE_EXTENDED (the level with the QDQ
/// fusions but without the NHWC layout rewrite), saves the optimized graph to a temporary file and counts.
/// </summary>
public sealed record FusionReport
{
    /// <summary>INT8 kernels by op type (QLinearConv, QLinearMatMul, MatMulIntegerToFloat, QGemm, QLinearAdd, ...), sorted by name.</summary>
    public required IReadOnlyDictionary<string, int> FusedKernels { get; init; }
    /// <summary>
    /// Kernels of layers with INT8 weights and activations quantized at run time (restore_mode only_activations), by op
    /// type: DynamicQuantizeMatMul, or MatMulIntegerToFloat / MatMulInteger fed by a DynamicQuantizeLinear. They are not
    /// in <see cref="FusedKernels"/>, which counts static INT8 kernels only.
    /// </summary>
    public IReadOnlyDictionary<string, int> DynamicKernels { get; init; } = new Dictionary<string, int>();
    /// <summary>Float Conv, ConvTranspose, MatMul and Gemm (and their fused float forms, e.g. FusedConv) still in the graph, by op type.</summary>
    public required IReadOnlyDictionary<string, int> FloatLayers { get; init; }
    /// <summary>DequantizeLinear nodes whose output goes straight into a QuantizeLinear (requantization done in float).</summary>
    public required int StrayDequantizeQuantizePairs { get; init; }
    public required int QuantizeLinearCount { get; init; }
    public required int DequantizeLinearCount { get; init; }
    /// <summary>Every op type in the optimized graph with its count, sorted by name.</summary>
    public required IReadOnlyDictionary<string, int> OpTypes { get; init; }
    /// <summary>The optimized graph's nodes (name, op type) in ORT's order; fused kernels keep the target node's name.</summary>
    public required IReadOnlyList<OptimizedNode> Nodes { get; init; }

    public int FusedKernelCount => FusedKernels.Values.Sum();
    public int FloatLayerCount => FloatLayers.Values.Sum();
    public int DynamicKernelCount => DynamicKernels.Values.Sum();

    private static readonly HashSet<string> Int8Kernels = new(StringComparer.Ordinal)
    {
        "QLinearConv", "QLinearMatMul", "MatMulIntegerToFloat", "QGemm", "QLinearAdd", "QLinearMul", "QLinearConcat",
        "QLinearAveragePool", "QLinearGlobalAveragePool", "QLinearLeakyRelu", "QLinearSigmoid", "QLinearSoftmax",
        "QLinearWhere", "QLinearConvTranspose", "ConvInteger", "MatMulInteger", "QAttention",
    };

    private static readonly HashSet<string> FloatLayerOps = new(StringComparer.Ordinal)
    {
        "Conv", "ConvTranspose", "MatMul", "Gemm", "FusedConv", "FusedGemm", "FusedMatMul", "NchwcConv",
    };

    /// <summary>Loads <paramref name="qdqModel"/> in ORT and counts what its graph optimizations fused.</summary>
    public static FusionReport Analyze(byte[] qdqModel)
    {
        string path = Path.Combine(Path.GetTempPath(), $"pot-fusion-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_EXTENDED, threads: 1))
            {
                options.OptimizedModelFilePath = path;
                using var session = OrtSessions.Create(qdqModel, options, "quantized model");
            }
            ModelProto optimized;
            using (var stream = File.OpenRead(path)) optimized = ModelProto.Parser.ParseFrom(stream);
            return Count(optimized.Graph);
        }
        finally
        {
            if (File.Exists(path)) File.Delete(path);
        }
    }

    /// <summary>Counts an (already optimized) graph.</summary>
    public static FusionReport Count(GraphProto graph)
    {
        var ops = graph.Node.GroupBy(n => n.OpType).OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var n in graph.Node) foreach (var o in n.Output) producers[o] = n;
        int stray = graph.Node.Count(n => n.OpType == "QuantizeLinear" && n.Input.Count > 0
            && producers.TryGetValue(n.Input[0], out var p) && p.OpType == "DequantizeLinear");
        // Kernels of dynamic layers (restore_mode only_activations): DynamicQuantizeMatMul, or an integer MatMul whose
        // activation ORT quantizes at run time (DynamicQuantizeLinear), when a fusion did not apply.
        var dynamicNodes = graph.Node.Where(n => n.OpType == "DynamicQuantizeMatMul"
            || (n.OpType is "MatMulIntegerToFloat" or "MatMulInteger" && n.Input.Count > 0
                && producers.TryGetValue(n.Input[0], out var p) && p.OpType == "DynamicQuantizeLinear")).ToList();
        var dynamic = dynamicNodes.GroupBy(n => n.OpType).OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var int8 = Filter(ops, Int8Kernels).Select(kv => (kv.Key, Count: kv.Value - dynamic.GetValueOrDefault(kv.Key))).Where(kv => kv.Count > 0)
            .ToDictionary(kv => kv.Key, kv => kv.Count, StringComparer.Ordinal);
        return new FusionReport
        {
            FusedKernels = int8,
            DynamicKernels = dynamic,
            FloatLayers = Filter(ops, FloatLayerOps),
            StrayDequantizeQuantizePairs = stray,
            QuantizeLinearCount = ops.GetValueOrDefault("QuantizeLinear"),
            DequantizeLinearCount = ops.GetValueOrDefault("DequantizeLinear"),
            OpTypes = ops,
            Nodes = graph.Node.Select(n => new OptimizedNode(n.Name, n.OpType)).ToList(),
        };
    }

    private static IReadOnlyDictionary<string, int> Filter(Dictionary<string, int> ops, HashSet<string> keep) =>
        ops.Where(kv => keep.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    public override string ToString() =>
        $"fused: {Format(FusedKernels)}; dynamic: {Format(DynamicKernels)}; float layers: {Format(FloatLayers)}; stray DQ->Q: {StrayDequantizeQuantizePairs}; Q: {QuantizeLinearCount}, DQ: {DequantizeLinearCount}";

    private static string Format(IReadOnlyDictionary<string, int> counts) =>
        counts.Count == 0 ? "none" : string.Join(", ", counts.Select(kv => $"{kv.Key} {kv.Value}"));
}
