using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

public class PipelineTests
{
    [Fact]
    public void An_opset_11_model_with_constant_weights_is_upgraded_checked_and_quantized()
    {
        using var tmp = new TempFolder();
        var random = new Random(5);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var g = new GraphBuilder("old", opset: 11);
        var x = g.Input("x", "batch", 3, 6, 6);
        var conv = g.Node("Conv", new[] { x, g.Constant("w", R(4 * 3 * 9), 4, 3, 3, 3), g.Constant("b", R(4), 4) }, "conv", ("pads", new long[] { 1, 1, 1, 1 }));
        var relu = g.Node("Relu", new[] { conv }, "relu");
        var flat = g.Node("Flatten", new[] { relu }, "flatten");
        var fc = g.Node("Gemm", new[] { flat, g.Constant("fw", R(144 * 5), 5, 144), g.Constant("fb", R(5), 5) }, "fc", ("transB", 1L));
        g.Output(fc);
        OnnxModelFile.Save(g.Build(), tmp.File("old.onnx"));
        var data = new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = TensorData.FromFloats(R(32 * 108), 32, 3, 6, 6) }, null);

        // The 3x3x3 convolution is a stem (faster in float on the CPU): quantize it anyway, this test is about the upgrade.
        var result = DefaultQuantization.Run(tmp.File("old.onnx"), data, new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, Threads = 1 }, tmp.File("q.onnx"));
        Assert.Equal(11, result.SourceOpset);
        Assert.Equal(13, result.Opset);
        Assert.Equal(2, result.QuantizedLayerCount);
        Assert.Equal(2, result.FusedLayerCount);
    }

    [Theory]
    [InlineData(RangeEstimatorKind.MinMax)]
    [InlineData(RangeEstimatorKind.Quantile)]
    [InlineData(RangeEstimatorKind.AbsQuantile)]
    [InlineData(RangeEstimatorKind.Percentile)]
    public void Every_estimator_gives_a_model_that_keeps_the_sample_accurate(RangeEstimatorKind kind)
    {
        using var tmp = new TempFolder();
        var result = DefaultQuantization.Run(DigitsSampleTests.Sample("digits.onnx"), DigitsSampleTests.Sample("calibration"),
            new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, ActivationRange = new RangeEstimatorOptions { Kind = kind }, StatBatchSize = 32, Threads = 1 }, tmp.File("q.onnx"));
        Assert.Equal(kind.ToString(), result.ActivationEstimator);
        Assert.All(result.Layers.Where(l => l.Precision == "INT8"), l => Assert.Equal(kind.ToString(), l.Estimator));
        Assert.True(DigitsSampleTests.Top1(tmp.File("q.onnx")) >= 0.97);
    }

    [Fact]
    public void The_synthetic_transformer_stack_runs_every_matmul_as_an_int8_kernel()
    {
        using var tmp = new TempFolder();
        var model = SyntheticModels.TransformerStack(layers: 1, hidden: 32, heads: 2, sequence: 8, feedForward: 64);
        OnnxModelFile.Save(model, tmp.File("t.onnx"));
        var data = new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = SyntheticModels.NormalData(16, new long[] { 8, 32 }, 3) }, null);
        var result = DefaultQuantization.Run(tmp.File("t.onnx"), data, new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, StatBatchSize = 4, Threads = 1 }, tmp.File("q.onnx"));
        Assert.Equal(8, result.LayerCount); // q, k, v, scores, context, output, ffn up, ffn down
        Assert.Equal(result.QuantizedLayerCount, result.FusedLayerCount);
        // stat_batch_size is a floor: small items share larger automatic batches.
        Assert.True(result.StatBatchSize >= 4, $"batch {result.StatBatchSize}");
    }

    [Fact]
    public void Accuracy_preset_is_aliased_to_mixed_except_on_npu_and_types_follow_the_device()
    {
        var hardware = HardwareProfile.FromFeatures(System.Runtime.InteropServices.Architecture.X64, new[] { "AVX2" });
        var any = PresetResolution.Resolve(new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, Preset = QuantizationPreset.Accuracy }, hardware);
        Assert.Equal(QuantizationPreset.Mixed, any.Effective);
        Assert.True(any.SymmetricWeights);
        Assert.False(any.SymmetricActivations);
        Assert.Equal(QuantizationTypes.U8S7, any.Types);
        var npu = PresetResolution.Resolve(new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, Preset = QuantizationPreset.Accuracy, TargetDevice = TargetDevice.Npu }, hardware);
        Assert.Equal(QuantizationPreset.Accuracy, npu.Effective);
        Assert.False(npu.SymmetricWeights);
        Assert.Equal(QuantizationTypes.U8S8, npu.Types);
        var gpu = PresetResolution.Resolve(new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, TargetDevice = TargetDevice.Gpu }, hardware);
        Assert.Equal(QuantizationTypes.S8S8, gpu.Types);
        Assert.True(gpu.SymmetricActivations);
        var forced = PresetResolution.Resolve(new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, TargetDevice = TargetDevice.Gpu, Types = QuantizationTypes.U8S8 }, hardware);
        Assert.Equal(QuantizationTypes.U8S8, forced.Types);
    }

    [Fact]
    public void Bad_options_are_reported_with_their_key()
    {
        Assert.Equal("StatBatchSizeInvalid", Assert.Throws<PotException>(() =>
            QuantizedModelBuilder.Create(DigitsSampleTests.Sample("digits.onnx"), NpyDataset.Open(DigitsSampleTests.Sample("calibration")),
                new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, StatBatchSize = 0 })).ErrorId);
        Assert.Equal("IgnoredOperationInvalid", Assert.Throws<PotException>(() => IgnoredOperationSyntax.Parse("Conv:group")).ErrorId);
        var parsed = IgnoredOperationSyntax.Parse("Conv:group=32;kernel_shape=[3,3]");
        Assert.Equal("Conv", parsed.Type);
        Assert.Equal("[3,3]", parsed.Attributes!["kernel_shape"]);
    }
}
