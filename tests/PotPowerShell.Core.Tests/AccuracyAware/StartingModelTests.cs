using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Tests.Quantization;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>AccuracyAwareQuantization starts from SmoothQuant as DefaultQuantization decides it (see Quantization/CandidateChoice.cs).</summary>
public class StartingModelTests
{
    [Fact]
    public void A_transformer_starts_smoothed_as_default_quantization_writes_it()
    {
        using var tmp = new TempFolder();
        string model = tmp.File("t.onnx");
        OnnxModelFile.Save(SyntheticModels.TransformerStack(layers: 1, hidden: 32, heads: 2, sequence: 8, feedForward: 64), model);
        var x = SyntheticModels.NormalData(12, new long[] { 8, 32 }, 3);
        // Activation outliers, as trained transformers have: channel 5 of the input is 30 times larger.
        var values = (float[])x.Data;
        for (int i = 5; i < values.Length; i += 32) values[i] *= 30;
        Directory.CreateDirectory(tmp.File("data"));
        NpyWriter.Write(tmp.File("data/x.npy"), x);
        // A named estimator and no bias correction: DefaultQuantization's only choice is SmoothQuant's.
        var options = new DefaultQuantizationOptions
        {
            Measurement = TestMeasurement.Int8Faster, ModelType = "transformer", SmoothQuantAlpha = 0.5, Threads = 1, SkipLatencyCheck = true,
            ActivationRange = new RangeEstimatorOptions { Kind = RangeEstimatorKind.MinMax }, BiasCorrection = false,
        };

        var dq = DefaultQuantization.Run(model, tmp.File("data"), options, tmp.File("dq.onnx"));
        Assert.NotEmpty(dq.SmoothedLayers);
        // A limit the fully quantized model meets: the run writes the model it starts from. The data folder is the
        // engine too (cosine similarity to FP32).
        var job = new AccuracyAwareJob
        {
            ModelPath = model,
            CalibrationDataPath = tmp.File("data"),
            EnginePath = tmp.File("data"),
            Options = new AccuracyAwareOptions { MaximalDrop = 1, Quantization = options },
        };
        var aaq = AccuracyAwarePipeline.Run(job, tmp.File("aaq.onnx"));

        Assert.True(aaq.Met, aaq.Reason);
        Assert.Empty(aaq.RevertedLayers);
        Assert.Equal(File.ReadAllBytes(tmp.File("dq.onnx")), File.ReadAllBytes(tmp.File("aaq.onnx")));
    }
}
