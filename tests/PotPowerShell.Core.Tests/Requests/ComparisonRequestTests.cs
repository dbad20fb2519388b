using PotPowerShell.Core.Comparison;
using PotPowerShell.Core.Requests;

namespace PotPowerShell.Core.Tests.Requests;

/// <summary>Compare-PotModel's request path (src/PotPowerShell.Core/Requests/ComparisonPipeline.cs).</summary>
public class ComparisonRequestTests
{
    private static ComparisonRequest Request(EngineSource engine) =>
        new() { Engine = engine, Comparison = new ComparisonOptions { LatencyRuns = 0, WarmupRuns = 0, BootstrapSamples = 100 } };

    [Fact]
    public void The_engine_is_fitted_to_the_reference_and_a_reference_the_fit_cannot_read_is_named()
    {
        using var f = new RequestFixture();
        using var pipeline = ComparisonPipeline.Open(Request(EngineSource.FromConfig(f.ImageConfig())), null);
        string gone = f.File("gone.onnx");
        var e = Assert.Throws<PotException>(() => pipeline.UseReference(gone));
        Assert.Equal("ModelNotFound", e.ErrorId);
        Assert.Equal(gone, e.Target);
        Assert.Null(pipeline.ReferencePath);
        Assert.Throws<InvalidOperationException>(() => pipeline.Compare(f.File("image.onnx"), null, CancellationToken.None));

        // The 6x4 images feed the 3x2x3 input only when resized to it.
        Assert.True(pipeline.UseReference(f.File("image.onnx")));
        Assert.False(pipeline.UseReference(f.File("image.onnx"))); // the same reference is not read again
        var result = pipeline.Compare(f.File("image.onnx"), null, CancellationToken.None);
        Assert.Equal(f.File("image.onnx"), pipeline.ReferencePath);
        Assert.Empty(result.Metrics);
        Assert.NotNull(pipeline.NoMetricsWarning);
    }

    [Fact]
    public void A_data_path_gives_its_engine_and_the_settings_reach_the_comparison()
    {
        using var f = new RequestFixture();
        using var pipeline = ComparisonPipeline.Open(Request(EngineSource.FromPaths(null, f.File("data"))) with { BatchSize = 1 }, null);
        Assert.Equal(f.File("data"), pipeline.Engine.Source);
        pipeline.UseReference(f.File("flat.onnx"));
        var result = pipeline.Compare(f.File("flat.onnx"), null, CancellationToken.None);
        Assert.Null(result.Latency); // LatencyRuns 0
        Assert.Equal(1, pipeline.Evaluator!.Run(File.ReadAllBytes(f.File("flat.onnx")), new Core.Evaluation.EvaluationRequest(), CancellationToken.None).BatchSize);
    }
}
