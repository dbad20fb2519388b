using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// Writes the hard-swish that exporters spell out, x * Clip(x + 3, 0, 6) / 6 (PaddlePaddle; the division may come before
/// the product, or be a Mul by 1/6), as x * HardSigmoid(x; alpha 1/6, beta 0.5). Same function, two passes over the
/// tensor instead of four; neither form has an INT8 kernel on ONNX Runtime, so in a quantized model every pass is float
/// (bench/Bench-DefaultQuantization.ps1 NOTES). HardSigmoid exists at every opset the module accepts, HardSwish only from 14.
/// Only where each intermediate tensor feeds the next step alone and is no graph output. The HardSigmoid takes the
/// Clip's name and the product keeps the last node's output, so nothing downstream changes.
/// </summary>
public static class HardSwishFusion
{
    /// <summary>Fuses every match; returns how many.</summary>
    public static int Fuse(GraphProto graph)
    {
        int fused = 0;
        while (FuseOne(graph)) fused++;
        return fused;
    }

    private static bool FuseOne(GraphProto graph)
    {
        var index = new GraphIndex(graph);
        for (int i = 0; i < graph.Node.Count; i++)
        {
            var add = graph.Node[i];
            if (!Is(add, "Add") || ConstantOperand(index, add, 3f) is not { } x) continue;
            if (Next(index, add, "Clip") is not { } clipAt) continue;
            var clip = graph.Node[clipAt];
            if (clip.Input.Count != 3 || !IsValue(index, clip.Input[1], 0f) || !IsValue(index, clip.Input[2], 6f)) continue;
            // x * clip / 6, or x * (clip / 6).
            int? middleAt = null, lastAt = null;
            if (Next(index, clip, "Mul") is { } m && Other(graph.Node[m], clip.Output[0]) == x && Next(index, graph.Node[m], "Div", "Mul") is { } d
                && IsSixth(index, graph.Node[d], graph.Node[m].Output[0]))
                (middleAt, lastAt) = (m, d);
            else if (Next(index, clip, "Div", "Mul") is { } d2 && IsSixth(index, graph.Node[d2], clip.Output[0])
                && index.Consumers(graph.Node[d2].Output[0]) is [var only] && !index.GraphOutputs.Contains(graph.Node[d2].Output[0])
                && Is(graph.Node[only.Node], "Mul") && Other(graph.Node[only.Node], graph.Node[d2].Output[0]) == x)
                (middleAt, lastAt) = (d2, only.Node);
            if (middleAt is not int middle || lastAt is not int last) continue;

            var names = new UniqueNames(index.AllNames());
            var hardSigmoid = new NodeProto { OpType = "HardSigmoid", Name = clip.Name };
            hardSigmoid.Input.Add(x);
            hardSigmoid.Output.Add(names.Next(clip.Name + "_output"));
            hardSigmoid.Attribute.Add(GraphBuilder.Attribute("alpha", 1f / 6));
            hardSigmoid.Attribute.Add(GraphBuilder.Attribute("beta", 0.5f));
            var product = new NodeProto { OpType = "Mul", Name = graph.Node[last].Name };
            product.Input.Add(x);
            product.Input.Add(hardSigmoid.Output[0]);
            product.Output.Add(graph.Node[last].Output[0]);

            var gone = new[] { i, clipAt, middle, last };
            var nodes = new List<NodeProto>(graph.Node.Count - 2);
            for (int k = 0; k < graph.Node.Count; k++)
            {
                if (k == i) nodes.Add(hardSigmoid);
                else if (k == last) nodes.Add(product);
                else if (!gone.Contains(k)) nodes.Add(graph.Node[k]);
            }
            var constants = gone.SelectMany(k => graph.Node[k].Input).ToList();
            graph.Node.Clear();
            graph.Node.AddRange(nodes);
            ModelPreparation.RemoveUnread(graph, constants);
            return true;
        }
        return false;
    }

    private static bool Is(NodeProto node, string op) => node.OpType == op && OpCatalog.IsDefaultDomain(node.Domain) && node.Output.Count == 1;

    /// <summary>The one consumer of the node's output when it is one of <paramref name="ops"/> and the output is no graph output.</summary>
    private static int? Next(GraphIndex index, NodeProto node, params string[] ops) =>
        !index.GraphOutputs.Contains(node.Output[0]) && index.Consumers(node.Output[0]) is [var only] && ops.Any(op => Is(index.Node(only.Node), op))
            ? only.Node : null;

    private static string? Other(NodeProto node, string input) =>
        node.Input.Count != 2 ? null : node.Input[0] == input ? node.Input[1] : node.Input[1] == input ? node.Input[0] : null;

    /// <summary>The non-constant input of a two-input node whose other input is the single value <paramref name="value"/>.</summary>
    private static string? ConstantOperand(GraphIndex index, NodeProto node, float value)
    {
        if (node.Input.Count != 2) return null;
        if (IsValue(index, node.Input[1], value) && !index.IsInitializer(node.Input[0])) return node.Input[0];
        if (IsValue(index, node.Input[0], value) && !index.IsInitializer(node.Input[1])) return node.Input[1];
        return null;
    }

    /// <summary>Div by 6 or Mul by 1/6 of <paramref name="input"/>.</summary>
    private static bool IsSixth(GraphIndex index, NodeProto node, string input) =>
        node.OpType == "Div" ? node.Input.Count == 2 && node.Input[0] == input && IsValue(index, node.Input[1], 6f)
            : ConstantOperand(index, node, 1f / 6) == input;

    /// <summary>
    /// A float initializer holding one value equal to <paramref name="value"/> (within float rounding, for 1/6), of rank 0 or 1,
    /// so it broadcasts without changing the other operand's shape.
    /// </summary>
    private static bool IsValue(GraphIndex index, string name, float value) =>
        index.Initializers.TryGetValue(name, out var t) && t.DataType == (int)DataType.Float && TensorProtos.ElementCount(t) == 1
        && t.Dims.Count <= 1 && Math.Abs(TensorProtos.ToFloats(t)[0] - value) <= 1e-6f * Math.Abs(value);
}
