using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Tests.Quantization;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>Items of several shapes evaluated in batches of one shape (ShapeGroups).</summary>
public class ShapeGroupsTests
{
    [Fact]
    public void Items_of_one_shape_come_together_within_a_window_in_their_own_order()
    {
        //                               0  1  2  3  4  5
        var groups = new ShapeGroups(new[] { 0, 1, 0, 2, 1, 0 });
        Assert.Equal(new[] { 0, 2, 5, 1, 4, 3 }, groups.Order(new[] { 0, 1, 2, 3, 4, 5 }));
        // Positions among the items asked for, in their order: items 5, 3, 0, 4 are groups 0, 2, 0, 1.
        Assert.Equal(new[] { 0, 2, 1, 3 }, groups.Order(new[] { 5, 3, 0, 4 }));
        Assert.Equal(0, groups.Largest);
        Assert.Equal(new[] { 0, 2 }, groups.LargestItems(2));

        // Item 129 shares item 0's shape but lies in the second window: it is not brought forward.
        var far = new ShapeGroups(Enumerable.Range(0, 130).Select(i => i is 0 or 129 ? 0 : 1).ToArray());
        var order = far.Order(Enumerable.Range(0, 130).ToArray());
        Assert.Equal(Enumerable.Range(0, 130), order);
        Assert.Equal(128, ShapeGroups.Window);
    }

    [Fact]
    public void A_batch_never_holds_two_shapes_nor_more_items_than_its_size()
    {
        var groups = new ShapeGroups(new[] { 0, 0, 0, 0, 0, 1, 1, 2 });
        var ordered = Enumerable.Range(0, 8).ToArray();
        Assert.Equal(new[] { (0, 4), (4, 1), (5, 2), (7, 1) }, ShapeGroups.Batches(ordered, groups, 4));
        Assert.Equal(new[] { (0, 4), (4, 4) }, ShapeGroups.Batches(ordered, null, 4));
        Assert.Equal(new[] { (0, 4), (4, 1), (5, 1), (6, 1), (7, 1) }, ShapeGroups.OneByOne(ShapeGroups.Batches(ordered, groups, 4), 1));
    }

    [Fact]
    public void Items_that_all_differ_are_not_grouped_and_the_reason_names_the_array_that_differs()
    {
        // Six .npz items: 'a' of 3 values in each, 'b' of 3 to 8: the first items all differ in size.
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("items"));
        for (int n = 0; n < 6; n++)
            NpyWriter.SaveNpz(tmp.File($"items/{n}.npz"), new Dictionary<string, TensorData>
            {
                ["a"] = TensorData.FromFloats(new float[3], 3),
                ["b"] = TensorData.FromFloats(new float[3 + n], 3 + n),
            });
        using var data = new CachedDataset(EngineDefinition.FromDataPath(tmp.File("items")).OpenDataset(), 1 << 20);
        Assert.Null(ShapeGroups.Find(data, group: true, differ: false, null, CancellationToken.None, out var scattered));
        Assert.Equal("Item 1's 'b' has the shape [1,4] but item 0's 'b' [1,3]: items of different sizes cannot share a batch, and the first 6 items all differ in size.", scattered);
        // Not regrouped (an aggregate sees the items in order): six runs of one size in six items do not pay either.
        Assert.Null(ShapeGroups.Find(data, group: false, differ: false, null, CancellationToken.None, out scattered));
        Assert.EndsWith("cannot share a batch, and in the order the metrics see them (6 runs of one size in 6 items) too few of one size follow each other for batches to pay.", scattered);
    }

    [Fact]
    public void After_a_batch_of_two_shapes_the_rest_is_split_where_the_shape_changes_in_the_same_order()
    {
        var shapes = new[] { "a", "a", "a", "a", "a", "b", "b", "c" };
        var batches = new List<(int, int)> { (0, 4), (4, 4) };
        Assert.Equal(new[] { (0, 4), (4, 1), (5, 2), (7, 1) }, ShapeGroups.ByShapeRuns(batches, 1, k => shapes[k]));
        Assert.Equal(new[] { (0, 4), (4, 4) }, ShapeGroups.ByShapeRuns(batches, 0, _ => "a"));
    }

    /// <summary>
    /// x[batch, seq, 8] -> four MatMul layers (8 -> 8 -> 8 -> 8 -> 4) with Relu between -> ReduceMean over seq -> y[batch, 4];
    /// twelve items of 3, 4, 5 and 6 steps in turn (of 3 to 2 + <paramref name="lengths"/>), an .npz each.
    /// </summary>
    private static (string Model, string Items) SaveSequences(TempFolder tmp, int count = 12, int lengths = 4, Func<int, int>? stepsOf = null)
    {
        var random = new Random(11);
        float[] Weights(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var g = new GraphBuilder("sequences");
        var h = g.Input("x", "batch", "seq", 8L);
        for (int layer = 0; layer < 4; layer++)
        {
            h = g.Node("MatMul", new[] { h, g.Initializer($"w{layer}", Weights(layer < 3 ? 64 : 32), 8, layer < 3 ? 8 : 4) }, $"mm{layer}");
            if (layer < 3) h = g.Node("Relu", new[] { h }, $"relu{layer}");
        }
        g.Output(g.Node("ReduceMean", new[] { h }, "mean", ("axes", new long[] { 1 }), ("keepdims", 0L)));
        string model = tmp.File("sequences.onnx");
        OnnxModelFile.Save(g.Build(), model);
        Directory.CreateDirectory(tmp.File("items"));
        for (int n = 0; n < count; n++)
        {
            int steps = stepsOf?.Invoke(n) ?? 3 + n % lengths;
            NpyWriter.SaveNpz(tmp.File($"items/{n:000}.npz"), new Dictionary<string, TensorData> { ["x"] = TensorData.FromFloats(Weights(steps * 8).Select(v => 4 * v).ToArray(), steps, 8) });
        }
        return (model, tmp.File("items"));
    }

    private static Evaluator Evaluator(TempFolder tmp, string items, int? batch, int workers = 1)
    {
        File.WriteAllText(tmp.File("engine.yml"), $"metrics:\n  - type: mse\n    reference: fp32\ndataset:\n  data_source: {items}\n");
        string model = tmp.File("sequences.onnx");
        return new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")), new EvaluatorOptions
        {
            BatchSize = batch, Workers = workers, ReferenceModel = File.ReadAllBytes(model), ReferenceSource = model,
        });
    }

    [Fact]
    public void Items_of_several_lengths_run_in_batches_of_one_length_and_come_back_in_the_order_asked_for()
    {
        using var tmp = new TempFolder();
        var (path, items) = SaveSequences(tmp);
        var model = OnnxModelFile.Load(path);
        // A model that halves the output: each item's mse against the FP32 output is the mean of (y / 2)^2, from ONNX Runtime on the item alone.
        var halved = Google.Protobuf.MessageExtensions.ToByteArray(Halved(OnnxModelFile.Load(path)));
        using var data = EngineDefinition.FromDataPath(items).OpenDataset();
        var expected = Enumerable.Range(0, data.Count).Select(i => OrtTestRunner.RunTensors(model, data.Get(i).Inputs.ToDictionary(p => p.Key, p => p.Value)).Single()
            .Select(v => (double)(v / 2) * (v / 2)).Average()).ToArray();

        var asked = new[] { 11, 0, 5, 6, 1, 2, 9, 4, 3, 8, 7, 10 };
        var results = new[] { (4, 1), (4, 2), (2, 2), (8, 1) }.Select(c =>
        {
            using var evaluator = Evaluator(tmp, items, c.Item1, c.Item2);
            return evaluator.Evaluate(halved, asked, CancellationToken.None);
        }).ToList();
        var r = results[0];
        Assert.Equal(asked, r.Items);
        Assert.Equal(asked.Select(i => Math.Round(expected[i], 6)), r.PerItem["mse"].Select(v => Math.Round(v, 6)));
        // Twelve items of four lengths, three each: four batches of three at batch size 4, none refused first.
        Assert.Equal(4, r.Inferences);
        Assert.False(r.BatchFallback);
        // The mean summed in the order asked for, whatever the batch size and workers.
        Assert.Equal(MeanAggregate.Of(r.PerItem["mse"].ToArray()), r.Values["mse"]);
        foreach (var other in results.Skip(1))
        {
            Assert.Equal(r.PerItem["mse"], other.PerItem["mse"]);
            Assert.Equal(r.Values["mse"], other.Values["mse"]);
        }
        Assert.Equal(8, results[2].Inferences); // batch size 2: each length's three items in two batches

        // Stopped after five items: the five measured first, in that order (11, 3 and 7 are 6 steps long, 0 and 4 three).
        using var stopping = Evaluator(tmp, items, 4);
        var stopped = stopping.Evaluate(halved, asked, (measured, _) => measured == 5, CancellationToken.None);
        Assert.True(stopped.StoppedEarly);
        Assert.Equal(new[] { 11, 3, 7, 0, 4 }, stopped.Items);
        Assert.Equal(stopped.Items.Select(i => r.PerItem["mse"][Array.IndexOf(asked, i)]), stopped.PerItem["mse"]);
    }

    private static global::Onnx.ModelProto Halved(global::Onnx.ModelProto model)
    {
        // The output keeps its name (the FP32 reference's): the last node now writes "whole", halved into the output.
        string output = model.Graph.Output[0].Name;
        model.Graph.Node.Single(n => n.Output.Contains(output)).Output[0] = "whole";
        model.Graph.Initializer.Add(TensorProtos.FromFloats("half", new[] { 0.5f }));
        model.Graph.Node.Add(new global::Onnx.NodeProto { OpType = "Mul", Name = "halve", Input = { "whole", "half" }, Output = { output } });
        return model;
    }

    [Fact]
    public void Items_of_one_length_too_few_to_pay_for_batches_of_their_own_run_one_by_one()
    {
        // Twelve items of six lengths, two each: six batches of two would cost about as much as twelve items alone (a
        // batch of one runs with a copy of itself), so the items are not grouped.
        using var tmp = new TempFolder();
        var (path, items) = SaveSequences(tmp, lengths: 6);
        using var evaluator = Evaluator(tmp, items, batch: 4);
        var r = evaluator.Evaluate(File.ReadAllBytes(path), null, CancellationToken.None);
        Assert.Equal(12, r.Inferences);
        // One item per inference from the start (not lone items run as pairs after a refused batch), and why.
        Assert.Equal(1, evaluator.BatchSize);
        Assert.True(r.BatchFallback);
        Assert.Equal("Item 1 has the shape [1,4,8] but item 0 [1,3,8]: items of different sizes cannot share a batch, and the 12 items come in 6 sizes, too few of each for batches of one size to pay.",
            r.BatchFallbackReason);
        Assert.Equal(Enumerable.Range(0, 12), r.Items);
    }

    [Fact]
    public void A_batch_refused_for_a_few_items_of_other_lengths_further_on_makes_the_next_evaluations_batch_by_length()
    {
        // 40 items of 4 steps but 29, 31, ..., 39 (6 steps): the first 16 share a length, so nothing is read ahead, and
        // the batch of items 24-31 is refused. The first evaluation goes on split where the length changes (three
        // batches of eight, then 24-28, 29, 30, 31, and the eight items 32-39 alone, their lengths alternating); the
        // next ones read every item's length and batch by length: 34 items in five batches, 6 in one.
        using var tmp = new TempFolder();
        var (path, items) = SaveSequences(tmp, count: 40, stepsOf: n => n >= 28 && n % 2 == 1 ? 6 : 4);
        using var evaluator = Evaluator(tmp, items, batch: 8);
        byte[] model = File.ReadAllBytes(path);
        var first = evaluator.Evaluate(model, null, CancellationToken.None);
        var reports = new List<PotProgress>();
        var second = evaluator.Evaluate(model, null, CancellationToken.None, new Calibration.ActivationCollectorTests.SyncProgress(reports.Add));
        Assert.Contains(reports, p => p.Activity == "Reading the items' sizes");
        Assert.False(first.BatchFallback);
        Assert.Equal(3 + 4 + 8, first.Inferences);
        Assert.False(second.BatchFallback);
        Assert.Equal(6, second.Inferences);
        Assert.Equal(Enumerable.Range(0, 40), second.Items);
        Assert.Equal(first.PerItem["mse"].Select(v => Math.Round(v, 9)), second.PerItem["mse"].Select(v => Math.Round(v, 9)));
    }

    [Fact]
    public void An_evaluation_stopped_among_items_of_several_lengths_is_taken_up_to_the_complete_result()
    {
        using var tmp = new TempFolder();
        var (path, items) = SaveSequences(tmp, count: 24);
        var calibration = CalibrationData.Open(items, path, CancellationToken.None);
        QuantizedModelBuilder builder;
        using (calibration as IDisposable)
            builder = QuantizedModelBuilder.Create(path, calibration, new DefaultQuantizationOptions { Precision = PrecisionMode.AllInt8, Threads = 1 });
        var fully = ModelCandidate.FullyQuantized(new QuantizationSource("performance", builder.Setup.Options, builder));
        var order = Enumerable.Range(0, 24).Reverse().ToArray();
        EvaluationSession Session(Evaluator evaluator) =>
            new(evaluator, new AccuracyAwareOptions { Quantization = builder.Setup.Options }, () => TimeSpan.Zero, null, CancellationToken.None);

        using var evaluator = Evaluator(tmp, items, batch: 4);
        var session = Session(evaluator);
        var stopped = session.EvaluateUntilDecided(fully, (measured, _) => measured == 7, order: order);
        Assert.True(stopped.StoppedEarly);
        // Items 23, 19, 15, 11, 7, 3 are six steps long, 22 five: measured by length, not in the order's first seven.
        Assert.Equal(new[] { 23, 19, 15, 11, 7, 3, 22 }, stopped.Items);
        var resumed = session.Resume(fully, stopped, order);

        using var other = Evaluator(tmp, items, batch: 4);
        var complete = Session(other).EvaluateUntilDecided(fully, (_, _) => false, order: order);
        Assert.False(resumed.StoppedEarly);
        Assert.Equal(Enumerable.Range(0, 24), resumed.Items);
        Assert.Equal(complete.Items, resumed.Items);
        Assert.Equal(complete.PerItem["mse"], resumed.PerItem["mse"]);
        Assert.Equal(complete.Values["mse"], resumed.Values["mse"]);
    }

    [Fact]
    public void The_batch_size_probe_times_items_of_one_shape()
    {
        using var tmp = new TempFolder();
        var (path, items) = SaveSequences(tmp, count: 40);
        using var evaluator = Evaluator(tmp, items, batch: null);
        var choice = evaluator.ChooseBatchSize(File.ReadAllBytes(path), CancellationToken.None);
        Assert.NotNull(choice);
        Assert.Null(choice!.Refusal);
        Assert.Equal(10, choice.Items); // the ten items of 3 steps
        Assert.True(choice.OfOneShape);
        Assert.Contains("on 10 items of one shape", choice.Describe());
        Assert.Contains(choice.Chosen!.Value, new[] { 8, 4, 2 });
        Assert.Equal(choice.Chosen.Value, evaluator.BatchSize);
    }

    [Fact]
    public void An_AccuracyAware_search_on_items_of_several_lengths_decided_early_takes_the_path_of_complete_evaluations()
    {
        using var tmp = new TempFolder();
        var (path, items) = SaveSequences(tmp, count: 60);
        File.WriteAllText(tmp.File("engine.yml"), $"metrics:\n  - type: cosine_similarity\n    reference: fp32\ndataset:\n  data_source: {items}\n");
        AccuracyAwareResult Run(bool decideEarly, int workers) => AccuracyAwarePipeline.Run(new AccuracyAwareJob
        {
            ModelPath = path,
            CalibrationDataPath = items,
            EnginePath = tmp.File("engine.yml"),
            Options = new AccuracyAwareOptions
            {
                RankingMethod = RankingMethod.Metric, MaximalDrop = 1e-9, DecideEarly = decideEarly, EvaluationWorkers = workers,
                Quantization = new DefaultQuantizationOptions { Precision = PrecisionMode.AllInt8, Threads = 1 },
            },
        }, tmp.File($"aaq-{decideEarly}-{workers}.onnx"));
        var early = Run(true, 2);
        var full = Run(false, 1);
        Assert.True(early.EvaluationBatchSize > 1, $"batch size {early.EvaluationBatchSize}");
        Assert.True(early.DecidedEarlyEvaluations > 0, "some evaluation should have been decided early");
        // The backward pass's tries that miss the limit are decided early: their drops are what decided them.
        Assert.Equal(full.Iterations.Select(i => (i.Stage, i.Layer, i.Action)), early.Iterations.Select(i => (i.Stage, i.Layer, i.Action)));
        Assert.Equal(full.Iterations.Where(i => i.Stage == "Search").Select(i => i.DropAfter), early.Iterations.Where(i => i.Stage == "Search").Select(i => i.DropAfter));
        Assert.Equal(File.ReadAllBytes(full.OutputPath!), File.ReadAllBytes(early.OutputPath!));
        Assert.Equal(full.Metrics.Select(m => m.Final), early.Metrics.Select(m => m.Final));
        Assert.Equal(full.Rankings, early.Rankings);
    }
}
