using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization;
using Xunit.Abstractions;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>Emitted models fuse in ORT (every quantized Conv/MatMul/Gemm becomes an INT8 kernel) and stay close to float.</summary>
public class QdqEmitterFusionTests
{
    private readonly ITestOutputHelper _out;
    public QdqEmitterFusionTests(ITestOutputHelper output) => _out = output;

    internal static QdqHarness ConvNet() =>
        new(QdqTestModels.ConvNet(), r => QdqHarness.Input("x", OrtTestRunner.RandomData(r, 2 * 3 * 16 * 16), 2, 3, 16, 16));

    internal static QdqHarness Attention() =>
        new(QdqTestModels.Attention(), r => QdqHarness.Input("x", OrtTestRunner.RandomData(r, 2 * 8 * 16), 2, 8, 16));

    internal static QdqHarness Deconv() =>
        new(QdqTestModels.ConvTransposeNet(group: 2), r => QdqHarness.Input("x", OrtTestRunner.RandomData(r, 2 * 2 * 8 * 8), 2, 2, 8, 8));

    internal static QdqHarness Pooling() =>
        new(QdqTestModels.PoolingNet(), r => QdqHarness.Input("x", OrtTestRunner.RandomData(r, 2 * 3 * 16 * 16), 2, 3, 16, 16));

    private static readonly Lazy<QdqHarness> ConvNetH = new(ConvNet);
    private static readonly Lazy<QdqHarness> PoolingH = new(Pooling);
    private static readonly Lazy<QdqHarness> AttentionH = new(Attention);
    private static readonly Lazy<QdqHarness> DeconvH = new(Deconv);

    internal static QdqHarness Get(string name) => name switch
    {
        "convnet" => ConvNetH.Value,
        "attention" => AttentionH.Value,
        "pooling" => PoolingH.Value,
        _ => DeconvH.Value,
    };

    /// <summary>
    /// A loose accuracy budget derived from the quantization steps: every activation quantizer adds at most half a step
    /// of its range (1/510 of it) and every weight quantizer half a step of the weights' range (1/(2*(2^b - 2))); allow
    /// each one a gain of 2 on its way to the output. Relative to the largest float output.
    /// </summary>
    internal static float Budget(ModelProto qdq, IReadOnlyList<string> roots, QuantizationTypes types, float maxAbsOutput)
    {
        int weightQuantizers = qdq.Graph.Node.Count(n => n.OpType == "DequantizeLinear" && n.Name.EndsWith("_weight_DequantizeLinear", StringComparison.Ordinal));
        double weightLevels = types == QuantizationTypes.U8S7 ? 126 : 254;
        double relative = 2 * (roots.Count / 510.0 + weightQuantizers / (2 * weightLevels));
        return (float)(relative * maxAbsOutput);
    }

    public static IEnumerable<object[]> Cases()
    {
        foreach (var model in new[] { "convnet", "attention", "deconv", "pooling" })
            foreach (var types in new[] { QuantizationTypes.U8S7, QuantizationTypes.U8S8 })
                foreach (var symmetric in new[] { false, true })
                    yield return new object[] { model, types, symmetric };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_quantized_layer_fuses_and_outputs_stay_close_to_float(string model, QuantizationTypes types, bool symmetricActivations)
    {
        var h = Get(model);
        var plan = h.Plan(types, symmetricActivations: symmetricActivations);
        var qdq = QdqEmitter.Emit(h.Prepared, plan);
        var report = FusionReport.Analyze(qdq.ToByteArray());
        _out.WriteLine(report.ToString());

        // No float Conv/MatMul/Gemm left (ORT 1.31's CPU EP has no QDQ ConvTranspose fusion: it stays float on int8 weights).
        Assert.Equal(0, report.FloatLayers.Where(kv => kv.Key != "ConvTranspose").Sum(kv => kv.Value));
        Assert.Equal(0, report.StrayDequantizeQuantizePairs);
        switch (model)
        {
            case "convnet":
                Assert.Equal(5, report.FusedKernels.GetValueOrDefault("QLinearConv"));
                Assert.Equal(1, report.FusedKernels.GetValueOrDefault("QGemm"));
                Assert.Equal(1, report.FusedKernels.GetValueOrDefault("QLinearAdd"));
                Assert.Equal(1, report.FusedKernels.GetValueOrDefault("QLinearConcat"));
                Assert.Equal(1, report.FusedKernels.GetValueOrDefault("QLinearGlobalAveragePool"));
                // MaxPool and Flatten run on uint8 with their Q/DQ dropped; the only Q left is the input's.
                Assert.Equal(1, report.QuantizeLinearCount);
                Assert.Equal(0, report.DequantizeLinearCount);
                break;
            case "attention":
                int matmuls = report.FusedKernels.GetValueOrDefault("QGemm") + report.FusedKernels.GetValueOrDefault("QLinearMatMul")
                    + report.FusedKernels.GetValueOrDefault("MatMulIntegerToFloat");
                Assert.Equal(6, matmuls);
                break;
            case "pooling":
                Assert.Equal(4, report.FusedKernels.GetValueOrDefault("QLinearConv"));
                Assert.Equal(1, report.FusedKernels.GetValueOrDefault("QLinearAveragePool"));
                Assert.Equal(1, report.FusedKernels.GetValueOrDefault("QLinearLeakyRelu"));
                Assert.Equal(1, report.FusedKernels.GetValueOrDefault("QLinearConcat"));
                Assert.Equal(1, report.FusedKernels.GetValueOrDefault("QLinearSigmoid"));
                // Resize runs on uint8 with its Q/DQ dropped.
                Assert.Contains(report.Nodes, n => n.OpType == "Resize");
                // One Q for the input, one DQ for the output (QLinearConv always writes uint8).
                Assert.Equal(1, report.QuantizeLinearCount);
                Assert.Equal(1, report.DequantizeLinearCount);
                break;
            default:
                Assert.Equal(2, report.FusedKernels.GetValueOrDefault("QLinearConv"));
                Assert.Equal(1, report.FloatLayers.GetValueOrDefault("ConvTranspose"));
                break;
        }

        string output = h.Float.Graph.Output[0].Name;
        var expected = OrtTestRunner.Run(h.Float, h.Test)[output];
        var fused = OrtTestRunner.Run(qdq, h.Test, GraphOptimizationLevel.ORT_ENABLE_EXTENDED)[output];
        var simulated = OrtTestRunner.Run(qdq, h.Test, GraphOptimizationLevel.ORT_DISABLE_ALL)[output];
        float maxAbs = expected.Max(Math.Abs);
        float budget = Budget(qdq, QdqEmitter.TensorsToCalibrate(h.Prepared, new HashSet<string>()), types, maxAbs);
        float error = OrtTestRunner.MaxAbsDiff(expected, fused);
        _out.WriteLine($"max |int8 - float| = {error} (budget {budget}, max |float| {maxAbs}); |fused - simulated| = {OrtTestRunner.MaxAbsDiff(fused, simulated)}");
        Assert.True(error <= budget, $"INT8 output differs from float by {error}, more than the budget {budget}");
        Assert.True(OrtTestRunner.MaxAbsDiff(expected, simulated) <= budget);
        // The fused kernels compute the QDQ graph's math; without VNNI, 8-bit weights may saturate (notes §2), so only
        // 7-bit weights or VNNI hold them to the simulated result.
        if (types == QuantizationTypes.U8S7 || HardwareProfile.Current.HasVnni)
            Assert.True(OrtTestRunner.MaxAbsDiff(fused, simulated) <= budget / 4);
    }

    [Fact]
    public void Int8_activations_are_emitted_for_s8s8()
    {
        var h = Get("convnet");
        var qdq = QdqEmitter.Emit(h.Prepared, h.Plan(QuantizationTypes.S8S8));
        var zeroPoints = qdq.Graph.Initializer.Where(t => t.Name.EndsWith("_zero_point", StringComparison.Ordinal) && !t.Name.Contains("weight") && !t.Name.Contains("bias")).ToList();
        Assert.NotEmpty(zeroPoints);
        Assert.All(zeroPoints, t => Assert.Equal((int)TensorProto.Types.DataType.Int8, t.DataType));
        // Relu outputs use the whole int8 range from 0 (zp = -128) so ORT can drop the Relu on ARM.
        var reluZp = qdq.Graph.Initializer.Single(t => t.Name == "stem_relu_out_zero_point");
        Assert.Equal(-128, (sbyte)reluZp.RawData[0]);
        var expected = OrtTestRunner.Run(h.Float, h.Test)["fc_out"];
        var simulated = OrtTestRunner.Run(qdq, h.Test)["fc_out"];
        float budget = Budget(qdq, QdqEmitter.TensorsToCalibrate(h.Prepared, new HashSet<string>()), QuantizationTypes.S8S8, expected.Max(Math.Abs));
        Assert.True(OrtTestRunner.MaxAbsDiff(expected, simulated) <= budget);
    }
}
