using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// Convolutions that run slower as INT8 than as float on ONNX Runtime's CPU execution provider: a Conv with one group,
/// fewer than <see cref="MaxInputChannels"/>+1 input channels and a kernel larger than 1x1 whose reduction (input
/// channels x kernel size) is below <see cref="MinReduction"/>. These are the stems of grayscale and RGB image models
/// (1x3x3, 3x3x3, 1x5x5). ORT runs them in float with the NCHWc layout, while the INT8 kernel pays for an
/// NCHW-to-NHWC transpose and a matrix product with a tiny inner dimension; keeping them float also keeps the input
/// unquantized.
/// </summary>
/// <remarks>
/// Measured (ORT 1.31.1, AVX2 without VNNI, 1 thread, a stem followed by an INT8 3x3 convolution, batch 1 and 16):
/// the stem in float was 12-35% faster than in INT8 for 1x3x3, 2x3x3, 3x3x3 and 1x5x5, about even for 4x3x3, and
/// slower for 8x3x3, 3x7x7 (ResNet's stem) and every 1x1 convolution tried (8 to 24 input channels). On the digits
/// sample the INT8 model went from 0.87x to 1.0x FP32 at batch 1 and from 1.17x to 1.7x at batch 64. Again on an
/// AVX-512 VNNI CPU (bench/Bench-DefaultQuantization.ps1, three passes): from 0.97x to 1.09-1.12x at batch 1 and from
/// 1.6x to 2.1-2.3x at batch 64. Hence the default (DefaultQuantizationOptions.QuantizeStemConvolutions false).
/// </remarks>
public static class StemConvolutions
{
    public const int MaxInputChannels = 3;
    public const int MinReduction = 64;

    /// <summary>True when this target runs on ORT's CPU EP, where the rule was measured (ANY and CPU).</summary>
    public static bool Applies(TargetDevice device) => device is TargetDevice.Any or TargetDevice.Cpu;

    /// <summary>Names of the prepared model's Conv nodes that stay float, in graph order.</summary>
    public static IReadOnlyList<string> Find(ModelProto prepared)
    {
        var weights = prepared.Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var result = new List<string>();
        foreach (var node in prepared.Graph.Node)
        {
            if (node.OpType != "Conv" || !OpCatalog.IsDefaultDomain(node.Domain) || node.Input.Count < 2) continue;
            if (!weights.TryGetValue(node.Input[1], out var w) || w.Dims.Count < 3) continue;
            long group = node.Attribute.FirstOrDefault(a => a.Name == "group")?.I ?? 1;
            long channels = w.Dims[1];
            long kernel = w.Dims.Skip(2).Aggregate(1L, (a, b) => a * b);
            if (group == 1 && channels <= MaxInputChannels && kernel > 1 && channels * kernel < MinReduction)
                result.Add(node.Name);
        }
        return result;
    }
}
