using PotPowerShell.Core.Tests.Quantization;
using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>compression.dump_intermediate_model for AccuracyAwareQuantization: the fully quantized model before any revert.</summary>
public class IntermediateModelTests
{
    [Fact]
    public void The_fully_quantized_model_is_written_next_to_the_output_and_listed()
    {
        using var m = new OutlierModel();
        var options = new AccuracyAwareOptions { Quantization = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster }, MaximalDrop = 0.01 };
        var job = new AccuracyAwareJob { ModelPath = m.ModelPath, CalibrationDataPath = m.CalibrationPath, EnginePath = m.EnginePath, Options = options, DumpIntermediateModel = true };
        var r = AccuracyAwarePipeline.Run(job, m.File("out.aaq.onnx"));

        string dump = Assert.Single(r.IntermediateModels);
        Assert.Equal(m.File("out.aaq.int8-full.onnx"), dump);
        Assert.Equal(new[] { dump }, AccuracyAwareOutcome.IntermediatePaths(r.OutputPath!));
        // It is DefaultQuantization's model with the same options: nothing reverted.
        using var calibration = NpyDataset.Open(m.CalibrationPath);
        var expected = QuantizedModelBuilder.Create(m.ModelPath, calibration, options.Quantization).Build(new HashSet<string>()).ToByteArray();
        Assert.Equal(expected, OnnxModelFile.Load(dump).ToByteArray());
        // The returned model reverted fc2; the dump did not.
        Assert.Equal(new[] { "fc2" }, r.RevertedLayers.Select(l => l.Layer));
        Assert.NotEqual(File.ReadAllBytes(r.OutputPath!), File.ReadAllBytes(dump));
        Assert.Contains("int8-full.onnx", File.ReadAllText(r.ReportPath!));

        var plain = AccuracyAwarePipeline.Run(job with { DumpIntermediateModel = false }, m.File("plain.onnx"));
        Assert.Empty(plain.IntermediateModels);
        Assert.False(File.Exists(m.File("plain.int8-full.onnx")));
    }

    [Fact]
    public void The_dump_name_keeps_a_name_without_the_onnx_extension()
    {
        Assert.EndsWith(Path.Combine("dir", "model.aaq.int8-full.onnx"), AccuracyAwareOutcome.IntermediatePaths(Path.Combine("dir", "model.aaq.onnx"))[0]);
        Assert.EndsWith(Path.Combine("dir", "model.bin.int8-full.onnx"), AccuracyAwareOutcome.IntermediatePaths(Path.Combine("dir", "model.bin"))[0]);
    }
}
