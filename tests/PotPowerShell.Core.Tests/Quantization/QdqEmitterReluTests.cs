using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>
/// An INT8 MatMul or Gemm followed by a Relu or Clip(0, 6) whose consumer is float (<see cref="QdqTopology.NeedsMaxForm"/>):
/// ONNX Runtime fuses neither DQ -> MatMul -> Relu -> Sigmoid nor its Gemm and Clip forms into an INT8 kernel, so the
/// emitter writes the activation as Max/Min, which it does fuse.
/// </summary>
public class QdqEmitterReluTests
{
    /// <summary>x[2,64] -> MatMul or Gemm (64x64) -> Relu or Clip(0, 6) -> <paramref name="consumer"/> (Sigmoid or a second MatMul) -> y.</summary>
    private static QdqHarness Model(string layer, string activation, string consumer)
    {
        var random = new Random(3);
        float[] Weights() => Enumerable.Range(0, 64 * 64).Select(_ => (float)(random.NextDouble() - 0.5) / 4).ToArray();
        var g = new GraphBuilder("relu_tail");
        var x = g.Input("x", 2, 64);
        var h = layer == "Gemm"
            ? g.Node("Gemm", new[] { x, g.Initializer("w1", Weights(), 64, 64), g.Initializer("b1", Enumerable.Repeat(0.1f, 64).ToArray(), 64) }, "fc1")
            : g.Node("MatMul", new[] { x, g.Initializer("w1", Weights(), 64, 64) }, "fc1");
        var a = activation == "Relu" ? g.Node("Relu", new[] { h }, "act")
            : g.Node("Clip", new[] { h, g.Initializer("clip_min", new[] { 0f }), g.Initializer("clip_max", new[] { 6f }) }, "act");
        var y = consumer == "Sigmoid" ? g.Node("Sigmoid", new[] { a }, "tail") : g.Node("MatMul", new[] { a, g.Initializer("w2", Weights(), 64, 64) }, "fc2");
        g.Output(y, TensorProto.Types.DataType.Float, 2, 64);
        return new QdqHarness(g.Build(), r => QdqHarness.Input("x", OrtTestRunner.RandomData(r, 2 * 64, scale: 2), 2, 64));
    }

    public static IEnumerable<object[]> Cases() =>
        from layer in new[] { "MatMul", "Gemm" } from activation in new[] { "Relu", "Clip" } select new object[] { layer, activation };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Before_a_float_consumer_the_activation_is_written_as_max_and_the_layer_fuses(string layer, string activation)
    {
        var h = Model(layer, activation, "Sigmoid");
        var qdq = QdqEmitter.Emit(h.Prepared, h.Plan(QuantizationTypes.U8S8));

        var ops = qdq.Graph.Node.Select(n => n.OpType).ToList();
        Assert.DoesNotContain("Relu", ops);
        Assert.DoesNotContain("Clip", ops);
        Assert.Equal("act", qdq.Graph.Node.Single(n => n.OpType == (activation == "Relu" ? "Max" : "Min")).Name);
        var report = FusionReport.Analyze(qdq.ToByteArray());
        Assert.Equal(0, report.FloatLayerCount);
        Assert.Equal(1, report.FusedKernels.GetValueOrDefault(layer == "Gemm" ? "QGemm" : "MatMulIntegerToFloat"));

        // The same values as the activation it replaces: without graph optimizations both graphs run the same float
        // kernels, so the outputs agree bit for bit.
        var original = Restored(qdq, activation);
        Assert.Equal(OrtTestRunner.Run(original, h.Test)["tail_out"], OrtTestRunner.Run(qdq, h.Test)["tail_out"]);
        // ONNX Runtime itself does not fuse the activation's own form: what the rewrite is for.
        Assert.Equal(1, FusionReport.Analyze(original.ToByteArray()).FloatLayerCount);
    }

    [Fact]
    public void Before_an_int8_consumer_the_relu_stays_for_onnx_runtime_to_remove()
    {
        var h = Model("MatMul", "Relu", "MatMul");
        var qdq = QdqEmitter.Emit(h.Prepared, h.Plan(QuantizationTypes.U8S8));
        Assert.Single(qdq.Graph.Node, n => n.OpType == "Relu");
        Assert.DoesNotContain(qdq.Graph.Node, n => n.OpType == "Max");
        Assert.Equal(0, FusionReport.Analyze(qdq.ToByteArray()).OpTypes.GetValueOrDefault("Relu"));
    }

    /// <summary>The model with the Max (and Min) written back as the activation they replace.</summary>
    private static ModelProto Restored(ModelProto qdq, string activation)
    {
        var model = qdq.Clone();
        var nodes = model.Graph.Node;
        var max = nodes.Single(n => n.OpType == "Max");
        int at = nodes.IndexOf(max);
        if (activation == "Relu")
        {
            nodes[at] = new NodeProto { OpType = "Relu", Name = max.Name, Input = { max.Input[0] }, Output = { max.Output[0] } };
            return model;
        }
        var min = nodes.Single(n => n.OpType == "Min");
        nodes[at] = new NodeProto { OpType = "Clip", Name = min.Name, Input = { max.Input[0], max.Input[1], min.Input[1] }, Output = { min.Output[0] } };
        nodes.Remove(min);
        return model;
    }
}
