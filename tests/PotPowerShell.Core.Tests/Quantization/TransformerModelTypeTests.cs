using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>POT's model_type transformer: activation products are quantized symmetrically.</summary>
public class TransformerModelTypeTests
{
    /// <summary>Zero points of the activation quantizers feeding inputs 0 and 1 of a node of the emitted QDQ model.</summary>
    private static int[] InputZeroPoints(global::Onnx.ModelProto model, string node, int inputs)
    {
        var byOutput = model.Graph.Node.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n, StringComparer.Ordinal);
        var initializers = model.Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        return model.Graph.Node.Single(n => n.Name == node).Input.Take(inputs)
            .Select(i => byOutput[i]).Select(dq => (int)initializers[dq.Input[2]].RawData.Span[0]).ToArray();
    }

    private static global::Onnx.ModelProto Quantize(TempFolder tmp, string? modelType, TargetDevice device)
    {
        string model = tmp.File("t.onnx"), output = tmp.File($"q-{modelType}-{device}.onnx");
        if (!File.Exists(model))
            OnnxModelFile.Save(SyntheticModels.TransformerStack(layers: 1, hidden: 32, heads: 2, sequence: 8, feedForward: 64), model);
        var data = new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = SyntheticModels.NormalData(16, new long[] { 8, 32 }, 3) }, null);
        var options = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, Preset = QuantizationPreset.Mixed, ModelType = modelType ?? "none", TargetDevice = device, Types = QuantizationTypes.U8S8, Threads = 1 };
        Assert.Equal(8, DefaultQuantization.Run(model, data, options, output).QuantizedLayerCount);
        return OnnxModelFile.Load(output);
    }

    [Fact]
    public void Activation_products_get_symmetric_quantizers_for_transformers_on_cpu_targets()
    {
        using var tmp = new TempFolder();
        var plain = Quantize(tmp, null, TargetDevice.Any);
        var transformer = Quantize(tmp, "transformer", TargetDevice.Any);
        var npu = Quantize(tmp, "transformer", TargetDevice.Npu);
        // Queries and keys take both signs: a symmetric uint8 quantizer has zero point 128; the mixed preset's
        // asymmetric ones follow the calibrated range.
        Assert.Equal(new[] { 128, 128 }, InputZeroPoints(transformer, "layer0/attention/scores", 2));
        Assert.NotEqual(new[] { 128, 128 }, InputZeroPoints(plain, "layer0/attention/scores", 2));
        // POT applies the rule on ANY, CPU and GPU only.
        Assert.Equal(InputZeroPoints(plain, "layer0/attention/scores", 2), InputZeroPoints(npu, "layer0/attention/scores", 2));
        // Inputs of MatMuls with a constant weight keep the preset's quantizers.
        Assert.Equal(InputZeroPoints(plain, "layer0/query/MatMul", 1), InputZeroPoints(transformer, "layer0/query/MatMul", 1));
    }
}
