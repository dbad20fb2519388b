using Onnx;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// Warnings about weighted layers DefaultQuantization cannot reach, so they stay float: layers inside control-flow
/// subgraphs (<see cref="SubgraphLayers"/>) and ONNX Runtime's own fused layers (<see cref="RuntimeFusedLayers"/>).
/// </summary>
internal static class LayersLeftFloat
{
    public static string? InSubgraphs(GraphProto main, string modelPath)
    {
        var found = SubgraphLayers.Find(main);
        if (found.Count == 0) return null;
        return $"'{modelPath}' has {DescribeSubgraphs(found)}. They stay float: DefaultQuantization quantizes the main graph.";
    }

    /// <summary>The control-flow subgraph layers of a model that has no layer to quantize in its main graph, for its error; null when it has none.</summary>
    public static string? OnlySubgraphs(GraphProto main, string modelPath)
    {
        var found = SubgraphLayers.Find(main);
        if (found.Count == 0) return null;
        return $"'{modelPath}' has no Conv, ConvTranspose, MatMul or Gemm layer in its main graph, which is what DefaultQuantization quantizes, " +
               $"but {DescribeSubgraphs(found)}. Export the model without control flow (for example traced with the inputs that decide " +
               "its If conditions fixed), so that its layers are in the main graph.";
    }

    private static string DescribeSubgraphs(IReadOnlyList<(string Layer, string Parent)> found) =>
        $"{found.Count} Conv, ConvTranspose, MatMul or Gemm layer(s) inside control-flow subgraphs (If, Loop, Scan; the first is '{found[0].Layer}' in '{found[0].Parent}')";

    public static string? RuntimeFusions(GraphProto main, string modelPath) =>
        RuntimeFusedLayers.Find(main) is { Count: > 0 } found
            ? $"'{modelPath}' has {Describe(found)}. They stay float: DefaultQuantization quantizes the standard Conv, ConvTranspose, MatMul and Gemm. {Advice}"
            : null;

    /// <summary>The ONNX Runtime fused layers of a model that has no standard layer to quantize, for its error; null when it has none.</summary>
    public static string? OnlyRuntimeFusions(GraphProto main, string modelPath) =>
        RuntimeFusedLayers.Find(main) is { Count: > 0 } found
            ? $"'{modelPath}' has no Conv, ConvTranspose, MatMul or Gemm layer that DefaultQuantization quantizes, but {Describe(found)}. {Advice}"
            : null;

    private const string Advice = "Quantize the model as exported, before ONNX Runtime's optimizations (optimized_model_filepath, the transformer optimizer) fused its layers.";

    private static string Describe(IReadOnlyList<(string Layer, string OpType)> found) =>
        $"{found.Count} layer(s) with weights in ONNX Runtime's own fused ops ({string.Join(", ", found.Select(f => f.OpType).Distinct(StringComparer.Ordinal))} of com.microsoft; the first is '{found[0].Layer}')";
}
