using PotPowerShell.Core.Tests.Quantization;
using Google.Protobuf;
using DataType = Onnx.TensorProto.Types.DataType;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>The evaluation batch size AccuracyAware runs measure (Evaluation/BatchSizeProbe.cs): a speed, never a result.</summary>
public class EvaluationBatchSizeTests : IClassFixture<OutlierModelFixture>
{
    private readonly OutlierModel _m;

    public EvaluationBatchSizeTests(OutlierModelFixture fixture) => _m = fixture.Model;

    private QuantizedModelBuilder Builder()
    {
        using var calibration = NpyDataset.Open(_m.CalibrationPath);
        return QuantizedModelBuilder.Create(_m.ModelPath, calibration, new DefaultQuantizationOptions { Precision = PrecisionMode.AllInt8 });
    }

    private string SimilarityEngine()
    {
        string path = _m.File("similarity-b.yml");
        File.WriteAllText(path, "metrics:\n  - type: cosine_similarity\n    reference: fp32\ndataset:\n  data_source: validation\n");
        return path;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void The_probe_times_each_size_and_the_evaluations_after_it_give_what_the_default_batch_gives(int workers)
    {
        var builder = Builder();
        var int8 = builder.Build(new HashSet<string>()).ToByteArray();
        // With two workers the probe runs the batches on two runners of one session, as the evaluations do.
        var options = new EvaluatorOptions { ReferenceModel = builder.FloatModel.ToByteArray(), Workers = workers };
        using var fixedDefault = new Evaluator(EngineDefinition.Load(SimilarityEngine()), options);
        var expected = fixedDefault.Evaluate(int8, null, CancellationToken.None);
        Assert.Equal(EngineDefinition.DefaultBatchSize, fixedDefault.BatchSize);

        using var probed = new Evaluator(EngineDefinition.Load(SimilarityEngine()), options);
        var choice = probed.ChooseBatchSize(int8, CancellationToken.None);

        Assert.NotNull(choice);
        Assert.Null(choice!.DifferingSize);
        Assert.Equal(BatchSizeProbe.Sizes, choice.Timings.Select(t => t.BatchSize));
        Assert.All(choice.Timings, t => Assert.True(t.MillisecondsPerItem > 0));
        Assert.Contains(choice.Chosen!.Value, BatchSizeProbe.Sizes);
        Assert.Equal(choice.Chosen, probed.BatchSize);
        Assert.Equal(BatchSizeProbe.Items, choice.Items);
        Assert.Equal(workers, choice.Workers);
        Assert.StartsWith($"Evaluation batch size {choice.Chosen}, measured on 16 items by {workers} worker{(workers == 1 ? "" : "s")}: 16 -> ", choice.Describe());
        var result = probed.Evaluate(int8, null, CancellationToken.None);
        Assert.Equal(expected.Values, result.Values);
        Assert.Equal(expected.PerItem["cosine_similarity"], result.PerItem["cosine_similarity"]);
        Assert.Equal((200 + choice.Chosen.Value - 1) / choice.Chosen.Value, result.BatchItems.Count);
    }

    [Fact]
    public void A_lone_last_item_gives_the_outputs_it_gives_inside_a_batch()
    {
        // fc3 float: for a single row ONNX Runtime's float Gemm takes another kernel path than for several.
        var builder = Builder();
        var fc3 = builder.Build(new HashSet<string> { "fc3" }).ToByteArray();
        var options = new EvaluatorOptions { ReferenceModel = builder.FloatModel.ToByteArray() };
        var items = new[] { 0, 1, 2, 3, 4 };
        using var inBatch = new Evaluator(EngineDefinition.Load(SimilarityEngine()), options with { BatchSize = 32 });
        var expected = inBatch.Evaluate(fc3, items, CancellationToken.None);
        // The last of a ragged set, and the only batch of the second of two workers.
        foreach (var (batchSize, workers, batches) in new[] { (4, 1, new[] { 4, 1 }), (4, 2, new[] { 4, 1 }), (2, 3, new[] { 2, 2, 1 }) })
        {
            using var lone = new Evaluator(EngineDefinition.Load(SimilarityEngine()), options with { BatchSize = batchSize, Workers = workers });
            var result = lone.Evaluate(fc3, items, CancellationToken.None);
            Assert.Equal(batches, result.BatchItems);
            Assert.Equal(expected.PerItem["cosine_similarity"], result.PerItem["cosine_similarity"]);
        }
    }

    [Fact]
    public void A_batch_size_given_by_the_engine_or_the_options_is_kept()
    {
        var int8 = Builder().Build(new HashSet<string>()).ToByteArray();
        File.WriteAllText(_m.File("engine-b5.yml"), "batch_size: 5\nmetrics:\n  - type: accuracy\ndataset:\n  data_source: validation\n");
        using var byEngine = new Evaluator(EngineDefinition.Load(_m.File("engine-b5.yml")));
        Assert.Null(byEngine.ChooseBatchSize(int8, CancellationToken.None));
        Assert.Equal(5, byEngine.BatchSize);
        using var byOptions = new Evaluator(EngineDefinition.Load(_m.EnginePath), new EvaluatorOptions { BatchSize = 3 });
        Assert.Null(byOptions.ChooseBatchSize(int8, CancellationToken.None));
        Assert.Equal(3, byOptions.BatchSize);
    }

    [Theory]
    [InlineData(10.0, 9.0, 9.2, 4)]   // 4 is within 5 % of the fastest (8): the smaller wins
    [InlineData(10.0, 9.0, 9.6, 8)]   // 4 is 6.7 % slower than 8
    [InlineData(5.0, 9.0, 9.2, 16)]   // the first size is fastest
    public void The_smallest_size_near_the_fastest_is_chosen(double ms16, double ms8, double ms4, int chosen)
    {
        var timings = new[] { new BatchSizeTiming(16, ms16), new BatchSizeTiming(8, ms8), new BatchSizeTiming(4, ms4) };
        Assert.Equal(chosen, BatchSizeProbe.Choose(timings));
    }

    [Fact]
    public void A_probe_that_saw_outputs_change_says_so_and_chooses_nothing()
    {
        var unchanged = new BatchSizeChoice(null, 16, Array.Empty<BatchSizeTiming>(), 3);
        Assert.Equal("Evaluation batch size unchanged: on 16 items, outputs at batch size 3 differ from those at 16 in the last bits, so a measured choice could change results",
            unchanged.Describe());
    }

    [Fact]
    public void A_model_that_mixes_the_items_of_a_batch_is_evaluated_one_item_at_a_time_as_with_a_batch_size_of_1()
    {
        using var tmp = new TempFolder();
        string engine = BatchCenteringModel(tmp);
        byte[] model = File.ReadAllBytes(tmp.File("m.onnx"));
        using (var evaluator = new Evaluator(EngineDefinition.Load(engine), new EvaluatorOptions { ReferenceModel = model }))
        {
            var choice = evaluator.ChooseBatchSize(model, CancellationToken.None)!;
            Assert.True(choice.MixesItems, $"largest difference {choice.LargestDifference}");
            Assert.Equal(1, choice.Chosen);
            Assert.Equal(1, evaluator.BatchSize);
            Assert.StartsWith("Evaluation batch size 1: on 16 items, outputs at batch size 8 differ from those at 16 by up to ", choice.Describe());
            Assert.EndsWith("of their largest value, so the model mixes the items of a batch", choice.Describe());
        }

        // The drop that the run measures and the model it returns are those of a run told to evaluate one item at a time.
        AccuracyAwareResult Run(int? batchSize, string output, string? checkpoint = null, IProgress<PotProgress>? progress = null) => AccuracyAwarePipeline.Run(new AccuracyAwareJob
        {
            ModelPath = tmp.File("m.onnx"), CalibrationDataPath = tmp.File("calibration"), EnginePath = engine,
            Options = new AccuracyAwareOptions
            {
                Quantization = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, SkipLatencyCheck = true }, MaximalDrop = 1e-9, EvaluationBatchSize = batchSize,
                CheckpointPath = checkpoint,
            },
        }, tmp.File(output), progress);
        var measured = Run(null, "auto.onnx");
        var one = Run(1, "one.onnx");
        // A run stopped after both baselines resumes from its checkpoint to the same model.
        Assert.Throws<InvalidOperationException>(() => Run(null, "stopped.onnx", tmp.File("run.checkpoint"), new StopAt("Evaluating the fully quantized model")));
        var resumed = Run(null, "resumed.onnx", tmp.File("run.checkpoint"));
        Assert.Equal(2, resumed.ResumedEvaluations);
        Assert.Equal(File.ReadAllBytes(tmp.File("auto.onnx")), File.ReadAllBytes(tmp.File("resumed.onnx")));
        Assert.Equal(1, measured.EvaluationBatchSize);
        Assert.Equal(one.Metrics.Select(m => (m.FullyQuantized, m.Final)), measured.Metrics.Select(m => (m.FullyQuantized, m.Final)));
        Assert.Equal(File.ReadAllBytes(tmp.File("one.onnx")), File.ReadAllBytes(tmp.File("auto.onnx")));
        Assert.Contains(measured.Warnings, w => w.StartsWith("An item's outputs change with the other items of its batch", StringComparison.Ordinal)
            && w.EndsWith("So every evaluation runs one item at a time (batch size 1): rankings and evaluations decided early run some of the items, or in another order, so in other batches than a complete evaluation. Export the model in inference mode to evaluate in batches.", StringComparison.Ordinal));
        Assert.Contains("Evaluating the FP32 baseline again, one item at a time.", measured.Log);
        Assert.Contains(measured.Log, l => l.StartsWith("Plan: ", StringComparison.Ordinal)); // the search ran
        Assert.DoesNotContain(one.Warnings, w => w.StartsWith("An item's outputs change", StringComparison.Ordinal));
    }

    [Fact]
    public void A_model_that_mixes_the_items_of_a_batch_keeps_a_given_batch_size_with_a_warning()
    {
        using var tmp = new TempFolder();
        string engine = BatchCenteringModel(tmp);
        var result = AccuracyAwarePipeline.Run(new AccuracyAwareJob
        {
            ModelPath = tmp.File("m.onnx"), CalibrationDataPath = tmp.File("calibration"), EnginePath = engine,
            Options = new AccuracyAwareOptions
            {
                Quantization = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, SkipLatencyCheck = true }, MaximalDrop = 0.5, EvaluationBatchSize = 4,
            },
        }, tmp.File("q.onnx"));
        Assert.Equal(4, result.EvaluationBatchSize);
        Assert.Contains(result.Warnings, w => w.StartsWith("An item's outputs change with the other items of its batch", StringComparison.Ordinal)
            && w.EndsWith("run with -EvaluationBatchSize 1 (batch_size: 1 in the engine), or export the model in inference mode.", StringComparison.Ordinal));

        // Get-LayerRanking's path hears it too.
        var heard = new List<string>();
        AccuracyAwarePipeline.Rank(new AccuracyAwareJob
        {
            ModelPath = tmp.File("m.onnx"), CalibrationDataPath = tmp.File("calibration"), EnginePath = engine, Warnings = new LogLines(heard),
            Options = new AccuracyAwareOptions { Quantization = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, SkipLatencyCheck = true }, EvaluationBatchSize = 4 },
        }, RankingMethod.Signal);
        Assert.Contains(heard, w => w.StartsWith("An item's outputs change with the other items of its batch", StringComparison.Ordinal));
    }

    /// <summary>Stops a run (as a kill would) when it reports <paramref name="activity"/>.</summary>
    private sealed class StopAt(string activity) : IProgress<PotProgress>
    {
        public void Report(PotProgress value)
        {
            if (value.Status.StartsWith(activity, StringComparison.Ordinal)) throw new InvalidOperationException("stopped");
        }
    }

    /// <summary>
    /// x [batch, 8] minus half its mean over the batch, then MatMul: an item's output depends on its batch-mates (alone,
    /// it is half the item). Returns the engine.
    /// </summary>
    [Fact]
    public void Outputs_the_batch_shares_are_not_compared_item_by_item()
    {
        // Per item two boxes [2, 4] (y1, x1, y2, x2) and their scores [1, 2] from x, and the batch's NonMaxSuppression
        // indices [M, 3] (image, class, box) of the best box of each image: M is the batch size, so by its shape the
        // output looks like each item's own, but its image column changes with the batch while no item's values do.
        using var tmp = new TempFolder();
        BatchCenteringModel(tmp);
        var random = new Random(9);
        float[] Weights(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var g = new GraphBuilder("nms");
        var x = g.Input("x", "batch", 8L);
        // Corners y1, x1 in [0, 50] and y2, x2 in [50, 100]: 50 x sigmoid, plus 50 for the second pair.
        var unit = g.Node("Reshape", new[] { g.Node("Sigmoid", new[] { g.Node("MatMul", new[] { x, g.Initializer("wb", Weights(64), 8, 8) }, "box_fc") }, "box_sigmoid"), g.Initializer("box_shape", new long[] { -1, 2, 4 }, 3) }, "box_unit");
        var boxes = g.Node("Add", new[] { g.Node("Mul", new[] { unit, g.Initializer("box_scale", new[] { 50f, 50, 50, 50 }, 4) }, "box_scaled"), g.Initializer("box_shift", new[] { 0f, 0, 50, 50 }, 4) }, "boxes");
        var scores = g.Node("Reshape", new[] { g.Node("Sigmoid", new[] { g.Node("MatMul", new[] { x, g.Initializer("ws", Weights(16), 8, 2) }, "score_fc") }, "score_sigmoid"), g.Initializer("score_shape", new long[] { -1, 1, 2 }, 3) }, "scores");
        var indices = g.Node("NonMaxSuppression", new[] { boxes, scores, g.Initializer("max", new long[] { 1 }, 1), g.Initializer("iou", new[] { 0.5f }, 1) }, "indices");
        g.Output(boxes, DataType.Float, "batch", 2L, 4L);
        g.Output(scores, DataType.Float, "batch", 1L, 2L);
        g.Output(indices, DataType.Int64, "selected", 3L);
        byte[] model = g.Build().ToByteArray();
        File.WriteAllText(tmp.File("engine.yml"), """
            adapter: {type: yolo_v3_onnx, output: boxes_out, scores: scores_out, indices: indices_out}
            metrics: [{type: map, reference: fp32, reference_confidence: 0}]
            dataset: {data_source: validation}
            """.Replace("boxes_out", boxes).Replace("scores_out", scores).Replace("indices_out", indices));
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")), new EvaluatorOptions { ReferenceModel = model });
        var choice = evaluator.ChooseBatchSize(model, CancellationToken.None)!;
        Assert.False(choice.MixesItems, $"largest difference {choice.LargestDifference}");
        Assert.NotNull(choice.Chosen);
        // The model against itself in batches finds every FP32 detection.
        Assert.Equal(1.0, evaluator.Evaluate(model, null, CancellationToken.None).Values["map"], 12);
    }

    private static string BatchCenteringModel(TempFolder tmp)
    {
        var random = new Random(9);
        var g = new GraphBuilder("batch_centering");
        var x = g.Input("x", "batch", 8L);
        var mean = g.Node("ReduceMean", new[] { x }, "batch_mean", ("axes", new[] { 0L }), ("keepdims", 1L));
        var half = g.Node("Mul", new[] { mean, g.Initializer("half", new[] { 0.5f }) }, "half_mean");
        var centred = g.Node("Sub", new[] { x, half }, "centre");
        var y = g.Node("MatMul", new[] { centred, g.Initializer("w", Enumerable.Range(0, 24).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray(), 8, 3) }, "fc");
        g.Output(y);
        OnnxModelFile.Save(g.Build(), tmp.File("m.onnx"));
        foreach (var part in new[] { "calibration", "validation" })
        {
            Directory.CreateDirectory(tmp.File(part));
            var values = Enumerable.Range(0, 40 * 8).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            NpyWriter.Save(tmp.File($"{part}/x.npy"), values, new long[] { 40, 8 }, "<f4");
        }
        File.WriteAllText(tmp.File("engine.yml"), "metrics:\n  - type: cosine_similarity\n    reference: fp32\ndataset:\n  data_source: validation\n");
        return tmp.File("engine.yml");
    }

    [Fact]
    public void An_accuracy_aware_run_gives_the_same_model_log_and_counts_with_a_measured_or_a_given_batch_size()
    {
        // Cosine similarity to FP32 with a limit only FP32 meets (as in ConfirmedSearchTests): every layer is tried, and
        // evaluations stop once decided, inside a batch. Batch 3 leaves a lone last item in the 40 ranking items.
        string engine = SimilarityEngine();
        AccuracyAwareResult Run(int? batchSize, string name) => AccuracyAwarePipeline.Run(new AccuracyAwareJob
        {
            ModelPath = _m.ModelPath,
            CalibrationDataPath = _m.CalibrationPath,
            EnginePath = engine,
            Options = new AccuracyAwareOptions
            {
                MaximalDrop = 1e-9, RankingSubsetSize = 40, EvaluationBatchSize = batchSize,
                Quantization = new DefaultQuantizationOptions { Precision = PrecisionMode.AllInt8 },
            },
        }, _m.File(name));
        var measured = Run(null, "b-auto.onnx");
        var given = Run(32, "b32.onnx");
        var small = Run(3, "b3.onnx");

        Assert.Contains(measured.EvaluationBatchSize, BatchSizeProbe.Sizes);
        Assert.Equal(32, given.EvaluationBatchSize);
        Assert.Equal(3, small.EvaluationBatchSize);
        Assert.Contains(measured.StageTimes, s => s.Stage == "BatchSize");
        Assert.NotEmpty(given.RevertedLayers);
        Assert.Contains(given.Iterations, i => i.DecidedEarly && i.Items % 32 != 0);
        foreach (var other in new[] { measured, small })
        {
            Assert.Equal(File.ReadAllBytes(given.OutputPath!), File.ReadAllBytes(other.OutputPath!));
            Assert.Equal(given.Log, other.Log);
            Assert.Equal(given.Iterations, other.Iterations);
            Assert.Equal(given.Inferences, other.Inferences);
            Assert.Equal(given.InferencesSaved, other.InferencesSaved);
        }
    }

    /// <summary>Passes evaluations and the probe on to a real evaluator, and records each evaluation's batch size in order.</summary>
    private sealed class BatchRecorder(Evaluator evaluator) : PassThroughEvaluator(evaluator), IEvaluator
    {
        public List<int> BatchSizes { get; } = new();
        public override EvaluationResult Evaluate(byte[] model, IReadOnlyList<int>? items, CancellationToken cancellationToken, IProgress<PotProgress>? progress = null) =>
            Recorded(base.Evaluate(model, items, cancellationToken, progress));
        public override EvaluationResult Evaluate(byte[] model, IReadOnlyList<int>? items, Func<int, IReadOnlyDictionary<string, double[]>, bool>? stopWhen,
            CancellationToken cancellationToken, IProgress<PotProgress>? progress = null) => Recorded(base.Evaluate(model, items, stopWhen, cancellationToken, progress));
        public BatchSizeChoice? ChooseBatchSize(byte[] model, CancellationToken cancellationToken) => Inner.ChooseBatchSize(model, cancellationToken);

        private EvaluationResult Recorded(EvaluationResult result)
        {
            BatchSizes.Add(result.BatchSize);
            return result;
        }
    }

    [Fact]
    public void The_fully_quantized_model_is_evaluated_at_the_measured_batch_size()
    {
        var builder = Builder();
        using var inner = new Evaluator(EngineDefinition.Load(SimilarityEngine()), new EvaluatorOptions { ReferenceModel = builder.FloatModel.ToByteArray() });
        var recorder = new BatchRecorder(inner);
        new AccuracyAwareQuantizer(new AccuracyAwareOptions { MaximalDrop = 1e-9, RankingSubsetSize = 40, MaxEvaluations = 3 }).Run(builder, recorder);

        // The FP32 baseline at the engine's default, then the probe, then the fully quantized model at the size it chose
        // (the probe never chooses the default: on a large set the default costs more than the probe, see AccuracyAwareQuantizer).
        Assert.Equal(EngineDefinition.DefaultBatchSize, recorder.BatchSizes[0]);
        Assert.Contains(inner.BatchSize, BatchSizeProbe.Sizes);
        Assert.DoesNotContain(EngineDefinition.DefaultBatchSize, BatchSizeProbe.Sizes);
        Assert.Equal(inner.BatchSize, recorder.BatchSizes[1]);
    }

    [Fact]
    public void A_model_with_a_fixed_batch_axis_is_not_probed_and_reports_its_own_batch_size()
    {
        var model = OnnxModelFile.Load(_m.ModelPath);
        var dim = model.Graph.Input[0].Type.TensorType.Shape.Dim[0];
        dim.ClearDimParam();
        dim.DimValue = 1;
        string path = _m.File("fixed-batch.onnx");
        OnnxModelFile.Save(model, path);
        var r = AccuracyAwarePipeline.Run(new AccuracyAwareJob
        {
            ModelPath = path,
            CalibrationDataPath = _m.CalibrationPath,
            EnginePath = SimilarityEngine(),
            Options = new AccuracyAwareOptions { MaximalDrop = 1e-9, RankingSubsetSize = 40, Quantization = new DefaultQuantizationOptions { Precision = PrecisionMode.AllInt8 } },
        }, _m.File("fixed-batch-aaq.onnx"));
        Assert.NotEmpty(r.Iterations);
        Assert.Equal(1, r.EvaluationBatchSize);
    }
}
