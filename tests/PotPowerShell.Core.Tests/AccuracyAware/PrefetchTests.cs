using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>
/// The next candidate is built, and its ONNX Runtime session created, while the current one is evaluated: the same
/// evaluations in the same order, so the same search and the same model as one thing at a time.
/// </summary>
public class PrefetchTests : IClassFixture<OutlierModelFixture>
{
    private readonly OutlierModel _m;

    public PrefetchTests(OutlierModelFixture fixture) => _m = fixture.Model;

    /// <summary>Counts prepared sessions and passes everything on to the real evaluator.</summary>
    private sealed class CountingEvaluator(Evaluator inner) : PassThroughEvaluator(inner)
    {
        public int Prepared;

        public override void PrepareSession(byte[] model)
        {
            Interlocked.Increment(ref Prepared);
            base.PrepareSession(model);
        }
    }

    private Evaluator NewEvaluator(QuantizedModelBuilder builder)
    {
        File.WriteAllText(_m.File("similarity.yml"), "metrics:\n  - type: cosine_similarity\n    reference: fp32\n  - type: accuracy\ndataset:\n  data_source: validation\n");
        return new Evaluator(EngineDefinition.Load(_m.File("similarity.yml")), new EvaluatorOptions { ReferenceModel = builder.FloatModel.ToByteArray() });
    }

    private QuantizedModelBuilder Builder()
    {
        using var calibration = NpyDataset.Open(_m.CalibrationPath);
        return QuantizedModelBuilder.Create(_m.ModelPath, calibration, new DefaultQuantizationOptions { Precision = PrecisionMode.AllInt8 });
    }

    [Fact]
    public void A_prepared_session_gives_the_results_of_a_fresh_one_and_a_session_prepared_for_another_model_is_dropped()
    {
        var builder = Builder();
        var int8 = builder.Build(new HashSet<string>()).ToByteArray();
        var reverted = builder.Build(new HashSet<string> { builder.Layers[0].Node }).ToByteArray();
        using var evaluator = NewEvaluator(builder);
        var fresh = evaluator.Evaluate(int8, null, CancellationToken.None);
        Assert.True(fresh.SessionCreation > TimeSpan.Zero);

        evaluator.PrepareSession(int8);
        var prepared = evaluator.Evaluate(int8, null, CancellationToken.None);
        // Its creation was paid when it was prepared, not in this evaluation.
        Assert.Equal(TimeSpan.Zero, prepared.SessionCreation);
        Assert.Equal(fresh.Values, prepared.Values);
        Assert.Equal(fresh.PerItem["cosine_similarity"], prepared.PerItem["cosine_similarity"]);

        // Another array (even with the same bytes) does not take it: a session of its own is created.
        evaluator.PrepareSession(reverted);
        var other = evaluator.Evaluate(int8.ToArray(), null, CancellationToken.None);
        Assert.True(other.SessionCreation > TimeSpan.Zero);
        Assert.Equal(fresh.PerItem["cosine_similarity"], other.PerItem["cosine_similarity"]);
    }

    [Theory]
    [InlineData(RankingMethod.Signal)]
    [InlineData(RankingMethod.Metric)]
    public void A_search_with_prefetching_takes_the_path_and_gives_the_model_of_one_without(RankingMethod method)
    {
        var builder = Builder();
        // A limit only FP32 meets: every layer is ranked and tried, and the backward pass runs.
        var options = new AccuracyAwareOptions { MaximalDrop = 1e-9, RankingSubsetSize = 40, RankingMethod = method, Quantization = builder.Setup.Options };
        AccuracyAwareOutcome Run(bool prefetch, out int prepared)
        {
            using var inner = NewEvaluator(builder);
            var evaluator = new CountingEvaluator(inner);
            var outcome = new AccuracyAwareQuantizer(options) { PrefetchCandidates = prefetch }.Run(builder, evaluator);
            prepared = evaluator.Prepared;
            return outcome;
        }
        var plain = Run(prefetch: false, out int none);
        var prefetched = Run(prefetch: true, out int prepared);

        Assert.Equal(0, none);
        Assert.True(prepared >= builder.Layers.Count, $"{prepared} sessions prepared for {builder.Layers.Count} layers");
        SameRun.Check(plain, prefetched);
    }
}
