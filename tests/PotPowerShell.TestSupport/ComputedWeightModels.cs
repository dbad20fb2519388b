using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.TestSupport;

/// <summary>Models whose layer weights the graph computes from stored tensors, as exports without constant folding write them (xunit and Pester).</summary>
public static class ComputedWeightModels
{
    /// <summary>
    /// x [batch, 3, 8, 8] -> "conv", a weight-normalized Conv (v / ReduceL2(v) * g, as torch's weight_norm exports without
    /// folding) whose bias is the sum of two stored vectors and whose gain g also shifts its output (by its sum) -> Relu, GlobalAveragePool, Flatten -> "head", a MatMul
    /// whose weight is Transpose(m * 0.5). Output head_out [batch, 5].
    /// </summary>
    public static ModelProto WeightNormalized()
    {
        var random = new Random(5);
        float[] Data(int n, float scale = 1f) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5) * scale).ToArray();
        var b = new GraphBuilder("weight_norm", 13);
        var x = b.Input("x", "batch", 3L, 8L, 8L);
        var v = b.Initializer("v", Data(4 * 3 * 9), 4, 3, 3, 3);
        var g = b.Initializer("g", Data(4, 4f), 4, 1, 1, 1);
        var norm = b.Node("ReduceL2", new[] { v }, "norm", ("axes", new long[] { 1, 2, 3 }), ("keepdims", 1L));
        var w = b.Node("Mul", new[] { b.Node("Div", new[] { v, norm }, "direction"), g }, "weight");
        var bias = b.Node("Add", new[] { b.Initializer("bias_a", Data(4), 4), b.Initializer("bias_b", Data(4), 4) }, "bias");
        var conv = b.Node("Conv", new[] { x, w, bias }, "conv", ("pads", new long[] { 1, 1, 1, 1 }), ("kernel_shape", new long[] { 3, 3 }));
        var shifted = b.Node("Add", new[] { conv, b.Node("ReduceSum", new[] { g }, "gain_sum", ("keepdims", 0L)) }, "shift");
        var pooled = b.Node("Flatten", new[] { b.Node("GlobalAveragePool", new[] { b.Node("Relu", new[] { shifted }, "relu") }, "pool") }, "flatten");
        var m = b.Initializer("m", Data(5 * 4, 2f), 5, 4);
        var weight = b.Node("Transpose", new[] { b.Node("Mul", new[] { m, b.Initializer("half", new[] { 0.5f }, 1) }, "scaled") }, "transposed");
        b.Output(b.Node("MatMul", new[] { pooled, weight }, "head"), TensorProto.Types.DataType.Float, "batch", 5L);
        return b.Build();
    }

    public static void Write(string path) => File.WriteAllBytes(path, WeightNormalized().ToByteArray());
}
