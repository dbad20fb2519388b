using PotPowerShell.Core.Tests.Quantization;
using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>Real DefaultQuantization, QDQ emitter, ONNX Runtime and Evaluator on a model with one broken layer.</summary>
public class AccuracyAwareEndToEndTests : IClassFixture<AccuracyAwareEndToEndTests.Fixture>
{
    public sealed class Fixture : IDisposable
    {
        public OutlierModel Model { get; } = new();
        private AccuracyAwareResult? _result;

        /// <summary>One strict AAQ run shared by the tests that only read its result.</summary>
        public AccuracyAwareResult Result => _result ??= AccuracyAwarePipeline.Run(Job(Model, new AccuracyAwareOptions { Quantization = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster }, MaximalDrop = 0.01 }), Model.File("aaq.onnx"));

        public void Dispose() => Model.Dispose();
    }

    private readonly Fixture _fixture;

    public AccuracyAwareEndToEndTests(Fixture fixture) => _fixture = fixture;

    private static AccuracyAwareJob Job(OutlierModel m, AccuracyAwareOptions options) => new()
    {
        ModelPath = m.ModelPath,
        CalibrationDataPath = m.CalibrationPath,
        EnginePath = m.EnginePath,
        Options = options,
    };

    [Fact]
    public void DefaultQuantizationMissesTheTargetAndAaqRevertsTheOutlierLayerOnly()
    {
        var r = _fixture.Result;
        var accuracy = Assert.Single(r.Metrics);
        Assert.Equal("accuracy@top1", accuracy.Name);
        Assert.Equal(1.0, accuracy.Baseline); // labels are the FP32 predictions
        Assert.True(accuracy.FullyQuantizedDrop > 0.01, $"DefaultQuantization should miss 0.01, its drop is {accuracy.FullyQuantizedDrop}");
        Assert.True(r.Met, r.Reason);
        Assert.Equal(new[] { "fc2" }, r.RevertedLayers.Select(l => l.Layer));
        Assert.True(accuracy.Drop <= 0.01);
        Assert.Equal(3, r.QuantizedLayerCount);
        Assert.True(File.Exists(r.OutputPath));
        Assert.True(File.Exists(r.ReportPath));
    }

    [Fact]
    public void TheWrittenModelScoresWhatTheResultSaysWithAFreshEvaluator()
    {
        var r = _fixture.Result;
        using var evaluator = new Evaluator(EngineDefinition.Load(_fixture.Model.EnginePath));
        var bytes = File.ReadAllBytes(r.OutputPath!);
        Assert.Equal(r.Metrics[0].Final, evaluator.Evaluate(bytes, null, CancellationToken.None).Values["accuracy@top1"], 12);
        // fc2 reads its float weights again; fc1 and fc3 read dequantized INT8 weights.
        var graph = OnnxModelFile.Load(r.OutputPath!).Graph;
        var fc2 = graph.Node.Single(n => n.Name == "fc2");
        Assert.Contains(graph.Initializer, t => t.Name == fc2.Input[1] && t.DataType == (int)global::Onnx.TensorProto.Types.DataType.Float);
        foreach (var name in new[] { "fc1", "fc3" })
        {
            var node = graph.Node.Single(n => n.Name == name);
            Assert.Contains(graph.Node, n => n.OpType == "DequantizeLinear" && n.Output.Contains(node.Input[1]));
        }
    }

    [Fact]
    public void A_ranking_with_every_layer_faster_in_float_is_empty_and_warns()
    {
        var m = _fixture.Model;
        var warnings = new List<string>();
        var slow = new FakeTimer { SlowInInt8 = new HashSet<string> { "fc1", "fc2", "fc3" } };
        var options = new AccuracyAwareOptions { Quantization = new DefaultQuantizationOptions { Measurement = TestMeasurement.With(slow, m.File("costs.json")) } };
        var ranking = AccuracyAwarePipeline.Rank(Job(m, options) with { Warnings = new LogLines(warnings) }, RankingMethod.Metric);
        Assert.Empty(ranking.Layers);
        Assert.Equal($"No INT8 layer to rank in '{m.ModelPath}': every layer is float in this quantization. With -Precision Fastest (the default) the layers ONNX Runtime runs faster in float on this CPU stay float; -Precision AllInt8 quantizes and ranks every layer.",
            Assert.Single(warnings));
    }

    [Fact]
    public void MetricRankingMatchesPerLayerDeltasComputedIndependently()
    {
        var m = _fixture.Model;
        var options = new AccuracyAwareOptions { Quantization = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster }, RankingSubsetSize = 40 };
        var ranking = AccuracyAwarePipeline.Rank(Job(m, options), RankingMethod.Metric);

        // Independently: the same quantization, FP32 and INT8 per item, the 40 items INT8 gets most wrong, and the
        // accuracy on them with each layer reverted alone.
        using var calibration = NpyDataset.Open(m.CalibrationPath);
        var builder = QuantizedModelBuilder.Create(m.ModelPath, calibration, options.Quantization);
        using var evaluator = new Evaluator(EngineDefinition.Load(m.EnginePath));
        var fp32 = evaluator.Evaluate(builder.FloatModel.ToByteArray(), null, CancellationToken.None).PerItem["accuracy@top1"];
        var int8 = evaluator.Evaluate(builder.Build(new HashSet<string>()).ToByteArray(), null, CancellationToken.None).PerItem["accuracy@top1"];
        var subset = Enumerable.Range(0, fp32.Length).OrderByDescending(i => fp32[i] - int8[i]).ThenBy(i => i).Take(40).OrderBy(i => i).ToList();
        double Accuracy(IReadOnlySet<string> reverted) =>
            evaluator.Evaluate(builder.Build(reverted).ToByteArray(), subset, CancellationToken.None).Values["accuracy@top1"];
        double reference = Accuracy(new HashSet<string>());
        var expected = builder.Layers.Select(l => (Layer: l.Node, Delta: Accuracy(new HashSet<string> { l.Node }) - reference))
            .OrderByDescending(x => x.Delta).ThenBy(x => x.Layer, StringComparer.Ordinal).ToList();

        Assert.Equal(expected.Select(x => x.Layer), ranking.Layers.Select(l => l.Layer));
        Assert.Equal(expected.Select(x => x.Delta), ranking.Layers.Select(l => l.Score));
        Assert.Equal("fc2", ranking.Layers[0].Layer);
        Assert.True(ranking.Layers[0].Score > 0.1);
    }

    [Fact]
    public void An_engine_path_naming_a_folder_of_validation_data_reads_it_as_Compare_PotModel_reads_a_data_path()
    {
        // Labelled: accuracy@top1, as the fixture's engine file (metrics: accuracy over the same folder) gives it.
        var m = _fixture.Model;
        var options = new AccuracyAwareOptions { Quantization = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster }, MaximalDrop = 0.01 };
        var byFolder = AccuracyAwarePipeline.Run(Job(m, options) with { EnginePath = m.File("validation") }, m.File("by-folder.onnx"));
        var byEngine = _fixture.Result;
        Assert.Equal("accuracy@top1", byFolder.Metrics.Single().Name);
        Assert.Equal(byEngine.Metrics.Single().Baseline, byFolder.Metrics.Single().Baseline);
        Assert.Equal(byEngine.Metrics.Single().FullyQuantized, byFolder.Metrics.Single().FullyQuantized);
        Assert.Equal(byEngine.RevertedLayers.Select(l => l.Layer), byFolder.RevertedLayers.Select(l => l.Layer));

        // Unlabelled: cosine similarity to the FP32 model's outputs.
        Directory.CreateDirectory(m.File("unlabelled"));
        File.Copy(m.File("validation/x.npy"), m.File("unlabelled/x.npy"), overwrite: true);
        var unlabelled = AccuracyAwarePipeline.Run(Job(m, options) with { EnginePath = m.File("unlabelled") }, m.File("unlabelled.onnx"));
        var cosine = unlabelled.Metrics.Single();
        Assert.Equal("cosine_similarity", cosine.Name);
        Assert.Equal(1.0, cosine.Baseline, 12);
        Assert.True(cosine.FullyQuantized < 1);
    }

    [Fact]
    public void Labels_in_another_class_order_than_the_model_s_are_named_in_a_warning()
    {
        // The FP32 predictions moved by one class: FP32 scores 0, so every quantized model meets the target.
        var m = _fixture.Model;
        Directory.CreateDirectory(m.File("moved"));
        File.Copy(m.File("validation/x.npy"), m.File("moved/x.npy"), overwrite: true);
        long[] labels;
        using (var validation = NpyDataset.Open(m.File("validation")))
            labels = Enumerable.Range(0, validation.Count).Select(i => ((long)validation.Get(i).Annotation! + 1) % OutlierModel.Classes).ToArray();
        NpyWriter.Save(m.File("moved/labels.npy"), labels, new long[] { labels.Length }, "<i8");
        File.WriteAllText(m.File("moved.yml"), "metrics:\n  - type: accuracy\ndataset:\n  data_source: moved\n");
        var options = new AccuracyAwareOptions { Quantization = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster }, MaximalDrop = 0.01 };

        var result = AccuracyAwarePipeline.Run(Job(m, options) with { EnginePath = m.File("moved.yml") }, m.File("moved.onnx"));
        Assert.Equal(0, result.Metrics.Single().Baseline);
        Assert.Contains(result.Warnings, w => w.StartsWith("The FP32 model scores accuracy@top1 0 on the 200 validation items, at or near the worst value the metric has (0)", StringComparison.Ordinal)
            && w.Contains("label_offset: 1", StringComparison.Ordinal));
        // The model's own labels: FP32 scores 1, no such warning.
        Assert.DoesNotContain(_fixture.Result.Warnings, w => w.StartsWith("The FP32 model scores", StringComparison.Ordinal));
        // Nor the one about a limit every model meets, said once only: the baseline at the worst value says it.
        Assert.DoesNotContain(result.Warnings, w => w.StartsWith("The allowed drop", StringComparison.Ordinal));
    }

    [Fact]
    public void A_maximal_drop_that_reaches_the_metric_s_worst_value_is_named_in_a_warning()
    {
        // maximal_drop 1 on top-1 accuracy (a percentage typed as a fraction): any model, even one scoring 0, meets it.
        var m = _fixture.Model;
        var options = new AccuracyAwareOptions { Quantization = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster }, MaximalDrop = 1 };
        var result = AccuracyAwarePipeline.Run(Job(m, options), m.File("percent.onnx"));
        Assert.True(result.Met);
        Assert.Contains(result.Warnings, w => w.StartsWith("The allowed drop of accuracy@top1 (1 from 1) reaches its worst value (0): every model meets the target", StringComparison.Ordinal));
        Assert.DoesNotContain(_fixture.Result.Warnings, w => w.StartsWith("The allowed drop", StringComparison.Ordinal));
    }

    [Fact]
    public void The_quantizations_warnings_reach_the_result_and_a_ranking()
    {
        var m = _fixture.Model;
        const string warning = "Ignored operation type 'LSTM' does not occur in the model.";
        var options = new AccuracyAwareOptions
        {
            Quantization = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, IgnoredOperations = new[] { new IgnoredOperation("LSTM") } },
            MaximalDrop = 0.01, RankingSubsetSize = 30, RankingMethod = RankingMethod.OutputError,
        };
        var result = AccuracyAwarePipeline.Run(Job(m, options), m.File("warned.onnx"));
        Assert.Contains(warning, result.Warnings);
        // The JSON report keeps them too, for whoever reads it without the console; not the latency check's, whose
        // figures would make two runs' reports differ.
        var report = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(result.ReportPath!))!;
        Assert.Contains(warning, report["warnings"]!.AsArray().Select(w => (string)w!));
        string slower = LatencyCheckResult.NotFaster + ": p50 0.020 ms vs 0.010 ms for FP32 (0.50x, batch 1, one thread, 30 interleaved runs).";
        var timed = System.Text.Json.Nodes.JsonNode.Parse(AccuracyAwareReport.ToJson(result with { Warnings = result.Warnings.Append(slower).ToList() }))!;
        Assert.Equal(result.Warnings.Where(w => !w.StartsWith(LatencyCheckResult.NotFaster, StringComparison.Ordinal)), timed["warnings"]!.AsArray().Select(w => (string)w!));
        var heard = new List<string>();
        AccuracyAwarePipeline.Rank(Job(m, options) with { Warnings = new Collect(heard) }, RankingMethod.OutputError);
        Assert.Contains(warning, heard);
    }

    private sealed class Collect(List<string> into) : IProgress<string>
    {
        public void Report(string value) => into.Add(value);
    }

    [Fact]
    public void OutputErrorRankingFindsTheSameLayerWithFewerInferences()
    {
        var m = _fixture.Model;
        var options = new AccuracyAwareOptions { Quantization = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster }, RankingSubsetSize = 40, ConfirmTopLayers = 1 };
        var byMetric = AccuracyAwarePipeline.Rank(Job(m, options), RankingMethod.Metric);
        var byError = AccuracyAwarePipeline.Rank(Job(m, options), RankingMethod.OutputError);
        Assert.Equal("fc2", byError.Layers[0].Layer);
        Assert.Equal(RankingMethod.Metric, byError.Layers[0].Method);
        Assert.All(byError.Layers, l => Assert.False(double.IsNaN(l.OutputError), $"{l.Layer} has no output error"));
        Assert.True(byError.Layers[0].OutputError > byError.Layers[1].OutputError);
        Assert.Equal(byMetric.Layers[0].Score, byError.Layers[0].Score, 12);
        Assert.Equal((1 + 3) * 40L, byMetric.Inferences);
        Assert.Equal(2 * 40L + (1 + 1) * 40L, byError.Inferences);
    }

    [Fact]
    public void SameInputsAndSeedGiveTheSameBytesAndReport()
    {
        var m = _fixture.Model;
        var options = new AccuracyAwareOptions { Quantization = new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster }, MaximalDrop = 0.01, RankingSubsetSize = 30, RankingMethod = RankingMethod.OutputError };
        var first = AccuracyAwarePipeline.Run(Job(m, options), m.File("det.onnx"));
        var firstBytes = File.ReadAllBytes(first.OutputPath!);
        var firstReport = File.ReadAllText(first.ReportPath!);
        var second = AccuracyAwarePipeline.Run(Job(m, options), m.File("det.onnx"));
        Assert.Equal(firstBytes, File.ReadAllBytes(second.OutputPath!));
        Assert.Equal(firstReport, File.ReadAllText(second.ReportPath!));
        Assert.Equal(new[] { "fc2" }, second.RevertedLayers.Select(l => l.Layer));
    }
}
