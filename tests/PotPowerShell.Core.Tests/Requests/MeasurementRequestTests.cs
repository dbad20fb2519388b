using PotPowerShell.Core.Requests;

namespace PotPowerShell.Core.Tests.Requests;

/// <summary>
/// Measure-PotModel's request path (src/PotPowerShell.Core/Requests/MeasurementPipeline.cs): the engine from paths or a
/// configuration, the reference, and the fit rule (a model the fit cannot read is that model's error).
/// </summary>
public class MeasurementRequestTests
{
    private static MeasurementRequest Request(EngineSource engine, string? reference = null, bool given = false) =>
        new() { Engine = engine, ReferenceModelPath = reference, ReferenceGiven = given, WarmupRuns = 0 };

    [Fact]
    public void The_engine_comes_from_an_engine_file_before_a_data_path_or_from_a_configuration()
    {
        using var f = new RequestFixture();
        using (var byFile = MeasurementPipeline.Open(Request(EngineSource.FromPaths(f.File("plain.yml"), f.File("missing-data"))), null))
            Assert.Equal(f.File("plain.yml"), byFile.Engine.Source);
        using (var byData = MeasurementPipeline.Open(Request(EngineSource.FromPaths(null, f.File("data"))), null))
        {
            Assert.Equal(f.File("data"), byData.Engine.Source);
            // No model changes an .npy engine: its evaluator is made before the first model, so its errors are the engine's.
            Assert.Null(byData.Evaluator);
            byData.Prepare();
            Assert.NotNull(byData.Evaluator);
            Assert.Equal(3, byData.Measure(f.File("flat.onnx"), null, CancellationToken.None).ItemCount);
        }
        var config = f.Config("flat", "flat.onnx", """{ "config": "plain.yml" }""");
        using var byConfig = MeasurementPipeline.Open(Request(EngineSource.FromConfig(config)), null);
        Assert.Equal(f.File("plain.yml"), byConfig.Engine.Source);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Latency_is_measured_by_one_worker_and_a_plain_measurement_by_the_automatic_workers(bool latency)
    {
        using var f = new RequestFixture();
        using var pipeline = MeasurementPipeline.Open(Request(EngineSource.FromPaths(null, f.File("data"))) with { Latency = latency, Threads = 2 }, null);
        pipeline.Prepare();
        Assert.Equal(latency ? 1 : 2, pipeline.Evaluator!.Workers);
        var result = pipeline.Measure(f.File("flat.onnx"), null, CancellationToken.None);
        Assert.Equal(latency, result.Latency != null);
    }

    [Theory]
    [InlineData("missing.yml", null, "EngineNotFound")]
    [InlineData(null, "missing-data", "DataPathNotFound")]
    public void A_missing_engine_or_data_file_is_named_when_the_pipeline_opens(string? engine, string? data, string id)
    {
        using var f = new RequestFixture();
        string missing = f.File(engine ?? data!);
        var source = EngineSource.FromPaths(engine == null ? null : missing, data == null ? null : missing);
        var e = Assert.Throws<PotException>(() => MeasurementPipeline.Open(Request(source), null));
        Assert.Equal(id, e.ErrorId);
        Assert.Equal(missing, e.Target);
        Assert.Contains(missing, e.Message);
        var c = Assert.Throws<PotException>(() => ComparisonPipeline.Open(new ComparisonRequest { Engine = source }, null));
        Assert.Equal(id, c.ErrorId);
        Assert.Equal(missing, c.Target);
    }

    [Fact]
    public void A_given_reference_is_always_read_and_one_that_came_with_the_input_only_for_a_metric_that_needs_it()
    {
        using var f = new RequestFixture();
        string gone = f.File("gone.onnx");
        var plain = EngineSource.FromPaths(f.File("plain.yml"), null);
        var given = Request(plain, gone, given: true);
        // The engine step reads no reference: a missing one is the reference step's error.
        using (var opened = MeasurementPipeline.Open(given, null))
        {
            var e = Assert.Throws<PotException>(() => opened.UseReference(given));
            Assert.Equal("ModelNotFound", e.ErrorId);
            Assert.Equal(gone, e.Target);
        }

        var piped = Request(plain, gone, given: false);
        using (var unread = MeasurementPipeline.Open(piped, null))
        {
            Assert.False(unread.UseReference(piped));
            Assert.Null(unread.ReferencePath);
        }

        var compared = EngineSource.FromPaths(f.File("reference.yml"), null);
        using (var needed = MeasurementPipeline.Open(Request(compared, gone, given: false), null))
        {
            var r = Assert.Throws<PotException>(() => needed.UseReference(Request(compared, gone, given: false)));
            Assert.Equal("ModelNotFound", r.ErrorId);
            Assert.Equal(gone, r.Target);
        }

        var flat = Request(compared, f.File("flat.onnx"));
        using var read = MeasurementPipeline.Open(flat, null);
        Assert.True(read.UseReference(flat));
        Assert.False(read.UseReference(flat)); // read once
        Assert.Equal(f.File("flat.onnx"), read.ReferencePath);
        read.Prepare();
        var m = read.Measure(f.File("flat.onnx"), null, CancellationToken.None);
        Assert.Equal(0, Assert.Single(m.Metrics).Value); // the reference itself: mse 0
    }

    [Fact]
    public void A_missing_reference_that_came_with_one_input_leaves_the_pipeline_to_measure_the_next()
    {
        // Measure-PotModel with piped results (src/PotPowerShell/Commands/MeasurePotModelCommand.cs): the engine opens
        // once, the first result's FP32 model is gone, the second's is read and its model measured.
        using var f = new RequestFixture();
        var engine = EngineSource.FromPaths(f.File("reference.yml"), null);
        string gone = f.File("gone.onnx");
        var first = Request(engine, gone);
        using var pipeline = MeasurementPipeline.Open(first, null);
        var e = Assert.Throws<PotException>(() => pipeline.UseReference(first));
        Assert.Equal("ModelNotFound", e.ErrorId);
        Assert.Equal(gone, e.Target);
        Assert.Contains(gone, e.Message);
        Assert.Null(pipeline.ReferencePath);
        Assert.Null(pipeline.Evaluator);

        var second = Request(engine, f.File("flat.onnx"));
        Assert.True(pipeline.Serves(second)); // no reference read yet: the same pipeline serves the next input
        Assert.True(pipeline.UseReference(second));
        pipeline.Prepare();
        var m = pipeline.Measure(f.File("flat.onnx"), null, CancellationToken.None);
        Assert.Equal(3, m.ItemCount);
        Assert.Equal(0, Assert.Single(m.Metrics).Value); // compared with the second input's reference: mse 0
    }

    [Fact]
    public void A_pipeline_serves_the_same_engine_and_reference_only()
    {
        using var f = new RequestFixture();
        var config = f.Config("flat", "flat.onnx", """{ "config": "reference.yml" }""");
        var request = Request(EngineSource.FromConfig(config), f.File("flat.onnx"));
        using var pipeline = MeasurementPipeline.Open(request, null);
        pipeline.UseReference(request);
        Assert.True(pipeline.Serves(request));
        Assert.True(pipeline.Serves(request with { ReferenceModelPath = null }));
        Assert.False(pipeline.Serves(request with { ReferenceModelPath = f.File("other.onnx") }));
        // A piped configuration is its own engine, even when it reads the same file.
        var again = f.Config("flat", "flat.onnx", """{ "config": "reference.yml" }""");
        Assert.False(pipeline.Serves(request with { Engine = EngineSource.FromConfig(again) }));
    }

    [Fact]
    public void A_model_the_fit_cannot_read_is_that_models_error_and_the_engine_is_fitted_to_the_next()
    {
        using var f = new RequestFixture();
        using var pipeline = MeasurementPipeline.Open(Request(EngineSource.FromConfig(f.ImageConfig())), null);
        Assert.Null(pipeline.Evaluator); // waits for a model to fit to
        string gone = f.File("gone.onnx");
        var e = Assert.Throws<PotException>(() => pipeline.Measure(gone, null, CancellationToken.None));
        Assert.Equal("ModelNotFound", e.ErrorId);
        Assert.Equal(gone, e.Target);
        Assert.Null(pipeline.Evaluator);
        // The 6x4 images feed the 3x2x3 input only when resized to it: an engine left unfitted would fail here.
        var m = pipeline.Measure(f.File("image.onnx"), null, CancellationToken.None);
        Assert.Equal(2, m.ItemCount);
        Assert.NotNull(pipeline.NoMetricsWarning);
    }
}
