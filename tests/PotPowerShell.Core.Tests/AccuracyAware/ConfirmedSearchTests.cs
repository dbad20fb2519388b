using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>Signal ranking, full-set confirmation and decided-early evaluation on real ONNX Runtime runs.</summary>
public class ConfirmedSearchTests : IClassFixture<OutlierModelFixture>
{
    private readonly OutlierModel _m;

    public ConfirmedSearchTests(OutlierModelFixture fixture) => _m = fixture.Model;

    private AccuracyAwareResult Run(AccuracyAwareOptions options, string name, string? engine = null) => AccuracyAwarePipeline.Run(new AccuracyAwareJob
    {
        ModelPath = _m.ModelPath,
        CalibrationDataPath = _m.CalibrationPath,
        EnginePath = engine ?? _m.EnginePath,
        Options = options,
    }, _m.File(name));

    [Fact]
    public void Decided_early_evaluation_takes_the_path_of_complete_evaluations_with_fewer_inferences()
    {
        // Cosine similarity to FP32 with a limit only FP32 meets: every layer is tried, confirmations that cannot beat
        // the best one stop early, and so does the backward pass's re-quantization of each layer.
        File.WriteAllText(_m.File("similarity.yml"), "metrics:\n  - type: cosine_similarity\n    reference: fp32\ndataset:\n  data_source: validation\n");
        var options = new AccuracyAwareOptions { MaximalDrop = 1e-9, RankingSubsetSize = 40, Quantization = new DefaultQuantizationOptions { Precision = PrecisionMode.AllInt8 } };
        var early = Run(options, "early.onnx", _m.File("similarity.yml"));
        var full = Run(options with { DecideEarly = false }, "full.onnx", _m.File("similarity.yml"));

        Assert.Equal(full.Iterations.Select(i => (i.Stage, i.Layer, i.Action)), early.Iterations.Select(i => (i.Stage, i.Layer, i.Action)));
        Assert.Equal(File.ReadAllBytes(full.OutputPath!), File.ReadAllBytes(early.OutputPath!));
        Assert.Equal(full.Metrics.Select(m => m.Final), early.Metrics.Select(m => m.Final));
        Assert.Equal(0, full.DecidedEarlyEvaluations);
        Assert.True(early.DecidedEarlyEvaluations > 0, "some confirmation should have been decided early");
        // A stopped evaluation is not cached, so a model stopped twice (confirmation, then backward pass) counts twice.
        Assert.True(early.Inferences < full.Inferences, $"{early.Inferences} inferences with decided-early evaluation, {full.Inferences} without");
        Assert.True(early.InferencesSaved >= full.Inferences - early.Inferences);
        Assert.Contains(early.Iterations, i => i.DecidedEarly && i.Items < 200);
        Assert.All(early.Iterations.Where(i => !i.DecidedEarly), i => Assert.Equal(200, i.Items));
        // A decided evaluation shows the smallest drop the full set could still have given: above the limit, and no
        // more than the drop the complete evaluation of the same model gave.
        var complete = full.Iterations.ToDictionary(i => (i.Stage, i.Index));
        Assert.All(early.Iterations.Where(i => i.DecidedEarly), i =>
        {
            Assert.True(i.DropAfter > options.MaximalDrop);
            Assert.True(i.DropAfter <= complete[(i.Stage, i.Index)].DropAfter + 1e-12, $"{i.Layer}: at least {i.DropAfter}, complete {complete[(i.Stage, i.Index)].DropAfter}");
        });
    }

    [Fact]
    public void Signal_ranking_confirms_the_outlier_layer_first_and_reports_rank_precision()
    {
        var r = Run(new AccuracyAwareOptions { MaximalDrop = 0.01, RankingMethod = RankingMethod.Signal, Quantization = new DefaultQuantizationOptions { Precision = PrecisionMode.AllInt8 } }, "signal.onnx");
        Assert.Equal(RankingMethod.Signal, r.RankingMethod);
        Assert.True(r.Met, r.Reason);
        Assert.Equal(new[] { "fc2" }, r.RevertedLayers.Select(l => l.Layer));
        Assert.Equal(RankingMethod.Signal, r.RevertedLayers[0].Method);
        Assert.Equal(1, r.RankTrials);
        Assert.Equal(1.0, r.RankPrecision);
        // fc2 ranks first and meets the target, so the other confirmations are not needed.
        Assert.Equal("fc2", r.Iterations[0].Layer);
    }
}
