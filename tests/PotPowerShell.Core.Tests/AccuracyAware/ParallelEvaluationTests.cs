using PotPowerShell.Core.Config;
using Google.Protobuf;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>eval_requests_number: several workers running one ONNX Runtime session side by side give exactly what one gives.</summary>
public class ParallelEvaluationTests : IClassFixture<OutlierModelFixture>
{
    private readonly OutlierModel _m;

    public ParallelEvaluationTests(OutlierModelFixture fixture) => _m = fixture.Model;

    private (byte[] Float, byte[] Quantized) Models()
    {
        using var calibration = NpyDataset.Open(_m.CalibrationPath);
        var builder = QuantizedModelBuilder.Create(_m.ModelPath, calibration, new DefaultQuantizationOptions { Precision = PrecisionMode.AllInt8 });
        return (builder.FloatModel.ToByteArray(), builder.Build(new HashSet<string>()).ToByteArray());
    }

    private EngineDefinition Engine()
    {
        File.WriteAllText(_m.File("engine-b16.yml"), "batch_size: 16\nmetrics:\n  - type: accuracy\n  - type: cosine_similarity\n    reference: fp32\ndataset:\n  data_source: validation\n");
        return EngineDefinition.Load(_m.File("engine-b16.yml"));
    }

    private EvaluationResult Evaluate(byte[] model, int workers, Func<int, IReadOnlyDictionary<string, double[]>, bool>? stopWhen = null, int batchSize = 16)
    {
        var (fp32, _) = Models();
        using var evaluator = new Evaluator(Engine(), new EvaluatorOptions { Workers = workers, ReferenceModel = fp32, BatchSize = batchSize });
        Assert.Equal(workers, evaluator.Workers);
        var result = evaluator.Run(model, new EvaluationRequest { KeepPredictions = true, StopWhen = stopWhen }, CancellationToken.None);
        // The workers share one session: creating one per worker would multiply every candidate's graph optimization.
        Assert.Equal(1, evaluator.SessionsCreated);
        return result;
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Several_workers_give_the_values_per_item_values_and_predictions_of_one(int workers)
    {
        var (_, int8) = Models();
        var one = Evaluate(int8, 1);
        var several = Evaluate(int8, workers);
        Assert.Equal(one.Values, several.Values);
        Assert.Equal(one.PerItem["accuracy@top1"], several.PerItem["accuracy@top1"]);
        Assert.Equal(one.PerItem["cosine_similarity"], several.PerItem["cosine_similarity"]);
        Assert.Equal(one.Predictions, several.Predictions);
        Assert.Equal(one.Items, several.Items);
        Assert.Equal(200 / 16 + 1, several.Inferences);
        Assert.Equal(one.BatchItems, several.BatchItems);
        Assert.True(one.Values["accuracy@top1"] < 1, "the quantized model should get some items wrong");
    }

    [Fact]
    public void A_session_prepared_while_another_model_ran_is_the_one_the_workers_run()
    {
        var (fp32, int8) = Models();
        var expected = Evaluate(int8, 1);
        using var evaluator = new Evaluator(Engine(), new EvaluatorOptions { Workers = 2, ReferenceModel = fp32 });
        evaluator.PrepareSession(int8);
        var result = evaluator.Run(int8, new EvaluationRequest { KeepPredictions = true }, CancellationToken.None);
        Assert.Equal(1, evaluator.SessionsCreated);
        Assert.Equal(TimeSpan.Zero, result.SessionCreation);
        Assert.Equal(expected.PerItem["cosine_similarity"], result.PerItem["cosine_similarity"]);
        Assert.Equal(expected.Predictions, result.Predictions);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(8, 2)]
    [InlineData(0, 0)]
    public void Automatic_workers_are_two_where_the_thread_setting_allows_two(int threads, int expected)
    {
        var (fp32, _) = Models();
        using var evaluator = new Evaluator(Engine(), new EvaluatorOptions { Threads = threads, ReferenceModel = fp32 });
        // Threads 0 is automatic: the machine's cores decide.
        Assert.Equal(expected > 0 ? expected : Math.Min(2, Environment.ProcessorCount), evaluator.Workers);
        using var pinned = new Evaluator(Engine(), new EvaluatorOptions { Threads = threads, Workers = 3, ReferenceModel = fp32 });
        Assert.Equal(3, pinned.Workers);
    }

    [Theory]
    [InlineData(1, 16)]
    [InlineData(3, 16)]
    [InlineData(1, 7)]
    [InlineData(2, 1)]
    public void A_stop_rule_ends_the_evaluation_at_the_item_it_fires_on_whatever_the_batch_size(int workers, int batchSize)
    {
        var (_, int8) = Models();
        var seen = new List<int>();
        var stopped = Evaluate(int8, workers, (measured, perItem) =>
        {
            seen.Add(measured);
            Assert.Equal(200, perItem["accuracy@top1"].Length);
            return measured >= 40;
        }, batchSize);
        Assert.Equal(Enumerable.Range(1, 40), seen);
        Assert.True(stopped.StoppedEarly);
        Assert.Equal(Enumerable.Range(0, 40), stopped.Items);
        Assert.Equal(40, stopped.PerItem["accuracy@top1"].Length);
        var full = Evaluate(int8, 1);
        Assert.False(full.StoppedEarly);
        Assert.Equal(full.PerItem["accuracy@top1"].Take(40), stopped.PerItem["accuracy@top1"]);
        Assert.Equal(full.PerItem["accuracy@top1"].Take(40).Average(), stopped.Values["accuracy@top1"], 12);
    }

    [Fact]
    public void An_accuracy_aware_run_gives_the_same_model_bytes_and_search_with_one_and_three_workers()
    {
        AccuracyAwareResult Run(int workers, string name) => AccuracyAwarePipeline.Run(new AccuracyAwareJob
        {
            ModelPath = _m.ModelPath,
            CalibrationDataPath = _m.CalibrationPath,
            EnginePath = _m.EnginePath,
            Options = new AccuracyAwareOptions { MaximalDrop = 0.005, RankingSubsetSize = 50, EvaluationWorkers = workers, Quantization = new DefaultQuantizationOptions { Precision = PrecisionMode.AllInt8 } },
        }, _m.File(name));
        var one = Run(1, "w1.onnx");
        var three = Run(3, "w3.onnx");
        Assert.Equal(File.ReadAllBytes(one.OutputPath!), File.ReadAllBytes(three.OutputPath!));
        Assert.Equal(one.Log, three.Log);
        Assert.Equal(one.Iterations, three.Iterations);
        Assert.Equal(one.Inferences, three.Inferences);
        Assert.NotEmpty(one.RevertedLayers);
    }
}
