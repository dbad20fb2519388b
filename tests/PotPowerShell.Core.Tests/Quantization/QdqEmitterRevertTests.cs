using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>Float layers (ignored scope, AAQ reverts) stay float in ORT without breaking their neighbours' fusion.</summary>
public class QdqEmitterRevertTests
{
    [Theory]
    [InlineData("convnet")]
    [InlineData("attention")]
    [InlineData("deconv")]
    public void Reverting_every_layer_gives_the_float_model(string model)
    {
        var h = QdqEmitterFusionTests.Get(model);
        var all = QdqEmitter.Layers(h.Prepared, new HashSet<string>()).Select(l => l.Node).ToHashSet();
        var plan = h.Plan(QuantizationTypes.U8S8, calibrateWith: new HashSet<string>()) with { FloatLayers = all };
        var qdq = QdqEmitter.Emit(h.Prepared, plan);
        Assert.DoesNotContain(qdq.Graph.Node, n => n.OpType is "QuantizeLinear" or "DequantizeLinear");
        string output = h.Float.Graph.Output[0].Name;
        var expected = OrtTestRunner.Run(h.Float, h.Test)[output];
        var actual = OrtTestRunner.Run(qdq, h.Test, GraphOptimizationLevel.ORT_ENABLE_EXTENDED)[output];
        Assert.True(OrtTestRunner.MaxAbsDiff(expected, actual) <= 1e-5f);
    }

    [Theory]
    [InlineData(QuantizationTypes.U8S7)]
    [InlineData(QuantizationTypes.U8S8)]
    public void Reverting_one_conv_of_a_chain_keeps_it_float_and_its_neighbours_fused(QuantizationTypes types)
    {
        var h = QdqEmitterFusionTests.Get("convnet");
        // Ranges come from the all-INT8 calibration, as AAQ does it.
        var plan = h.Plan(types, calibrateWith: new HashSet<string>()) with { FloatLayers = new HashSet<string> { "block_conv1" } };
        var qdq = QdqEmitter.Emit(h.Prepared, plan);
        var report = FusionReport.Analyze(qdq.ToByteArray());

        Assert.Equal(4, report.FusedKernels.GetValueOrDefault("QLinearConv"));
        Assert.Equal(1, report.FloatLayerCount);
        var convs = report.Nodes.Where(n => n.OpType is "QLinearConv" or "Conv" or "FusedConv").ToList();
        Assert.Contains(convs, n => n.Name == "block_conv1" && n.OpType != "QLinearConv");
        foreach (var neighbour in new[] { "stem", "block_conv2", "branch_a", "branch_b" })
            Assert.Contains(convs, n => n.Name == neighbour && n.OpType == "QLinearConv");
        Assert.Equal(1, report.FusedKernels.GetValueOrDefault("QLinearAdd"));
        Assert.Equal(0, report.StrayDequantizeQuantizePairs);

        // The reverted layer reads its own per-axis DQ and keeps its original float weight and bias.
        var conv = qdq.Graph.Node.Single(n => n.Name == "block_conv1");
        Assert.Equal("block_conv1_W", conv.Input[1]);
        Assert.Equal("block_conv1_B", conv.Input[2]);
        var dq = qdq.Graph.Node.Single(n => n.Output.Contains(conv.Input[0]));
        Assert.Equal("DequantizeLinear", dq.OpType);
        Assert.Equal(1, dq.Attribute.Single(a => a.Name == "axis").I);

        // Its output is still close to float: reverting cannot make the model worse than the budget.
        var expected = OrtTestRunner.Run(h.Float, h.Test)["fc_out"];
        var actual = OrtTestRunner.Run(qdq, h.Test, GraphOptimizationLevel.ORT_ENABLE_EXTENDED)["fc_out"];
        Assert.True(OrtTestRunner.MaxAbsDiff(expected, actual) <= QdqEmitterFusionTests.Budget(qdq,
            QdqEmitter.TensorsToCalibrate(h.Prepared, new HashSet<string>()), types, expected.Max(Math.Abs)));
    }

    [Fact]
    public void Reverting_a_projection_keeps_the_other_matmuls_fused()
    {
        var h = QdqEmitterFusionTests.Get("attention");
        var plan = h.Plan(QuantizationTypes.U8S8, calibrateWith: new HashSet<string>()) with { FloatLayers = new HashSet<string> { "q_proj", "o_proj" } };
        var report = FusionReport.Analyze(QdqEmitter.Emit(h.Prepared, plan).ToByteArray());
        int int8MatMuls = report.FusedKernels.GetValueOrDefault("QGemm") + report.FusedKernels.GetValueOrDefault("QLinearMatMul")
            + report.FusedKernels.GetValueOrDefault("MatMulIntegerToFloat");
        Assert.Equal(4, int8MatMuls);
        Assert.Equal(2, report.FloatLayerCount);
        Assert.Equal(0, report.StrayDequantizeQuantizePairs);
    }

    [Fact]
    public void Reverting_more_layers_never_needs_a_tensor_that_was_not_calibrated()
    {
        foreach (var name in new[] { "convnet", "attention", "deconv" })
        {
            var h = QdqEmitterFusionTests.Get(name);
            var none = QdqEmitter.TensorsToCalibrate(h.Prepared, new HashSet<string>()).ToHashSet();
            var layers = QdqEmitter.Layers(h.Prepared, new HashSet<string>()).Select(l => l.Node).ToList();
            // Every prefix of the layer list, reverted, needs only calibrated tensors.
            for (int k = 0; k <= layers.Count; k++)
            {
                var reverted = layers.Take(k).ToHashSet();
                Assert.Subset(none, QdqEmitter.TensorsToCalibrate(h.Prepared, reverted).ToHashSet());
            }
        }
    }
}
