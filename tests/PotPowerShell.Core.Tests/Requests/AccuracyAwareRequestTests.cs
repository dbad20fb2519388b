using PotPowerShell.Core.Config;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Requests;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Tests.Quantization;

namespace PotPowerShell.Core.Tests.Requests;

/// <summary>
/// Invoke-AccuracyAwareQuantization's request (src/PotPowerShell.Core/Requests/AccuracyAwareRequest.cs): the job from
/// paths, a configuration or a piped DefaultQuantization result, the outputs, and the parameter overrides; and that
/// Get-LayerRanking's request resolves its input the same way.
/// </summary>
public class AccuracyAwareRequestTests
{
    private const string Aaq = """[ { "name": "AccuracyAwareQuantization", "params": { "preset": "performance", "stat_subset_size": 16, "ranking_subset_size": 150, "maximal_drop": 0.005, "confirm_top_layers": 3 } } ]""";

    [Fact]
    public void Paths_give_the_default_options_and_outputs_next_to_the_model()
    {
        string model = Path.Combine("dir", "m.onnx");
        var request = AccuracyAwareRequest.FromPaths(model, "calibration", "engine.yml");
        Assert.Equal(model, request.Job.ModelPath);
        Assert.Equal("calibration", request.Job.CalibrationDataPath);
        Assert.Equal("engine.yml", request.Job.EnginePath);
        Assert.Null(request.Job.Config);
        Assert.Equal(new AccuracyAwareOptions(), request.Job.Options);
        Assert.Equal(Path.Combine("dir", "m.aaq.onnx"), request.OutputPath);
        Assert.Equal(Path.GetFullPath(Path.Combine("dir", "m.aaq.report.json")), request.ReportPath);
        Assert.Empty(request.IntermediatePaths);
        Assert.Equal("maximal_drop 0.01 absolute, ranking Auto", request.Target);

        // -OutputPath, -Force and -DumpIntermediateModel.
        var written = request.WithOutput(Path.Combine("out", "q.onnx"), overwrite: false, dumpIntermediateModel: true);
        Assert.Equal(Path.Combine("out", "q.onnx"), written.OutputPath);
        Assert.False(written.Job.Overwrite);
        Assert.Equal(new[] { Path.GetFullPath(Path.Combine("out", "q.int8-full.onnx")) }, written.IntermediatePaths);
        Assert.True(request.WithOutput(null, overwrite: true).Job.Overwrite);
        Assert.Equal(Path.Combine("dir", "m.aaq.onnx"), request.WithOutput(null, overwrite: true).OutputPath);
    }

    [Fact]
    public void A_configuration_gives_its_model_engine_AccuracyAware_options_and_dump_setting()
    {
        using var f = new RequestFixture();
        File.WriteAllText(f.File("aaq.json"), $$"""
            { "model": { "model_name": "aaq", "model": "flat.onnx" }, "engine": { "config": "reference.yml" },
              "compression": { "dump_intermediate_model": true, "algorithms": {{Aaq}} } }
            """);
        var config = PotConfigLoader.Load(f.File("aaq.json"));
        var request = AccuracyAwareRequest.FromConfig(config, null, null);
        Assert.Equal(f.File("flat.onnx"), request.Job.ModelPath);
        Assert.Same(config, request.Job.Config);
        Assert.Null(request.Job.EnginePath); // the config's engine
        Assert.Null(request.Job.CalibrationDataPath); // the engine's data
        Assert.Equal(150, request.Job.Options.RankingSubsetSize);
        Assert.Equal(0.005, request.Job.Options.MaximalDrop);
        Assert.Equal(16, request.Job.Options.Quantization.StatSubsetSize);
        Assert.Equal(f.File("flat.aaq.onnx"), request.OutputPath);
        Assert.Equal(new[] { f.File("flat.aaq.int8-full.onnx") }, request.IntermediatePaths); // compression.dump_intermediate_model
        Assert.True(request.WithOutput(null, overwrite: false).Job.DumpIntermediateModel); // not given: the config's
        Assert.Empty(request.WithOutput(null, overwrite: false, dumpIntermediateModel: false).IntermediatePaths);

        var replaced = AccuracyAwareRequest.FromConfig(config, f.File("plain.yml"), f.File("data"));
        Assert.Equal(f.File("plain.yml"), replaced.Job.EnginePath);
        Assert.Equal(f.File("data"), replaced.Job.CalibrationDataPath);
    }

    [Fact]
    public void A_configuration_without_AccuracyAware_is_refused_except_for_a_ranking()
    {
        using var f = new RequestFixture();
        var config = f.Config("dq", "flat.onnx", """{ "config": "reference.yml" }""");
        var e = Assert.Throws<PotException>(() => AccuracyAwareRequest.FromConfig(config, null, null));
        Assert.Equal(ConfigErrors.AlgorithmMissing, e.ErrorId);
        var ranking = AccuracyAwareRequest.FromConfig(config, null, null, defaultQuantizationSuffices: true);
        Assert.Equal(new AccuracyAwareOptions { Quantization = config.ToDefaultQuantizationOptions() }, ranking.Job.Options);
        Assert.Equal(ranking.Job, LayerRankingRequest.FromConfig(config, null, null).Job);
    }

    [Fact]
    public void A_piped_DefaultQuantization_result_is_quantized_again_with_its_model_data_and_options()
    {
        using var tmp = new TempFolder();
        // x -> Conv -> y, calibration data in a folder: a real Invoke-DefaultQuantization result.
        var g = new GraphBuilder("conv");
        var x = g.Input("x", "batch", 2, 4, 4);
        float[] weights = Enumerable.Range(0, 2 * 2 * 3 * 3).Select(i => (i % 7 - 3) / 10f).ToArray();
        g.Output(g.Node("Conv", new[] { x, g.Initializer("w", weights, 2, 2, 3, 3) }, "conv", ("pads", new long[] { 1, 1, 1, 1 })));
        OnnxModelFile.Save(g.Build(), tmp.File("m.onnx"));
        Directory.CreateDirectory(tmp.File("calibration"));
        NpyWriter.Save(tmp.File("calibration/x.npy"), Enumerable.Range(0, 4 * 32).Select(i => (i % 11) / 11f).ToArray(), new long[] { 4, 2, 4, 4 }, "<f4");
        var options = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, Threads = 1, StatSubsetSize = 4, Preset = QuantizationPreset.Mixed };
        var result = DefaultQuantizationPipeline.Run(
            DefaultQuantizationRequest.FromPaths(tmp.File("m.onnx"), tmp.File("calibration"), options, tmp.File("q.onnx")), null, null, CancellationToken.None);

        var request = AccuracyAwareRequest.FromQuantization(result, tmp.File("engine.yml"));
        Assert.Equal(tmp.File("m.onnx"), request.Job.ModelPath);
        Assert.Equal(tmp.File("calibration"), request.Job.CalibrationDataPath);
        Assert.Equal(tmp.File("engine.yml"), request.Job.EnginePath);
        Assert.NotNull(result.Options);
        Assert.Equal(result.Options, request.Job.Options.Quantization);
        Assert.Equal(QuantizationPreset.Mixed, request.Job.Options.Quantization.Preset);
        Assert.Equal(new AccuracyAwareOptions { Quantization = result.Options }, request.Job.Options);
        Assert.Equal(request.Job, LayerRankingRequest.FromQuantization(result, tmp.File("engine.yml")).Job);

        var e = Assert.Throws<PotException>(() => AccuracyAwareRequest.FromQuantization(result with { Options = null }, tmp.File("engine.yml")));
        Assert.Equal("QuantizationOptionsMissing", e.ErrorId);
        Assert.Equal(tmp.File("m.onnx"), e.Target);
    }

    [Fact]
    public void Only_the_options_given_replace_the_sources()
    {
        using var f = new RequestFixture();
        var config = f.Config("aaq", "flat.onnx", """{ "config": "reference.yml" }""", Aaq);
        var request = AccuracyAwareRequest.FromConfig(config, null, null);
        Assert.Equal(request, request.WithOverrides(new AccuracyAwareOverrides())); // nothing given: the config's

        var overridden = request.WithOverrides(new AccuracyAwareOverrides
        {
            MaximalDrop = 0.02,
            DropType = DropType.Relative,
            RankingMethod = RankingMethod.OutputError,
            MaxIterations = 7,
            TimeLimit = TimeSpan.FromMinutes(10),
            CheckpointPath = f.File("search.ckpt"),
            RestoreMode = RestoreMode.OnlyActivations,
            DecideEarly = false,
            Quantization = q => q with { Precision = PrecisionMode.AllInt8 },
        });
        var o = overridden.Job.Options;
        Assert.Equal(0.02, o.MaximalDrop);
        Assert.Equal(DropType.Relative, o.DropType);
        Assert.Equal(RankingMethod.OutputError, o.RankingMethod);
        Assert.Equal(7, o.MaxIterations);
        Assert.Equal(TimeSpan.FromMinutes(10), o.TimeLimit);
        Assert.Equal(f.File("search.ckpt"), o.CheckpointPath);
        Assert.Equal(RestoreMode.OnlyActivations, o.RestoreMode);
        Assert.False(o.DecideEarly);
        Assert.Equal(PrecisionMode.AllInt8, o.Quantization.Precision);
        // Not given: the configuration's.
        Assert.Equal(150, o.RankingSubsetSize);
        Assert.Equal(3, o.ConfirmTopLayers);
        Assert.Equal(16, o.Quantization.StatSubsetSize);
        Assert.Equal(request.Job.Options with
        {
            MaximalDrop = 0.02, DropType = DropType.Relative, RankingMethod = RankingMethod.OutputError, MaxIterations = 7,
            TimeLimit = TimeSpan.FromMinutes(10), CheckpointPath = f.File("search.ckpt"), RestoreMode = RestoreMode.OnlyActivations,
            DecideEarly = false, Quantization = request.Job.Options.Quantization with { Precision = PrecisionMode.AllInt8 },
        }, o);
        Assert.Equal("maximal_drop 0.02 relative, ranking OutputError", overridden.Target);

        // Get-LayerRanking's overrides are the same ones.
        var ranking = LayerRankingRequest.FromConfig(config, null, null).WithOverrides(rankingSubsetSize: 20, precision: PrecisionMode.AllInt8);
        Assert.Equal(request.WithOverrides(new AccuracyAwareOverrides
        {
            RankingSubsetSize = 20,
            Quantization = q => q with { Precision = PrecisionMode.AllInt8 },
        }).Job.Options, ranking.Job.Options);
    }

    [Fact]
    public void Rankings_given_beforehand_start_the_search()
    {
        var rank = new LayerRank(1, "conv", "Conv", 0.5, RankingMethod.Signal, new MetricValues(), double.NaN);
        var request = AccuracyAwareRequest.FromPaths("m.onnx", "calibration", "engine.yml");
        Assert.Null(request.Job.Ranking);
        Assert.Same(rank, Assert.Single(request.WithRanking(new[] { rank }).Job.Ranking!));
    }
}
