using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>
/// The ignored scope keeps every op the emitter quantizes in float, not only the weighted layers: an Add, Concat,
/// pool or Sigmoid named (or typed) in the scope gets no QLinear kernel, and the rest of the model still fuses.
/// </summary>
public class IgnoredNonWeightedOpsTests
{
    private static FusionReport Emit(string model, IReadOnlyList<string> names, params IgnoredOperation[] operations)
    {
        var h = QdqEmitterFusionTests.Get(model);
        var ignored = IgnoredScope.Resolve(h.Prepared.Graph, names, operations).Nodes;
        var plan = h.Plan(QuantizationTypes.U8S7, floatLayers: ignored);
        var qdq = QdqEmitter.Emit(h.Prepared, plan);
        // Still the float model's function, within the quantization budget of the fully quantized model.
        string output = h.Float.Graph.Output[0].Name;
        var expected = OrtTestRunner.Run(h.Float, h.Test)[output];
        var actual = OrtTestRunner.Run(qdq, h.Test, Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED)[output];
        float budget = QdqEmitterFusionTests.Budget(qdq, QdqEmitter.TensorsToCalibrate(h.Prepared, new HashSet<string>()), QuantizationTypes.U8S7, expected.Max(Math.Abs));
        Assert.True(OrtTestRunner.MaxAbsDiff(expected, actual) <= budget);
        return FusionReport.Analyze(qdq.ToByteArray());
    }

    [Theory]
    [InlineData("convnet", "block_add", "QLinearAdd")]
    [InlineData("convnet", "concat", "QLinearConcat")]
    [InlineData("convnet", "gap", "QLinearGlobalAveragePool")]
    [InlineData("pooling", "avgpool", "QLinearAveragePool")]
    [InlineData("pooling", "leaky", "QLinearLeakyRelu")]
    [InlineData("pooling", "gate", "QLinearSigmoid")]
    public void A_node_named_in_the_scope_gets_no_int8_kernel(string model, string node, string kernel)
    {
        Assert.Equal(1, Emit(model, Array.Empty<string>()).FusedKernels.GetValueOrDefault(kernel));
        var report = Emit(model, new[] { node });
        Assert.Equal(0, report.FusedKernels.GetValueOrDefault(kernel));
        Assert.Contains(report.Nodes, n => n.Name.StartsWith(node, StringComparison.Ordinal) && !n.OpType.StartsWith("QLinear", StringComparison.Ordinal));
        // The weighted layers around it stay INT8.
        Assert.Equal(0, report.FloatLayers.Where(kv => kv.Key != "ConvTranspose").Sum(kv => kv.Value));
    }

    [Fact]
    public void Op_types_and_patterns_reach_non_weighted_ops()
    {
        Assert.Equal(0, Emit("convnet", Array.Empty<string>(), new IgnoredOperation("Add")).FusedKernels.GetValueOrDefault("QLinearAdd"));
        Assert.Equal(0, Emit("pooling", Array.Empty<string>(), new IgnoredOperation("sigmoid")).FusedKernels.GetValueOrDefault("QLinearSigmoid"));
        var axis = new Dictionary<string, string> { ["axis"] = "1" };
        Assert.Equal(0, Emit("pooling", Array.Empty<string>(), new IgnoredOperation("Concat", axis)).FusedKernels.GetValueOrDefault("QLinearConcat"));
        var otherAxis = new Dictionary<string, string> { ["axis"] = "2" };
        Assert.Equal(1, Emit("pooling", Array.Empty<string>(), new IgnoredOperation("Concat", otherAxis)).FusedKernels.GetValueOrDefault("QLinearConcat"));
        Assert.Equal(0, Emit("convnet", new[] { "/block_a.+/" }).FusedKernels.GetValueOrDefault("QLinearAdd"));
    }

    [Fact]
    public void A_data_movement_op_in_the_scope_stays_float()
    {
        // MaxPool shares its input's quantizer when INT8; ignored, it runs in float on dequantized values.
        var report = Emit("convnet", new[] { "pool" });
        Assert.Contains(report.Nodes, n => n.OpType == "MaxPool");
        Assert.True(report.DequantizeLinearCount > 0);
        Assert.Equal(5, report.FusedKernels.GetValueOrDefault("QLinearConv"));
    }
}
