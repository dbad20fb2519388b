using Microsoft.ML.OnnxRuntime;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Runtime;
using PotPowerShell.Core.Tests.Data;
using PotPowerShell.TestSupport;
// The core has an NpyWriter too (for benchmarks); these tests use the test one.

namespace PotPowerShell.Core.Tests.Evaluation;

public class EvaluatorTests
{
    // 7 items of 4 features, W is 4x3: the expected logits are computed in the test with plain loops.
    private static readonly float[] W = { 1, 0, 0.5f, 0, 1, -1, -1, 2, 0, 0.5f, 0, 1 };
    private static readonly float[][] X =
    {
        new[] { 1f, 0, 0, 0 }, new[] { 0f, 1, 0, 0 }, new[] { 0f, 0, 1, 0 }, new[] { 0f, 0, 0, 1 },
        new[] { 1f, 1, 1, 1 }, new[] { -1f, 2, 0.5f, 0 }, new[] { 0.2f, -0.3f, 0.7f, 2 },
    };
    private static readonly long[] Labels = { 0, 1, 2, 2, 1, 0, 2 };

    private static float[] Logits(int i) => TestModels.Multiply(X[i], W, 4, 3);

    private static int ArgMax(float[] v) => Array.IndexOf(v, v.Max());

    private static TempFolder Data(long[]? labels = null)
    {
        var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("d"));
        NpyWriter.Save(tmp.File("d/x.npy"), X.SelectMany(r => r).ToArray(), new long[] { X.Length, 4 }, "<f4");
        NpyWriter.Save(tmp.File("d/labels.npy"), labels ?? Labels, new long[] { X.Length }, "<i8");
        return tmp;
    }

    private static EngineDefinition Engine(TempFolder tmp, string yaml)
    {
        File.WriteAllText(tmp.File("engine.yml"), yaml);
        return EngineDefinition.Load(tmp.File("engine.yml"));
    }

    private const string ClassifierYaml = "metrics:\n  - type: accuracy\n  - type: accuracy\n    top_k: 2\n  - type: f1\ndataset:\n  data_source: d\n";

    [Fact]
    public void Accuracy_top_k_matches_logits_computed_by_hand()
    {
        using var tmp = Data();
        using var evaluator = new Evaluator(Engine(tmp, ClassifierYaml));
        var r = evaluator.Evaluate(TestModels.MatMul(W, 4, 3, "batch"), null, CancellationToken.None);
        var top1 = Enumerable.Range(0, X.Length).Select(i => ArgMax(Logits(i)) == Labels[i] ? 1.0 : 0).ToArray();
        var top2 = Enumerable.Range(0, X.Length).Select(i =>
        {
            var l = Logits(i);
            return l.Count(v => v > l[Labels[i]]) < 2 ? 1.0 : 0;
        }).ToArray();
        Assert.Equal(top1, r.PerItem["accuracy@top1"]);
        Assert.Equal(top2, r.PerItem["accuracy@top2"]);
        Assert.Equal(top1.Average(), r.Values["accuracy@top1"], 12);
        Assert.Equal(top2.Average(), r.Values["accuracy@top2"], 12);
        Assert.Equal(top1, r.PerItem["f1"]); // per-sample F1 of single-label data = top-1 correctness
        Assert.NotEqual(top1.Average(), top2.Average()); // the data makes top-2 differ from top-1
        Assert.Equal(Enumerable.Range(0, X.Length), r.Items);
        Assert.Equal(new[] { "accuracy@top1", "accuracy@top2", "f1" }, evaluator.Metrics.Select(m => m.Name));
    }

    [Fact]
    public void One_hot_label_rows_are_their_classes_and_a_row_of_two_classes_is_refused()
    {
        // Keras' to_categorical labels: the same items, each label a row of 3 with a 1 at its class.
        using var tmp = Data();
        var oneHot = Labels.SelectMany(l => Enumerable.Range(0, 3).Select(c => c == l ? 1f : 0f)).ToArray();
        NpyWriter.Save(tmp.File("d/labels.npy"), oneHot, new long[] { X.Length, 3 }, "<f4");
        using (var evaluator = new Evaluator(Engine(tmp, ClassifierYaml)))
        {
            var r = evaluator.Evaluate(TestModels.MatMul(W, 4, 3, "batch"), null, CancellationToken.None);
            Assert.Equal(Enumerable.Range(0, X.Length).Select(i => ArgMax(Logits(i)) == Labels[i] ? 1.0 : 0), r.PerItem["accuracy@top1"]);
        }

        oneHot[3 * 4 + 0] = 1; // item 4 labelled with classes 0 and 1
        NpyWriter.Save(tmp.File("d/labels.npy"), oneHot, new long[] { X.Length, 3 }, "<f4");
        using var twoHot = new Evaluator(Engine(tmp, ClassifierYaml));
        var e = Assert.Throws<PotException>(() => twoHot.Evaluate(TestModels.MatMul(W, 4, 3, "batch"), null, CancellationToken.None));
        Assert.Equal("AnnotationNotAClass", e.ErrorId);
        Assert.Contains("Item 4 ", e.Message);
        Assert.Contains("one-hot (every value 0 but one 1)", e.Message);
    }

    [Fact]
    public void An_engine_that_names_no_output_scores_the_first_float_output_not_an_int64_label_before_it()
    {
        // Outputs: 'label' (int64 ArgMax of the scores) first, then 'scores' (float), as models that return both export.
        var g = new PotPowerShell.Core.Onnx.GraphBuilder("label_first");
        var x = g.Input("x", "batch", 4L);
        var scores = g.Node("MatMul", new[] { x, g.Initializer("w", W, 4, 3) }, "scores");
        var label = g.Node("ArgMax", new[] { scores }, "label", ("axis", 1L), ("keepdims", 0L));
        g.Output(label, global::Onnx.TensorProto.Types.DataType.Int64, "batch");
        g.Output(scores, global::Onnx.TensorProto.Types.DataType.Float, "batch", 3);
        byte[] model = Google.Protobuf.MessageExtensions.ToByteArray(g.Build());
        using var tmp = Data();
        using var evaluator = new Evaluator(EngineDefinition.FromDataPath(tmp.File("d")));
        var r = evaluator.Evaluate(model, null, CancellationToken.None);
        var top1 = Enumerable.Range(0, X.Length).Select(i => ArgMax(Logits(i)) == Labels[i] ? 1.0 : 0).ToArray();
        Assert.Equal(top1, r.PerItem["accuracy@top1"]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(32)]
    public void Batching_gives_the_same_results_as_batch_1(int batch)
    {
        using var tmp = Data();
        var engine = Engine(tmp, ClassifierYaml);
        // A custom metric exposes a raw logit per item, so outputs (not only argmaxes) are compared across batch sizes.
        var logit = new[] { CustomMetric.FromFunction("logit2", MetricDirection.HigherBetter, s => s.Outputs["y"].ToFloats()[2]) };
        using var one = new Evaluator(engine, new EvaluatorOptions { BatchSize = 1, CustomMetrics = logit });
        using var many = new Evaluator(engine, new EvaluatorOptions { BatchSize = batch, CustomMetrics = logit });
        byte[] model = TestModels.MatMul(W, 4, 3, "batch");
        var a = one.Run(model, new EvaluationRequest { KeepPredictions = true }, CancellationToken.None);
        var b = many.Run(model, new EvaluationRequest { KeepPredictions = true }, CancellationToken.None);
        Assert.Equal(1, a.BatchSize);
        Assert.Equal(batch, b.BatchSize);
        Assert.Equal((X.Length + batch - 1) / batch, b.Inferences);
        foreach (var name in new[] { "accuracy@top1", "accuracy@top2", "f1" })
        {
            Assert.Equal(a.PerItem[name], b.PerItem[name]);
            Assert.Equal(a.Values[name], b.Values[name]);
        }
        Assert.Equal(a.Predictions, b.Predictions);
        for (int i = 0; i < X.Length; i++)
        {
            Assert.Equal(Logits(i)[2], a.PerItem["logit2"][i], 5);
            Assert.Equal(a.PerItem["logit2"][i], b.PerItem["logit2"][i], 5);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Images_of_mostly_different_sizes_run_one_by_one_on_a_model_with_a_dynamic_height_and_width(int batch)
    {
        // x[batch, 3, h, w] -> GlobalAveragePool -> Flatten -> y[batch, 3]: each item's channel means.
        var g = new PotPowerShell.Core.Onnx.GraphBuilder("pool");
        var x = g.Input("x", "batch", 3L, "h", "w");
        var y = g.Node("Flatten", new[] { g.Node("GlobalAveragePool", new[] { x }, "pool") }, "flatten");
        g.Output(y);
        byte[] model = Google.Protobuf.MessageExtensions.ToByteArray(g.Build());
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("img"));
        var sizes = new[] { (6, 4), (10, 8), (6, 4), (5, 9), (7, 7) };
        for (int n = 0; n < sizes.Length; n++)
        {
            var (w, h) = sizes[n];
            PngFiles.Save(tmp.File($"img/{n}.png"), w, h, 3, Enumerable.Range(0, w * h * 3).Select(i => (byte)((i * 31 + n * 7) % 256)).ToArray());
        }
        NpyWriter.Save(tmp.File("labels.npy"), new long[sizes.Length], new long[] { sizes.Length }, "<i8");
        var engine = Engine(tmp, "dataset:\n  data_source: img\n  labels: labels.npy\n");
        var blue = new[] { CustomMetric.FromFunction("mean0", MetricDirection.HigherBetter, s => s.Outputs[y].ToFloats()[0]) };
        using var evaluator = new Evaluator(engine, new EvaluatorOptions { BatchSize = batch, CustomMetrics = blue });
        var r = evaluator.Evaluate(model, null, CancellationToken.None);
        using var data = engine.OpenDataset();
        for (int i = 0; i < sizes.Length; i++)
        {
            var image = data.Get(i).Inputs.Values.Single();
            int plane = (int)(image.Shape[2] * image.Shape[3]);
            Assert.Equal(image.ToFloats().Take(plane).Average(), r.PerItem["mean0"][i], 4);
        }
        // Item by item: only items 0 and 2 share a size, too few for batches of one size to pay (ShapeGroups.ItemsPerBatch).
        Assert.Equal(sizes.Length, r.Inferences);
        Assert.Equal(batch > 1, r.BatchFallback);
        if (batch > 1) Assert.EndsWith("the 5 items come in 4 sizes, too few of each for batches of one size to pay.", r.BatchFallbackReason);
        Assert.Equal(Enumerable.Range(0, sizes.Length), r.Items);
    }

    [Fact]
    public void Fixed_batch_models_are_padded_and_give_the_same_values()
    {
        using var tmp = Data();
        var engine = Engine(tmp, ClassifierYaml);
        using var evaluator = new Evaluator(engine, new EvaluatorOptions { BatchSize = 32 });
        var dynamic = evaluator.Evaluate(TestModels.MatMul(W, 4, 3, "batch"), null, CancellationToken.None);
        var fixed4 = evaluator.Evaluate(TestModels.MatMul(W, 4, 3, 4L), null, CancellationToken.None);
        var fixed1 = evaluator.Evaluate(TestModels.MatMul(W, 4, 3, 1L), null, CancellationToken.None);
        Assert.Equal(4, fixed4.BatchSize);
        Assert.Equal(2, fixed4.Inferences); // 7 items: 4 + 3 padded to 4
        Assert.Equal(new[] { 4, 3 }, fixed4.BatchItems);
        Assert.Equal(1, fixed1.BatchSize);
        Assert.Equal(7, fixed1.Inferences);
        foreach (var r in new[] { fixed4, fixed1 })
            foreach (var name in dynamic.Values.Keys)
            {
                Assert.Equal(dynamic.PerItem[name], r.PerItem[name]);
                Assert.Equal(dynamic.Values[name], r.Values[name]);
            }
    }

    [Fact]
    public void Subset_items_are_evaluated_in_the_given_order()
    {
        using var tmp = Data();
        using var evaluator = new Evaluator(Engine(tmp, ClassifierYaml));
        var all = evaluator.Evaluate(TestModels.MatMul(W, 4, 3, "batch"), null, CancellationToken.None);
        var some = evaluator.Evaluate(TestModels.MatMul(W, 4, 3, "batch"), new[] { 5, 2, 6 }, CancellationToken.None);
        Assert.Equal(new[] { 5, 2, 6 }, some.Items);
        Assert.Equal(new[] { all.PerItem["accuracy@top1"][5], all.PerItem["accuracy@top1"][2], all.PerItem["accuracy@top1"][6] }, some.PerItem["accuracy@top1"]);
        Assert.Equal("EvaluationItemOutOfRange",
            Assert.Throws<PotException>(() => evaluator.Evaluate(TestModels.MatMul(W, 4, 3, "batch"), new[] { 7 }, CancellationToken.None)).ErrorId);
    }

    [Fact]
    public void Multi_input_model_with_mse_against_target_tensors()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("d"));
        float[] a = { 1, 2, 3, 4, 5, 6 }, b = { 0.5f, 0.5f, 1, 1, -1, 2 }, t = { 1, 3, 4, 5, 4, 9 };
        NpyWriter.Save(tmp.File("d/a.npy"), a, new long[] { 3, 2 }, "<f4");
        NpyWriter.Save(tmp.File("d/b.npy"), b, new long[] { 3, 2 }, "<f4");
        NpyWriter.Save(tmp.File("targets.npy"), t, new long[] { 3, 2 }, "<f4");
        var engine = Engine(tmp, "metrics:\n  - type: mse\n  - type: psnr\n    max_value: 10\ndataset:\n  data_source: d\n  labels: targets.npy\n");
        using var evaluator = new Evaluator(engine);
        var r = evaluator.Evaluate(TestModels.Add(2), null, CancellationToken.None);
        // y = a + b: (1.5, 2.5), (4, 5), (4, 8); squared errors vs t: (.25+.25)/2, (0+0)/2, (0+1)/2.
        Assert.Equal(new[] { 0.25, 0, 0.5 }, r.PerItem["mse"].Select(v => Math.Round(v, 9)));
        Assert.Equal(0.25, r.Values["mse"], 9);
        Assert.Equal(MetricDirection.HigherWorse, evaluator.Metrics[0].Direction);
        Assert.Equal(10 * Math.Log10(100 / 0.25), r.PerItem["psnr"][0], 6);
        Assert.Equal(100, r.PerItem["psnr"][1], 6);
    }

    [Fact]
    public void A_model_that_outputs_only_its_predicted_class_is_scored_by_that_class()
    {
        // As a converted scikit-learn classifier ends: the label (int64 ArgMax) is the only tensor output. It was an
        // error (its one value per item was read as the score of one class).
        var g = new PotPowerShell.Core.Onnx.GraphBuilder("label_only");
        var x = g.Input("x", "batch", 4L);
        var label = g.Node("ArgMax", new[] { g.Node("MatMul", new[] { x, g.Initializer("w", W, 4, 3) }, "scores") }, "label", ("axis", 1L), ("keepdims", 0L));
        g.Output(label, global::Onnx.TensorProto.Types.DataType.Int64, "batch");
        using var tmp = Data();
        using var evaluator = new Evaluator(EngineDefinition.FromDataPath(tmp.File("d")));
        var r = evaluator.Evaluate(Google.Protobuf.MessageExtensions.ToByteArray(g.Build()), null, CancellationToken.None);
        var top1 = Enumerable.Range(0, X.Length).Select(i => ArgMax(Logits(i)) == Labels[i] ? 1.0 : 0).ToArray();
        Assert.Equal(top1, r.PerItem["accuracy@top1"]);
    }

    [Fact]
    public void A_scalar_model_input_takes_each_items_value_as_calibration_feeds_it()
    {
        // y = x * gain, gain a scalar input (as a sample rate or a temperature is). Items hold it as [1]; evaluation fed
        // [1] where the model takes [] and refused the data, while calibration (ModelInputBinder) fed the scalar.
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("d"));
        float[] x = { 1, 2, 3, 4, 5, 6 }, gain = { 2, 0.5f, -1 }, t = { 2, 4, 1.5f, 2, -5, -7 };
        NpyWriter.Save(tmp.File("d/x.npy"), x, new long[] { 3, 2 }, "<f4");
        NpyWriter.Save(tmp.File("d/gain.npy"), gain, new long[] { 3 }, "<f4");
        NpyWriter.Save(tmp.File("targets.npy"), t, new long[] { 3, 2 }, "<f4");
        var b = new PotPowerShell.Core.Onnx.GraphBuilder("scaled");
        var y = b.Node("Mul", new[] { b.Input("x", "batch", 2), b.Input("gain") }, "scale");
        b.Output(y, global::Onnx.TensorProto.Types.DataType.Float, "batch", 2);
        using var evaluator = new Evaluator(Engine(tmp, "metrics:\n  - type: mse\ndataset:\n  data_source: d\n  labels: targets.npy\nbatch_size: 3\n"));
        var r = evaluator.Evaluate(Google.Protobuf.MessageExtensions.ToByteArray(b.Build()), null, CancellationToken.None);
        // y: (2, 4), (1.5, 2), (-5, -6); squared errors against t: 0, 0, (0 + 1) / 2.
        Assert.Equal(new[] { 0, 0, 0.5 }, r.PerItem["mse"].Select(v => Math.Round(v, 9)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_model_input_without_a_batch_axis_runs_each_item_alone_though_its_first_dimension_is_fixed(int workers)
    {
        // x [3, 4] @ W [4, 3], as torchvision's detection models take one image [3, H, W]: items [1, 3, 4] are fed
        // without their leading axis. The fixed 3 was read as a batch axis of 3, and the evaluation failed
        // (EngineBatchShapeMismatch: "items cannot share a batch of 3").
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("d"));
        const int items = 5;
        var rng = new Random(5);
        var x = Enumerable.Range(0, items * 12).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        NpyWriter.Save(tmp.File("d/x.npy"), x, new long[] { items, 3, 4 }, "<f4");
        NpyWriter.Save(tmp.File("targets.npy"), new float[items * 9], new long[] { items, 3, 3 }, "<f4");
        using var evaluator = new Evaluator(Engine(tmp, "metrics:\n  - type: mse\ndataset:\n  data_source: d\n  labels: targets.npy\n"),
            new EvaluatorOptions { Workers = workers });
        var r = evaluator.Evaluate(TestModels.MatMul(W, 4, 3, 3L), null, CancellationToken.None);
        // Against zero targets each item's mse is the mean of its nine outputs squared.
        var expected = Enumerable.Range(0, items).Select(i => Enumerable.Range(0, 3)
            .SelectMany(row => TestModels.Multiply(x[(i * 12 + row * 4)..(i * 12 + row * 4 + 4)], W, 4, 3)).Average(v => (double)v * v));
        Assert.Equal(expected.Select(v => Math.Round(v, 5)), r.PerItem["mse"].Select(v => Math.Round(v, 5)));
        Assert.Equal(items, r.Inferences);
        Assert.Equal(1, r.BatchSize);
        Assert.False(r.BatchFallback);
    }

    [Fact]
    public void An_output_of_another_size_than_its_FP32_reference_is_refused_with_what_to_compare_instead()
    {
        // As a detector's boxes after its own NonMaxSuppression: the model gives 3 values per item, its reference 5.
        using var tmp = Data();
        using var evaluator = new Evaluator(Engine(tmp, "metrics:\n  - type: cosine_similarity\n    reference: fp32\ndataset:\n  data_source: d\n"),
            new EvaluatorOptions { ReferenceModel = TestModels.MatMul(new float[20], 4, 5, "batch") });
        var e = Assert.Throws<PotException>(() => evaluator.Evaluate(TestModels.MatMul(W, 4, 3, "batch"), null, CancellationToken.None));
        Assert.Equal("ReferenceShapeMismatch", e.ErrorId);
        Assert.EndsWith("item 0's output 'y' has 3 values but its FP32 reference has 5. Where an output's size depends on its values (boxes after a NonMaxSuppression in the model, " +
            "for example), it cannot be compared value by value: compare a detector's detections with map or coco_precision and reference: fp32, or name an output of fixed size (output:).", e.Message);
    }

    [Fact]
    public void Input_names_that_match_nothing_are_reported()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("d"));
        NpyWriter.Save(tmp.File("d/first.npy"), new float[4], new long[] { 2, 2 }, "<f4");
        NpyWriter.Save(tmp.File("d/second.npy"), new float[4], new long[] { 2, 2 }, "<f4");
        using var evaluator = new Evaluator(Engine(tmp, "dataset:\n  data_source: d\n"));
        var e = Assert.Throws<PotException>(() => evaluator.Evaluate(TestModels.Add(2), null, CancellationToken.None));
        Assert.Equal("DataInputMissing", e.ErrorId);
        Assert.Contains("'a'", e.Message);
        Assert.Contains("'first'", e.Message);
    }

    [Fact]
    public void Shape_mismatch_names_both_shapes()
    {
        using var tmp = Data();
        using var evaluator = new Evaluator(Engine(tmp, ClassifierYaml));
        var e = Assert.Throws<PotException>(() => evaluator.Evaluate(TestModels.MatMul(new float[15], 5, 3, "batch"), null, CancellationToken.None));
        Assert.Equal("EngineShapeMismatch", e.ErrorId);
        Assert.Contains("[1,4]", e.Message);
        Assert.Contains("[?,5]", e.Message);
    }

    [Fact]
    public void Unknown_adapter_output_and_out_of_range_labels_are_reported()
    {
        using var tmp = Data();
        using (var evaluator = new Evaluator(Engine(tmp, "adapter:\n  type: classification\n  output: probs\nmetrics:\n  - type: accuracy\ndataset:\n  data_source: d\n")))
        {
            var e = Assert.Throws<PotException>(() => evaluator.Evaluate(TestModels.MatMul(W, 4, 3, "batch"), null, CancellationToken.None));
            Assert.Equal("EngineOutputNotFound", e.ErrorId);
            Assert.Contains("adapter.output", e.Message);
        }
        using var bad = Data(new long[] { 0, 1, 2, 3, 0, 0, 0 });
        using var evaluator2 = new Evaluator(Engine(bad, ClassifierYaml));
        Assert.Equal("AnnotationOutOfRange", Assert.Throws<PotException>(() => evaluator2.Evaluate(TestModels.MatMul(W, 4, 3, "batch"), null, CancellationToken.None)).ErrorId);
    }

    [Fact]
    public void Class_names_map_text_labels_to_indices()
    {
        using var tmp = Data();
        File.WriteAllText(tmp.File("names.txt"), string.Join("\n", Labels.Select(l => new[] { "cat", "dog", "owl" }[l])) + "\n");
        var engine = Engine(tmp, "metrics:\n  - type: accuracy\ndataset:\n  data_source: d\n  labels: names.txt\n  classes: [cat, dog, owl]\n");
        using var evaluator = new Evaluator(engine);
        using var reference = new Evaluator(Engine(tmp, ClassifierYaml));
        byte[] model = TestModels.MatMul(W, 4, 3, "batch");
        Assert.Equal(reference.Evaluate(model, null, CancellationToken.None).PerItem["accuracy@top1"], evaluator.Evaluate(model, null, CancellationToken.None).PerItem["accuracy@top1"]);
    }

    [Fact]
    public void Cosine_similarity_compares_with_fp32_outputs_computed_once()
    {
        using var tmp = Data();
        var engine = Engine(tmp, "metrics:\n  - type: cosine_similarity\n  - type: mse\n    reference: fp32\ndataset:\n  data_source: d\n");
        float[] w2 = W.Select((v, i) => v + (i % 3 == 0 ? 0.3f : -0.1f)).ToArray();
        byte[] fp32 = TestModels.MatMul(W, 4, 3, "batch"), candidate = TestModels.MatMul(w2, 4, 3, "batch");
        Assert.Equal("ReferenceModelRequired", Assert.Throws<PotException>(() => new Evaluator(engine)).ErrorId);
        using var evaluator = new Evaluator(engine, new EvaluatorOptions { ReferenceModel = fp32 });
        var reports = new List<PotProgress>();
        var progress = new SyncProgress(reports.Add);
        var r = evaluator.Evaluate(candidate, null, CancellationToken.None, progress);
        for (int i = 0; i < X.Length; i++)
        {
            float[] a = TestModels.Multiply(X[i], w2, 4, 3), b = Logits(i);
            double dot = a.Zip(b).Sum(p => (double)p.First * p.Second);
            double expected = dot / Math.Sqrt(a.Sum(v => (double)v * v) * b.Sum(v => (double)v * v));
            Assert.Equal(expected, r.PerItem["cosine_similarity"][i], 5);
            Assert.Equal(a.Zip(b).Average(p => Math.Pow(p.First - p.Second, 2)), r.PerItem["mse"][i], 5);
        }
        Assert.Equal(1.0, evaluator.Evaluate(fp32, null, CancellationToken.None, progress).Values["cosine_similarity"], 6);
        // The FP32 outputs were computed by the first evaluation only.
        Assert.Single(reports.Where(p => p.Activity.StartsWith("Computing FP32")).Select(p => p.Status).Distinct());
    }

    [Fact]
    public void Ctc_text_recognition_end_to_end()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("d"));
        // Two items of 5 time steps x 3 classes (blank 0, 'a' 1, 'b' 2); one-hot paths 1 1 0 2 2 -> "ab" and 2 0 2 1 0 -> "bba".
        int[][] paths = { new[] { 1, 1, 0, 2, 2 }, new[] { 2, 0, 2, 1, 0 } };
        var x = paths.SelectMany(p => p.SelectMany(c => Enumerable.Range(0, 3).Select(k => k == c ? 1f : 0f))).ToArray();
        NpyWriter.Save(tmp.File("d/x.npy"), x, new long[] { 2, 5, 3 }, "<f4");
        File.WriteAllText(tmp.File("text.txt"), "ab\nbbb\n");
        File.WriteAllText(tmp.File("dict.txt"), "a\nb\n");
        var engine = Engine(tmp, "adapter:\n  type: ctc_greedy\n  dictionary: dict.txt\n  blank_index: 0\nmetrics:\n  - type: character_recognition_accuracy\n  - type: character_level_accuracy\ndataset:\n  data_source: d\n  labels: text.txt\n");
        using var evaluator = new Evaluator(engine);
        var r = evaluator.Run(TestModels.Identity("batch", 5L, 3L), new EvaluationRequest { KeepPredictions = true }, CancellationToken.None);
        Assert.Equal(new object?[] { "ab", "bba" }, r.Predictions);
        Assert.Equal(new[] { 1.0, 0.0 }, r.PerItem["character_recognition_accuracy"]);
        Assert.Equal(new[] { 1.0, 1 - 1.0 / 3 }, r.PerItem["character_level_accuracy"]); // bba vs bbb: 1 edit over 3
        // Layer ranking's signals: 1 / (1 + edit distance) for exact match, the value itself for character level.
        Assert.Equal(new[] { 1.0, 0.5 }, r.Signals["character_recognition_accuracy"]);
        Assert.Equal(r.PerItem["character_level_accuracy"], r.Signals["character_level_accuracy"]);
    }

    [Fact]
    public void A_right_line_read_by_ctc_is_as_fragile_as_its_closest_time_step()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("d"));
        // Blank 0, 'a' 1, 'b' 2; every item reads "ab" (labels: ab, ab, b). Item 0's closest step leads by 0.6 - 0.3,
        // item 1's by 0.55 - 0.45; item 2 is wrong, so its fragility is its signal.
        float[][][] items =
        {
            new[] { new[] { 0.1f, 0.8f, 0.1f }, new[] { 0.2f, 0.7f, 0.1f }, new[] { 0.6f, 0.3f, 0.1f }, new[] { 0.1f, 0.2f, 0.7f }, new[] { 0f, 0.1f, 0.9f } },
            new[] { new[] { 0.45f, 0.55f, 0f }, new[] { 0f, 1f, 0f }, new[] { 1f, 0f, 0f }, new[] { 0f, 0f, 1f }, new[] { 0f, 0f, 1f } },
            new[] { new[] { 0f, 1f, 0f }, new[] { 1f, 0f, 0f }, new[] { 0f, 0f, 1f }, new[] { 0f, 0f, 1f }, new[] { 0f, 0f, 1f } },
        };
        NpyWriter.Save(tmp.File("d/x.npy"), items.SelectMany(i => i.SelectMany(step => step)).ToArray(), new long[] { 3, 5, 3 }, "<f4");
        File.WriteAllText(tmp.File("text.txt"), "ab\nab\nb\n");
        var engine = Engine(tmp, "adapter:\n  type: ctc_greedy\n  alphabet: ab\nmetrics:\n  - type: character_recognition_accuracy\ndataset:\n  data_source: d\n  labels: text.txt\n");
        using var evaluator = new Evaluator(engine);
        var r = evaluator.Run(TestModels.Identity("batch", 5L, 3L), new EvaluationRequest(), CancellationToken.None);
        Assert.Equal(new[] { 1.0, 1.0, 0.0 }, r.PerItem["character_recognition_accuracy"]);
        var signal = r.Signals["character_recognition_accuracy"];
        Assert.Equal(new[] { (double)0.6f - 0.3f, (double)0.55f - 0.45f, signal[2] }, r.Fragility["character_recognition_accuracy"]);
        Assert.Equal(0.5, signal[2]); // "ab" against "b": one edit
    }

    [Fact]
    public void Custom_delegate_metric_sees_outputs_annotation_and_prediction()
    {
        using var tmp = Data();
        var seen = new List<SampleMetricInput>();
        var custom = CustomMetric.FromFunction("margin", MetricDirection.HigherBetter, s =>
        {
            seen.Add(s);
            var logits = s.Outputs["y"].ToFloats();
            return logits[(int)(long)s.Annotation!] - logits.Max();
        });
        using var evaluator = new Evaluator(Engine(tmp, ClassifierYaml), new EvaluatorOptions { CustomMetrics = new[] { custom } });
        var r = evaluator.Evaluate(TestModels.MatMul(W, 4, 3, "batch"), null, CancellationToken.None);
        var expected = Enumerable.Range(0, X.Length).Select(i => (double)(Logits(i)[Labels[i]] - Logits(i).Max())).ToArray();
        Assert.Equal(expected, r.PerItem["margin"].Select(v => Math.Round(v, 5)), new RoundComparer());
        Assert.Equal(expected.Average(), r.Values["margin"], 5);
        Assert.Equal(new long[] { 1, 3 }, seen[0].Outputs["y"].Shape);
        Assert.Equal((long)ArgMax(Logits(0)), seen[0].Prediction);
        Assert.Equal(4, evaluator.Metrics.Count);
        var failing = CustomMetric.FromFunction("boom", MetricDirection.HigherBetter, _ => throw new InvalidOperationException("no"));
        using var bad = new Evaluator(Engine(tmp, ClassifierYaml), new EvaluatorOptions { CustomMetrics = new[] { failing } });
        var e = Assert.Throws<PotException>(() => bad.Evaluate(TestModels.MatMul(W, 4, 3, "batch"), null, CancellationToken.None));
        Assert.Equal("CustomMetricFailed", e.ErrorId);
        Assert.Contains("item 0", e.Message);
    }

    private sealed class RoundComparer : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) < 1e-5;
        public int GetHashCode(double v) => 0;
    }

    [Fact]
    public void Script_metrics_need_a_host_factory()
    {
        using var tmp = Data();
        File.WriteAllText(tmp.File("m.ps1"), "1");
        var engine = Engine(tmp, "metrics:\n  - name: s\n    type: script\n    path: m.ps1\ndataset:\n  data_source: d\n");
        Assert.Equal("ScriptMetricUnavailable", Assert.Throws<PotException>(() => new Evaluator(engine)).ErrorId);
        ScriptMetricRequest? request = null;
        using var evaluator = new Evaluator(engine, new EvaluatorOptions
        {
            ScriptMetrics = r => { request = r; return new ConstantMetric(0.25); },
        });
        Assert.Equal(tmp.File("m.ps1"), request!.ScriptPath);
        Assert.Equal("metrics[0]", request.KeyPath);
        Assert.Equal(0.25, evaluator.Evaluate(TestModels.MatMul(W, 4, 3, "batch"), null, CancellationToken.None).Values["s"]);
    }

    private sealed class ConstantMetric(double v) : ISampleMetric
    {
        public double Measure(SampleMetricInput sample) => v;
    }

    [Fact]
    public void Cancellation_stops_between_batches()
    {
        using var tmp = Data();
        using var evaluator = new Evaluator(Engine(tmp, ClassifierYaml), new EvaluatorOptions { BatchSize = 2 });
        byte[] model = TestModels.MatMul(W, 4, 3, "batch");
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => evaluator.Evaluate(model, null, cancelled.Token));
        using var midway = new CancellationTokenSource();
        var reports = new List<PotProgress>();
        var progress = new SyncProgress(p => { reports.Add(p); midway.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => evaluator.Evaluate(model, null, midway.Token, progress));
        Assert.Single(reports); // stopped after the first of four batches
    }

    [Fact]
    public void Progress_is_reported_per_batch_up_to_100_percent()
    {
        using var tmp = Data();
        using var evaluator = new Evaluator(Engine(tmp, ClassifierYaml), new EvaluatorOptions { BatchSize = 2 });
        var reports = new List<PotProgress>();
        evaluator.Evaluate(TestModels.MatMul(W, 4, 3, "batch"), null, CancellationToken.None, new SyncProgress(reports.Add));
        Assert.Equal(new[] { 25, 50, 75, 100 }, reports.Select(p => p.PercentComplete));
    }

    [Fact]
    public void Cache_budget_zero_streams_and_gives_the_same_values()
    {
        using var tmp = Data();
        var engine = Engine(tmp, ClassifierYaml);
        using var cached = new Evaluator(engine);
        using var streaming = new Evaluator(engine, new EvaluatorOptions { CacheMegabytes = 0 });
        byte[] model = TestModels.MatMul(W, 4, 3, "batch");
        var a = cached.Evaluate(model, null, CancellationToken.None);
        var b = streaming.Evaluate(model, null, CancellationToken.None);
        Assert.Equal(a.PerItem["f1"], b.PerItem["f1"]);
        Assert.Equal(X.Length, cached.CacheUsage.Items);
        Assert.Equal(0, streaming.CacheUsage.Items);
    }

    [Fact]
    public void Digits_sample_accuracy_equals_plain_onnx_runtime_argmax()
    {
        string sample = Path.Combine(AppContext.BaseDirectory, "../../../../../samples/digits");
        string model = Path.Combine(sample, "digits.onnx");
        var engine = EngineDefinition.FromDataPath(Path.Combine(sample, "validation"));
        using var evaluator = new Evaluator(engine);
        var r = evaluator.Evaluate(File.ReadAllBytes(model), null, CancellationToken.None);

        // Independently: plain ORT with the legacy API, one item at a time, and the .npy files read whole.
        OnnxRuntimeLoader.Ensure();
        var inputs = NpyReader.ReadFile(Path.Combine(sample, "validation/input.npy"));
        var labels = (long[])NpyReader.ReadFile(Path.Combine(sample, "validation/labels.npy")).Data;
        using var session = new InferenceSession(model);
        int correct = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            var x = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(((float[])inputs.SliceFirstAxis(i, 1).Data), new[] { 1, 1, 8, 8 });
            using var results = session.Run(new[] { NamedOnnxValue.CreateFromTensor("input", x) });
            var logits = results.First().AsEnumerable<float>().ToArray();
            if (Array.IndexOf(logits, logits.Max()) == labels[i]) correct++;
        }
        Assert.Equal((double)correct / labels.Length, r.Values["accuracy@top1"], 12);
        Assert.Equal(labels.Length, r.Items.Count);
    }

    [Fact]
    public void Image_folder_feeds_the_model_in_batches_with_its_preprocessing()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("img"));
        // Three 2x1 RGB images; pixel (x, y=0) of image i = (10i + x, 100 + x, 200 - i).
        for (int i = 0; i < 3; i++)
            PngFiles.Save(tmp.File($"img/{i}.png"), 2, 1, 3, new byte[] { (byte)(10 * i), 100, (byte)(200 - i), (byte)(10 * i + 1), 101, (byte)(200 - i) });
        File.WriteAllText(tmp.File("val.txt"), "2.png b\n0.png a\n1.png c\n");
        var engine = Engine(tmp, "batch_size: 2\nadapter: identity\ndataset:\n  data_source: img\n  annotation_file: val.txt\n  color_order: BGR\n  preprocessing:\n    - type: scale\n      value: 0.5\n");
        var seen = new Dictionary<int, float[]>();
        var capture = CustomMetric.FromFunction("seen", MetricDirection.HigherBetter, s => { seen[s.Index] = s.Outputs["y"].ToFloats(); return 0; }, requiresAnnotation: false);
        using var evaluator = new Evaluator(engine, new EvaluatorOptions { CustomMetrics = new[] { capture } });
        var r = evaluator.Evaluate(TestModels.Identity("batch", 3L, 1L, 2L), null, CancellationToken.None);
        Assert.Equal(2, r.Inferences);
        // Item 0 is 2.png (annotation order); BGR planes of [1, 3, 1, 2], halved.
        Assert.Equal(new[] { 198 * 0.5f, 198 * 0.5f, 50f, 50.5f, 10f, 10.5f }, seen[0]);
        Assert.Equal(new[] { 200 * 0.5f, 200 * 0.5f, 50f, 50.5f, 0f, 0.5f }, seen[1]);
    }

    [Fact]
    public void Ctc_time_major_layout_decodes_each_item_of_a_batch()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("d"));
        // Items are [T=3, C=3] score maps; the model transposes a batch [N, T, C] to time-major [T, N, C] as CRNNs do.
        // Blank 0, 'a' 1, 'b' 2: item 0 path 1 1 2 -> "ab", item 1 path 2 0 2 -> "bb", item 2 path 0 1 0 -> "a".
        int[][] paths = { new[] { 1, 1, 2 }, new[] { 2, 0, 2 }, new[] { 0, 1, 0 } };
        var x = paths.SelectMany(p => p.SelectMany(c => Enumerable.Range(0, 3).Select(k => k == c ? 1f : 0f))).ToArray();
        NpyWriter.Save(tmp.File("d/x.npy"), x, new long[] { 3, 3, 3 }, "<f4");
        File.WriteAllText(tmp.File("t.txt"), "ab\nbb\nb\n");
        var g = new PotPowerShell.Core.Onnx.GraphBuilder("tnc");
        g.Input("x", "batch", 3L, 3L);
        string y = g.Node("Transpose", new[] { "x" }, "transpose", ("perm", new long[] { 1, 0, 2 }));
        g.Output(y, global::Onnx.TensorProto.Types.DataType.Float, 3L, "batch", 3L);
        var model = Google.Protobuf.MessageExtensions.ToByteArray(g.Build());
        var engine = Engine(tmp, "batch_size: 2\nadapter:\n  type: ctc_greedy\n  alphabet: ab\n  layout: TNC\nmetrics:\n  - type: character_recognition_accuracy\ndataset:\n  data_source: d\n  labels: t.txt\n");
        using var evaluator = new Evaluator(engine);
        var r = evaluator.Run(model, new EvaluationRequest { KeepPredictions = true }, CancellationToken.None);
        Assert.Equal(2, r.Inferences);
        Assert.Equal(new object?[] { "ab", "bb", "a" }, r.Predictions);
        Assert.Equal(new[] { 1.0, 1.0, 0.0 }, r.PerItem["character_recognition_accuracy"]);
    }

    [Fact]
    public void Two_datasets_with_scoped_metrics()
    {
        using var tmp = Data();
        Directory.CreateDirectory(tmp.File("e"));
        NpyWriter.Save(tmp.File("e/x.npy"), X.Take(3).SelectMany(r => r).ToArray(), new long[] { 3, 4 }, "<f4");
        NpyWriter.Save(tmp.File("e/labels.npy"), Labels.Take(3).ToArray(), new long[] { 3 }, "<i8");
        var engine = Engine(tmp, "metrics:\n  - type: accuracy\ndatasets:\n  - data_source: d\n  - data_source: e\n    metrics:\n      - name: second_f1\n        type: f1\n");
        using var evaluator = new Evaluator(engine);
        var r = evaluator.Evaluate(TestModels.MatMul(W, 4, 3, "batch"), null, CancellationToken.None);
        Assert.Equal(X.Length + 3, r.Items.Count);
        var top1 = Enumerable.Range(0, X.Length).Select(i => ArgMax(Logits(i)) == Labels[i] ? 1.0 : 0).ToArray();
        Assert.Equal(top1.Concat(top1.Take(3)), r.PerItem["accuracy@top1"]);
        Assert.All(r.PerItem["second_f1"].Take(X.Length), v => Assert.True(double.IsNaN(v)));
        Assert.Equal(top1.Take(3), r.PerItem["second_f1"].Skip(X.Length));
        Assert.Equal(top1.Concat(top1.Take(3)).Average(), r.Values["accuracy@top1"], 12);
    }

    private sealed class SyncProgress(Action<PotProgress> report) : IProgress<PotProgress>
    {
        public void Report(PotProgress value) => report(value);
    }
}
