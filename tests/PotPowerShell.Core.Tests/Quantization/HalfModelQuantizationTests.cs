using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Runtime;
using PotPowerShell.Core.Tests.Onnx;
using PotPowerShell.Core.Tests.Warts;
using PotPowerShell.TestSupport;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>
/// DefaultQuantization of a float16 export gives its FP32 twin's quantization: the same layers, ranges, scales and
/// integer weights, with the export's float16 interface kept.
/// </summary>
public class HalfModelQuantizationTests
{
    private static readonly DefaultQuantizationOptions Options = new() { Measurement = TestMeasurement.Int8Faster, Threads = 1, StatBatchSize = 4 };

    /// <summary>Every integer initializer's bytes, and every float initializer's values, as sorted texts (names differ: the export's layers read its input's Cast).</summary>
    private static List<string> Quantizers(ModelProto model) => model.Graph.Initializer
        .Select(t => $"{t.DataType}:{string.Join(",", t.Dims)}:" + (t.DataType == (int)DataType.Float ? string.Join(",", TensorProtos.ToFloats(t)) : Convert.ToHexString(t.RawData.Span)))
        .Order(StringComparer.Ordinal).ToList();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_float16_export_is_quantized_as_its_fp32_twin(bool halfData)
    {
        using var tmp = new TempFolder();
        var twin = HalfPrecisionTests.Fp32Twin(seed: 3);
        OnnxModelFile.Save(twin, tmp.File("fp32.onnx"));
        OnnxModelFile.Save(HalfModels.ToFloat16(twin), tmp.File("fp16.onnx"));
        var x = HalfPrecisionTests.HalfExact(WartModels.Random(new Random(4), 16 * 3 * 64, 2f));
        var shape = new long[] { 16, 3, 8, 8 };
        var floatData = WartModels.Data(("x", TensorData.FromFloats(x, shape)));
        // float32 data for the float16 input is rounded to float16 (exact here), as the export would receive it.
        var exportData = halfData ? WartModels.Data(("x", new TensorData(TensorElementKind.Float16, shape, Array.ConvertAll(x, v => (Half)v)))) : floatData;

        var fp32 = DefaultQuantization.Run(tmp.File("fp32.onnx"), floatData, Options, tmp.File("fp32.int8.onnx"));
        var fp16 = DefaultQuantization.Run(tmp.File("fp16.onnx"), exportData, Options, tmp.File("fp16.int8.onnx"));

        Assert.Equal(2, fp16.QuantizedLayerCount);
        Assert.Equal(fp32.Layers.Select(l => (l.Node, l.Precision, l.InputMin, l.InputMax, l.InputScale, l.InputZeroPoint, l.WeightScaleMin, l.WeightScaleMax)),
            fp16.Layers.Select(l => (l.Node, l.Precision, l.InputMin, l.InputMax, l.InputScale, l.InputZeroPoint, l.WeightScaleMin, l.WeightScaleMax)));
        var quantized = OnnxModelFile.Load(tmp.File("fp16.int8.onnx"));
        Assert.Equal(Quantizers(OnnxModelFile.Load(tmp.File("fp32.int8.onnx"))), Quantizers(quantized));
        Assert.All(quantized.Graph.Input.Concat(quantized.Graph.Output), v => Assert.Equal((int)DataType.Float16, v.Type.TensorType.ElemType));
        Assert.Contains(fp16.Warnings, w => w.Contains("is a 16-bit float model: it is quantized as the FP32 model its weights widen to"));
        Assert.DoesNotContain(fp32.Warnings, w => w.Contains("16-bit"));
        Assert.True(fp16.Check!.Passed);
        Assert.Equal(fp32.Check!.Outputs.Select(o => o.Output), fp16.Check.Outputs.Select(o => o.Output));
    }

    [Fact]
    public void A_model_computing_in_float16_between_casts_is_quantized_as_its_fp32_twin()
    {
        using var tmp = new TempFolder();
        var twin = HalfPrecisionTests.Fp32Twin(seed: 6);
        OnnxModelFile.Save(twin, tmp.File("fp32.onnx"));
        OnnxModelFile.Save(HalfModels.Mixed(twin), tmp.File("mixed.onnx"));
        var data = WartModels.Data(("x", TensorData.FromFloats(HalfPrecisionTests.HalfExact(WartModels.Random(new Random(7), 16 * 3 * 64, 2f)), 16, 3, 8, 8)));

        var fp32 = DefaultQuantization.Run(tmp.File("fp32.onnx"), data, Options, tmp.File("fp32.int8.onnx"));
        var mixed = DefaultQuantization.Run(tmp.File("mixed.onnx"), data, Options, tmp.File("mixed.int8.onnx"));

        Assert.Equal(2, mixed.QuantizedLayerCount);
        Assert.Equal(fp32.Layers.Select(l => (l.Node, l.Precision, l.InputMin, l.InputMax, l.InputScale, l.WeightScaleMin, l.WeightScaleMax)),
            mixed.Layers.Select(l => (l.Node, l.Precision, l.InputMin, l.InputMax, l.InputScale, l.WeightScaleMin, l.WeightScaleMax)));
        var quantized = OnnxModelFile.Load(tmp.File("mixed.int8.onnx"));
        Assert.Equal(Quantizers(OnnxModelFile.Load(tmp.File("fp32.int8.onnx"))), Quantizers(quantized));
        Assert.DoesNotContain(quantized.Graph.Node, n => n.OpType == "Cast" && HalfPrecision.IsHalf((int)n.Attribute[0].I));
        Assert.Contains(mixed.Warnings, w => w.EndsWith("computes in 16-bit floats between Casts: it is quantized as the FP32 model it is without them, so the layers left float run in FP32."));
    }

    [Fact]
    public void An_original_onnx_runtime_refuses_to_time_is_named_itself_not_the_calibration_data()
    {
        // A float16 export whose Resize scales were made float16 too: ONNX Runtime refuses the export (scales are float
        // in every opset), while its widened form quantizes. The latency check then loads the original.
        using var tmp = new TempFolder();
        var export = HalfModels.ToFloat16(WartModels.OldOpsetImage(13));
        var scales = export.Graph.Node.Single(n => n.OpType == "Resize").Input[2];
        int k = export.Graph.Initializer.ToList().FindIndex(t => t.Name == scales);
        export.Graph.Initializer[k] = HalfModels.Half(export.Graph.Initializer[k]);
        OnnxModelFile.Save(export, tmp.File("fp16.onnx"));
        var data = WartModels.Data(("x", WartModels.Floats(1, 8, new long[] { 3, 8, 8 })));
        var options = Options with { Precision = PrecisionMode.AllInt8, Measurement = TestMeasurement.With(OrtModelTimer.Instance) };

        var e = Assert.Throws<PotException>(() => DefaultQuantization.Run(tmp.File("fp16.onnx"), data, options, tmp.File("q.onnx")));
        Assert.Equal("ModelNotLoadable", e.ErrorId);
        Assert.Contains($"cannot load '{tmp.File("fp16.onnx")}'", e.Message);
        Assert.Contains("up_scales", e.Message);
        Assert.False(File.Exists(tmp.File("q.onnx")));
    }

    [Fact]
    public void A_float16_export_of_an_old_opset_is_upgraded_and_quantized()
    {
        using var tmp = new TempFolder();
        OnnxModelFile.Save(HalfModels.ToFloat16(WartModels.OldOpsetImage(11)), tmp.File("fp16.onnx"));
        var data = WartModels.Data(("x", WartModels.Floats(1, 8, new long[] { 3, 8, 8 })));
        var result = DefaultQuantization.Run(tmp.File("fp16.onnx"), data, Options, tmp.File("fp16.int8.onnx"));
        Assert.Equal(11, result.SourceOpset);
        Assert.True(result.QuantizedLayerCount > 0);
    }
}
