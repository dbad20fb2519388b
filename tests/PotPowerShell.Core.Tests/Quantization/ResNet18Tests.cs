using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Tests.Onnx;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>
/// The benchmark's opset-8 ResNet18 (CNTK export with BatchNormalization), when it is restored on this machine
/// (the benchmark restores it; this test then runs, otherwise it returns at once).
/// </summary>
public class ResNet18Tests
{
    [Fact]
    public void ResNet18_prepares_to_the_same_outputs_and_quantizes_with_every_conv_fused()
    {
        string? path = ResNet18.Path;
        if (path == null) return;
        var model = OnnxModelFile.Load(path);
        string input = model.Graph.Input.First(i => model.Graph.Initializer.All(t => t.Name != i.Name)).Name;
        var h = new QdqHarness(model, r => QdqHarness.Input(input, OrtTestRunner.RandomData(r, 3 * 224 * 224, 100f), 1, 3, 224, 224), batches: 0);

        Assert.Equal(13, ModelInspector.DefaultOpset(h.Prepared));
        Assert.DoesNotContain(h.Prepared.Graph.Node, n => n.OpType == "BatchNormalization");
        string output = model.Graph.Output[0].Name;
        var before = OrtTestRunner.Run(model, h.Test, GraphOptimizationLevel.ORT_ENABLE_ALL)[output];
        var after = OrtTestRunner.Run(h.Prepared, h.Test, GraphOptimizationLevel.ORT_ENABLE_ALL)[output];
        // Folding BN changes float rounding only: within 1e-5 of the output magnitude (outputs reach ~1e1 here).
        Assert.True(OrtTestRunner.MaxAbsDiff(before, after) <= 1e-5f * Math.Max(1f, before.Max(Math.Abs)),
            $"prepared ResNet18 differs by {OrtTestRunner.MaxAbsDiff(before, after)}");

        var qdq = QdqEmitter.Emit(h.Prepared, h.Plan(QuantizationTypes.U8S7));
        var report = FusionReport.Analyze(qdq.ToByteArray());
        Assert.Equal(QdqEmitter.Layers(h.Prepared, new HashSet<string>()).Count, report.FusedKernels.GetValueOrDefault("QLinearConv"));
        Assert.Equal(0, report.FloatLayerCount);
        Assert.Equal(0, report.StrayDequantizeQuantizePairs);
        Assert.Equal(8, report.FusedKernels.GetValueOrDefault("QLinearAdd"));
    }
}
