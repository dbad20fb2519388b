using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;
using PotPowerShell.Core.Tests.Onnx;
using PotPowerShell.TestSupport;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Tests.Runtime;

/// <summary>
/// Sessions of models with 16-bit float weights. ONNX Runtime (1.31.1, and 1.32.0 still) ends the process with a segmentation fault when it
/// creates an ORT_ENABLE_ALL session of a float16 Transpose -> MatMul (as PyTorch exports nn.MultiheadAttention's input
/// projection, found by bench/Sweep-Architectures.ps1 -Half), also when the float16 comes from Casts of float tensors
/// (a mixed-precision export): without OrtSessions' lower level the first test takes the test run down with it.
/// </summary>
public class HalfSessionTests
{
    /// <summary>x [batch, 4, 8] -> Transpose (1, 0, 2) -> MatMul by an [8, 6] weight, as FP32 or as its FP16 export.</summary>
    private static ModelProto TransposeMatMul(bool half)
    {
        var g = new GraphBuilder("transpose_matmul");
        var x = g.Input("x", "batch", 4L, 8L);
        var t = g.Node("Transpose", new[] { x }, "transpose", ("perm", new long[] { 1, 0, 2 }));
        var weight = HalfPrecisionTests.HalfExact(Enumerable.Range(0, 48).Select(i => (i % 7 - 3) * 0.25f).ToArray());
        g.Output(g.Node("MatMul", new[] { t, g.Initializer("w", weight, 8, 6) }, "matmul"), DataType.Float, 4L, "batch", 6L);
        var model = g.Build();
        return half ? HalfModels.ToFloat16(model) : model;
    }

    /// <summary>
    /// The FP32 model computing in float16 between Casts, as a mixed-precision export does: x and the weight cast to
    /// float16, the product cast back to float (<paramref name="castFirst"/>: the Transpose's output cast back to float
    /// instead, the MatMul in float).
    /// </summary>
    private static ModelProto CastToHalf(ModelProto fp32, bool castFirst = false)
    {
        var model = fp32.Clone();
        var graph = model.Graph;
        var transpose = graph.Node.Single(n => n.OpType == "Transpose");
        var matmul = graph.Node.Single(n => n.OpType == "MatMul");
        graph.Node.Insert(0, HalfModels.Cast("x", "x_half", DataType.Float16));
        transpose.Input[0] = "x_half";
        if (castFirst)
        {
            graph.Node.Insert(2, HalfModels.Cast(transpose.Output[0], "transposed", DataType.Float));
            matmul.Input[0] = "transposed";
            return model;
        }
        graph.Node.Insert(1, HalfModels.Cast(matmul.Input[1], "w_half", DataType.Float16));
        matmul.Input[1] = "w_half";
        graph.Node.Add(HalfModels.Cast("matmul_half", "matmul_out", DataType.Float));
        matmul.Output[0] = "matmul_half";
        return model;
    }

    [Fact]
    public void A_float16_transpose_before_a_matmul_loads_and_runs_as_its_fp32_twin()
    {
        var x = HalfPrecisionTests.HalfExact(Enumerable.Range(0, 2 * 32).Select(i => (i % 11 - 5) * 0.125f).ToArray());
        float[] Run(ModelProto model)
        {
            using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, threads: 1);
            using var session = OrtSessions.Create(model.ToByteArray(), options, "model");
            Assert.Equal(GraphOptimizationLevel.ORT_ENABLE_ALL, options.GraphOptimizationLevel);
            bool half = session.InputMetadata["x"].ElementDataType == TensorElementType.Float16;
            using var input = half
                ? OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(x, v => (Float16)v), new long[] { 2, 4, 8 })
                : OrtValue.CreateTensorValueFromMemory(x, new long[] { 2, 4, 8 });
            using var outputs = session.Run(new RunOptions(), new[] { "x" }, new[] { input }, new[] { "matmul_out" });
            return FloatOutputs.ToArray(outputs[0]);
        }
        // Small integers times quarters: float16 holds every product and sum exactly.
        var fp32 = TransposeMatMul(half: false);
        Assert.Equal(Run(fp32), Run(TransposeMatMul(half: true)));
        Assert.Equal(Run(fp32), Run(CastToHalf(fp32)));
        Assert.Equal(Run(fp32), Run(CastToHalf(fp32, castFirst: true)));
    }

    [Fact]
    public void Half_weights_and_half_transposes_are_found_and_only_they()
    {
        Assert.True(ModelInterface.MayCrashOptimized(TransposeMatMul(half: true).ToByteArray()));
        var fp32 = TransposeMatMul(half: false);
        Assert.False(ModelInterface.MayCrashOptimized(fp32.ToByteArray()));
        Assert.True(ModelInterface.MayCrashOptimized(CastToHalf(fp32).ToByteArray()));
        Assert.True(ModelInterface.MayCrashOptimized(CastToHalf(fp32, castFirst: true).ToByteArray()));

        // Through another node: x cast to float16, then a Relu, then the Transpose.
        var relu = CastToHalf(fp32);
        relu.Graph.Node.Insert(1, new NodeProto { OpType = "Relu", Name = "relu", Input = { "x_half" }, Output = { "x_relu" } });
        relu.Graph.Node.Single(n => n.OpType == "Transpose").Input[0] = "x_relu";
        Assert.True(ModelInterface.MayCrashOptimized(relu.ToByteArray()));

        // A float Transpose whose output is cast to float16 for the MatMul: 16-bit, but no 16-bit Transpose.
        var late = CastToHalf(fp32);
        var transpose = late.Graph.Node.Single(n => n.OpType == "Transpose");
        var cast = late.Graph.Node.Single(n => n.Output[0] == "x_half");
        (transpose.Input[0], cast.Input[0], transpose.Output[0]) = ("x", "transposed", "transposed");
        late.Graph.Node.Single(n => n.OpType == "MatMul").Input[0] = "x_half";
        late.Graph.Node.Remove(cast);
        late.Graph.Node.Insert(late.Graph.Node.IndexOf(transpose) + 1, cast);
        Assert.False(ModelInterface.MayCrashOptimized(late.ToByteArray()));

        // A Constant node's float16 tensor, with float weights elsewhere.
        var constant = TransposeMatMul(half: false);
        var node = new NodeProto { OpType = "Constant", Name = "c", Output = { "c_out" } };
        node.Attribute.Add(GraphBuilder.Attribute("value", HalfModels.Half(TensorProtos.FromFloats("", new[] { 1.5f, -2f }, 2))));
        constant.Graph.Node.Insert(0, node);
        Assert.True(ModelInterface.MayCrashOptimized(constant.ToByteArray()));

        // A float16 input read by the Transpose itself.
        var halfInput = fp32.Clone();
        halfInput.Graph.Input[0].Type.TensorType.ElemType = (int)DataType.Float16;
        Assert.True(ModelInterface.MayCrashOptimized(halfInput.ToByteArray()));

        // Widened, a float16 export keeps only its float16 interface, behind Casts.
        var prepared = ModelPreparation.Prepare(TransposeMatMul(half: true));
        Assert.Contains(prepared.Graph.Node, n => n.OpType == "Cast");
        Assert.False(ModelInterface.MayCrashOptimized(prepared.ToByteArray()));
        Assert.False(ModelInterface.MayCrashOptimized(new byte[] { 0x3A, 0x05, 0xFF }));
    }
}
