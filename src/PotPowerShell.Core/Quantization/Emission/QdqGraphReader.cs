using Onnx;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Quantization;

/// <summary>Reads the quantizer parameters feeding a node of a QDQ graph.</summary>
internal sealed class QdqGraphReader(GraphProto graph)
{
    private readonly Dictionary<string, NodeProto> _producer = graph.Node.SelectMany(n => n.Output.Select(o => (o, n)))
        .Where(p => p.o.Length > 0).GroupBy(p => p.o).ToDictionary(g => g.Key, g => g.First().n, StringComparer.Ordinal);
    private readonly Dictionary<string, TensorProto> _initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);

    public sealed record Quantizer(float[] Scales, int[] ZeroPoints);

    /// <summary>The DequantizeLinear parameters of input <paramref name="slot"/>, or null when it is not dequantized.</summary>
    public Quantizer? InputQuantizer(NodeProto node, int slot)
    {
        if (node.Input.Count <= slot || !_producer.TryGetValue(node.Input[slot], out var dq) || dq.OpType != "DequantizeLinear") return null;
        if (!_initializers.TryGetValue(dq.Input[1], out var scale)) return null;
        var scales = TensorProtos.ToFloats(scale);
        var zps = dq.Input.Count > 2 && _initializers.TryGetValue(dq.Input[2], out var zp)
            ? TensorProtos.ToFloats(zp).Select(v => (int)v).ToArray()
            : new int[scales.Length];
        return new Quantizer(scales, zps);
    }
}
