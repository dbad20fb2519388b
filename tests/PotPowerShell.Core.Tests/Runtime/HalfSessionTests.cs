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
/// Sessions of models with 16-bit float weights. ONNX Runtime 1.31.1 ends the process with a segmentation fault when it
/// creates an ORT_ENABLE_ALL session of a float16 Transpose -> MatMul (as PyTorch exports nn.MultiheadAttention's input
/// projection, found by bench/Sweep-Architectures.ps1 -Half): without OrtSessions' lower level the first test takes the
/// test run down with it.
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
        Assert.Equal(Run(TransposeMatMul(half: false)), Run(TransposeMatMul(half: true)));
    }

    [Fact]
    public void Half_weights_are_found_in_initializers_and_constants_and_only_there()
    {
        Assert.True(ModelInterface.HoldsHalfWeights(TransposeMatMul(half: true).ToByteArray()));
        Assert.False(ModelInterface.HoldsHalfWeights(TransposeMatMul(half: false).ToByteArray()));

        // A Constant node's float16 tensor, with float weights elsewhere.
        var constant = TransposeMatMul(half: false);
        var node = new NodeProto { OpType = "Constant", Name = "c", Output = { "c_out" } };
        node.Attribute.Add(GraphBuilder.Attribute("value", HalfModels.Half(TensorProtos.FromFloats("", new[] { 1.5f, -2f }, 2))));
        constant.Graph.Node.Insert(0, node);
        Assert.True(ModelInterface.HoldsHalfWeights(constant.ToByteArray()));

        // Widened, a float16 export keeps only its float16 interface: not a 16-bit weight.
        var prepared = ModelPreparation.Prepare(TransposeMatMul(half: true));
        Assert.False(ModelInterface.HoldsHalfWeights(prepared.ToByteArray()));
        Assert.False(ModelInterface.HoldsHalfWeights(new byte[] { 0x3A, 0x05, 0xFF }));
    }
}
