using Onnx;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Quantization;

/// <summary>The warning of a model with weighted layers in control-flow subgraphs (<see cref="SubgraphLayers"/>): they stay float.</summary>
internal static class SubgraphWarning
{
    public static string? For(GraphProto main, string modelPath)
    {
        var found = SubgraphLayers.Find(main);
        if (found.Count == 0) return null;
        return $"'{modelPath}' has {found.Count} Conv, ConvTranspose, MatMul or Gemm layer(s) inside control-flow subgraphs " +
               $"(If, Loop, Scan; the first is '{found[0].Layer}' in '{found[0].Parent}'). They stay float: DefaultQuantization quantizes the main graph.";
    }
}
