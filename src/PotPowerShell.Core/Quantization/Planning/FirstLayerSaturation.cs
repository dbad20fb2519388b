using Onnx;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// POT's saturation_fix first_layer: 7-bit weights in the first INT8 layers only. On x86 CPUs without VNNI, u8 x s8
/// kernels sum pairs of products into int16, which saturates when both an activation and a weight are large; POT
/// limits the fix to the first layers, whose inputs (the model's inputs, not post-Relu activations) use the whole
/// uint8 range most often. The other layers keep the full 8-bit weights of the plan's types.
/// </summary>
public static class FirstLayerSaturation
{
    /// <summary>
    /// The INT8 layers that no other INT8 layer feeds, directly or through any chain of nodes, in graph order. A float
    /// layer before them (an ignored layer or a stem convolution) does not count: what matters is where the INT8
    /// kernels start.
    /// </summary>
    public static IReadOnlySet<string> Find(ModelProto prepared, IEnumerable<QuantizableLayer> int8Layers)
    {
        var int8 = int8Layers.Select(l => l.Node).ToHashSet(StringComparer.Ordinal);
        // Tensors computed from the output of some INT8 layer. The graph is in topological order (ONNX requires it).
        var downstream = new HashSet<string>(StringComparer.Ordinal);
        var first = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in prepared.Graph.Node)
        {
            bool fed = node.Input.Any(downstream.Contains);
            if (int8.Contains(node.Name) && !fed) first.Add(node.Name);
            if (fed || int8.Contains(node.Name))
                foreach (var output in node.Output) if (output.Length > 0) downstream.Add(output);
        }
        return first;
    }
}
