using PotPowerShell.Core.Config;
using PotPowerShell.Core.Requests;

namespace PotPowerShell.Core.Tests.Requests;

/// <summary>Get-LayerRanking's request (src/PotPowerShell.Core/Requests/LayerRankingRequest.cs): the job from paths or a configuration plus overrides.</summary>
public class LayerRankingRequestTests
{
    private const string Aaq = """[ { "name": "AccuracyAwareQuantization", "params": { "preset": "performance", "stat_subset_size": 16, "ranking_subset_size": 150, "maximal_drop": 0.005, "confirm_top_layers": 3 } } ]""";

    [Fact]
    public void Paths_give_the_default_options()
    {
        var request = LayerRankingRequest.FromPaths("m.onnx", "calibration", "engine.yml");
        Assert.Equal("m.onnx", request.Job.ModelPath);
        Assert.Equal("calibration", request.Job.CalibrationDataPath);
        Assert.Equal("engine.yml", request.Job.EnginePath);
        Assert.Equal(new AccuracyAwareOptions(), request.Job.Options);
        Assert.Equal(RankingMethod.Signal, request.Method);
        Assert.Null(request.Layers);
    }

    [Fact]
    public void A_configuration_gives_its_AccuracyAware_options_and_the_parameters_override_them()
    {
        using var f = new RequestFixture();
        var config = f.Config("aaq", "flat.onnx", """{ "config": "reference.yml" }""", Aaq);
        var request = LayerRankingRequest.FromConfig(config, null, null);
        Assert.Equal(f.File("flat.onnx"), request.Job.ModelPath);
        Assert.Same(config, request.Job.Config);
        Assert.Null(request.Job.EnginePath); // the config's engine
        Assert.Null(request.Job.CalibrationDataPath); // the engine's data
        Assert.Equal(150, request.Job.Options.RankingSubsetSize);
        Assert.Equal(3, request.Job.Options.ConfirmTopLayers);
        Assert.Equal(0.005, request.Job.Options.MaximalDrop);

        var overridden = LayerRankingRequest.FromConfig(config, f.File("plain.yml"), f.File("data"))
            .WithOverrides(rankingSubsetSize: 20, precision: PrecisionMode.AllInt8);
        Assert.Equal(f.File("plain.yml"), overridden.Job.EnginePath);
        Assert.Equal(f.File("data"), overridden.Job.CalibrationDataPath);
        Assert.Equal(20, overridden.Job.Options.RankingSubsetSize);
        Assert.Equal(3, overridden.Job.Options.ConfirmTopLayers); // not given: the config's
        Assert.Equal(PrecisionMode.AllInt8, overridden.Job.Options.Quantization.Precision);
        Assert.Equal(0.005, overridden.Job.Options.MaximalDrop);
        Assert.Equal(16, overridden.Job.Options.Quantization.StatSubsetSize);
    }

    [Fact]
    public void A_configuration_without_AccuracyAware_gives_its_DefaultQuantization_options()
    {
        using var f = new RequestFixture();
        var config = f.Config("dq", "flat.onnx", """{ "config": "reference.yml" }""");
        var request = LayerRankingRequest.FromConfig(config, null, null);
        Assert.Equal(16, request.Job.Options.Quantization.StatSubsetSize);
        // The AccuracyAware settings are the defaults.
        Assert.Equal(new AccuracyAwareOptions { Quantization = request.Job.Options.Quantization }, request.Job.Options);
    }
}
