using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>DefaultQuantization's precision choice and latency check end to end, with fake timings (no timing in tests).</summary>
public class LatencyAwarePrecisionTests
{
    /// <summary>x[batch, 3, 8, 8] -> Conv "stem" (3x3, 3 -> 8) -> Relu -> Conv "next" (1x1, 8 -> 8).</summary>
    private static void Save(string path)
    {
        var random = new Random(7);
        float[] W(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var g = new GraphBuilder("stem");
        var x = g.Input("x", "batch", 3L, 8L, 8L);
        var stem = g.Node("Conv", new[] { x, g.Initializer("w", W(8 * 3 * 9), 8, 3, 3, 3) }, "stem", ("pads", new[] { 1L, 1L, 1L, 1L }));
        var relu = g.Node("Relu", new[] { stem }, "relu");
        g.Output(g.Node("Conv", new[] { relu, g.Initializer("w2", W(64), 8, 8, 1, 1) }, "next"));
        OnnxModelFile.Save(ModelPreparation.Prepare(g.Build()), path);
    }

    private static NpyDataset Data() => new("memory", new Dictionary<string, TensorData> { ["x"] = SyntheticModels.ImageLikeData(8, 3, 8, 8, 1) }, null);

    private static FakeTimer StemSlow() => new() { SlowInInt8 = new HashSet<string> { "stem" } };

    [Theory]
    [InlineData(TargetDevice.Any, PrecisionMode.Fastest, "Float")]
    [InlineData(TargetDevice.Cpu, PrecisionMode.Fastest, "Float")]
    [InlineData(TargetDevice.Gpu, PrecisionMode.Fastest, "INT8")]   // other targets keep POT's semantics
    [InlineData(TargetDevice.Npu, PrecisionMode.Fastest, "INT8")]
    [InlineData(TargetDevice.Any, PrecisionMode.AllInt8, "INT8")]
    public void A_layer_slower_in_int8_stays_float_on_cpu_targets_with_the_figures_in_its_row(TargetDevice device, PrecisionMode precision, string expected)
    {
        using var tmp = new TempFolder();
        Save(tmp.File("m.onnx"));
        var result = DefaultQuantization.Run(tmp.File("m.onnx"), Data(), new DefaultQuantizationOptions
        {
            TargetDevice = device, Precision = precision, Threads = 1, Measurement = TestMeasurement.With(StemSlow(), tmp.File("costs.json")),
        }, tmp.File("q.onnx"));
        var stem = result.Layers.Single(l => l.Node == "stem");
        Assert.Equal(expected, stem.Precision);
        Assert.Equal("INT8", result.Layers.Single(l => l.Node == "next").Precision);
        bool chosen = device is TargetDevice.Any or TargetDevice.Cpu && precision == PrecisionMode.Fastest;
        Assert.Equal(chosen ? PrecisionMode.Fastest : PrecisionMode.AllInt8, result.Precision);
        if (expected == "Float")
        {
            // INT8: its 3 ms kernel (+0.2 ms conversions in its micro-benchmark, less the quantize of the input it
            // brings and the quantize of "next"'s input it saves); float: 1 ms.
            Assert.Equal("faster in float: INT8 3.000 ms vs float 1.000 ms on this CPU (batch 1, conversions to and from its neighbours counted)", stem.Reason);
            Assert.Equal((3.0, 1.0), (stem.Int8Ms, stem.FloatMs));
            Assert.Contains(result.PrecisionCandidates, c => c.Chosen && c.Name == "estimate");
        }
        else if (!chosen)
        {
            Assert.Null(stem.Int8Ms);
            Assert.Empty(result.PrecisionCandidates);
        }
    }

    [Fact]
    public void A_second_run_decides_from_the_cache_alone_and_writes_the_same_bytes()
    {
        using var tmp = new TempFolder();
        Save(tmp.File("m.onnx"));
        var first = StemSlow();
        var options = new DefaultQuantizationOptions { Threads = 1, SkipLatencyCheck = true, Measurement = TestMeasurement.With(first, tmp.File("costs.json")) };
        DefaultQuantization.Run(tmp.File("m.onnx"), Data(), options, tmp.File("q1.onnx"));
        Assert.Contains(first.Timed, n => n.StartsWith("int8|", StringComparison.Ordinal));
        Assert.True(File.Exists(tmp.File("costs.json")));

        // Different fake costs now: only the cache decides, so nothing changes.
        var second = new FakeTimer();
        DefaultQuantization.Run(tmp.File("m.onnx"), Data(), options with { Measurement = TestMeasurement.With(second, tmp.File("costs.json")) }, tmp.File("q2.onnx"));
        Assert.Empty(second.Timed);
        Assert.Equal(File.ReadAllBytes(tmp.File("q1.onnx")), File.ReadAllBytes(tmp.File("q2.onnx")));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Candidates_timed_on_a_busy_machine_are_timed_again_and_never_cached_while_busy(int disturbedCalls)
    {
        // Disturbed, the medians put "all float" (2 x 2 ms) before the estimate (4 x 1.3 ms): the choice must not follow them.
        using var tmp = new TempFolder();
        Save(tmp.File("m.onnx"));
        var timer = new FakeTimer { SlowInInt8 = new HashSet<string> { "stem" }, DisturbedWholeModelCalls = disturbedCalls };
        var options = new DefaultQuantizationOptions { Threads = 1, SkipLatencyCheck = true, Measurement = TestMeasurement.With(timer, tmp.File("costs.json")) };
        var result = DefaultQuantization.Run(tmp.File("m.onnx"), Data(), options, tmp.File("q.onnx"));
        Assert.Equal(2, timer.WholeModelCalls);
        var chosen = result.PrecisionCandidates.Single(c => c.Chosen);
        Assert.Equal(("estimate", 1.3), (chosen.Name, Math.Round(chosen.Ms, 6)));
        Assert.Equal("INT8", result.Layers.Single(l => l.Node == "next").Precision);
        bool busy = disturbedCalls == 2;
        Assert.Equal(busy, result.Warnings.Any(w => w.StartsWith("The machine was busy while the candidate models were timed (median runs 4.0x their fastest, twice)", StringComparison.Ordinal)));
        // Kept only when the second timing was quiet; otherwise the next run times the candidates again.
        Assert.Equal(busy, !File.ReadAllText(tmp.File("costs.json")).Contains("\"model|", StringComparison.Ordinal));
        var next = new FakeTimer { SlowInInt8 = new HashSet<string> { "stem" } };
        DefaultQuantization.Run(tmp.File("m.onnx"), Data(), options with { Measurement = TestMeasurement.With(next, tmp.File("costs.json")) }, tmp.File("q2.onnx"));
        Assert.Equal(busy ? 1 : 0, next.WholeModelCalls);
        Assert.Equal(File.ReadAllBytes(tmp.File("q.onnx")), File.ReadAllBytes(tmp.File("q2.onnx")));
    }

    [Fact]
    public void A_cache_from_another_cpu_is_measured_again_and_replaced_with_a_warning()
    {
        using var tmp = new TempFolder();
        Save(tmp.File("m.onnx"));
        var options = new DefaultQuantizationOptions { Threads = 1, SkipLatencyCheck = true, Measurement = TestMeasurement.With(StemSlow(), tmp.File("costs.json")) };
        DefaultQuantization.Run(tmp.File("m.onnx"), Data(), options, tmp.File("q1.onnx"));

        var timer = new FakeTimer();
        var elsewhere = options with { Measurement = TestMeasurement.With(timer, tmp.File("costs.json")) with { Identity = new CostCacheIdentity("Another CPU", TestMeasurement.Identity.OnnxRuntime) } };
        var result = DefaultQuantization.Run(tmp.File("m.onnx"), Data(), elsewhere, tmp.File("q2.onnx"));
        Assert.Contains(timer.Timed, n => n.StartsWith("float|", StringComparison.Ordinal));
        Assert.Contains(result.Warnings, w => w.Contains("was not used because it was measured on another CPU"));
        Assert.Equal("INT8", result.Layers.Single(l => l.Node == "stem").Precision);   // this CPU's (fake) timings
        Assert.Equal("Another CPU", LayerCostCache.Load(tmp.File("costs.json"), elsewhere.Measurement!.Identity).Identity.Cpu);
        Assert.Null(LayerCostCache.Load(tmp.File("costs.json"), elsewhere.Measurement!.Identity).Discarded);
    }

    [Theory]
    [InlineData(1.0, 2.0, true)]
    [InlineData(2.0, 1.0, false)]
    public void The_result_states_the_speed_up_and_warns_with_the_figures_when_the_output_is_slower(double fp32Ms, double outputMs, bool warns)
    {
        using var tmp = new TempFolder();
        Save(tmp.File("m.onnx"));
        var timer = new FakeTimer { WholeModelMs = new[] { fp32Ms, outputMs } };
        var result = DefaultQuantization.Run(tmp.File("m.onnx"), Data(), new DefaultQuantizationOptions
        {
            Threads = 1, Precision = PrecisionMode.AllInt8, BatchSize = 4, Measurement = TestMeasurement.With(timer, tmp.File("costs.json")),
        }, tmp.File("q.onnx"));
        Assert.Equal((fp32Ms, outputMs, fp32Ms / outputMs, 4), (result.Fp32LatencyMs!.Value, result.LatencyMs!.Value, result.Speedup!.Value, result.BatchSize));
        // The check times until it is decided which model is faster; the precision choice's timings do not stop early.
        Assert.Equal(1, timer.TimedUntilDecided);
        string expected = $"The quantized model is not faster than the FP32 model on this CPU: p50 2.000 ms vs 1.000 ms for FP32 (0.50x, batch 4, one thread, 5 interleaved runs).";
        if (warns) Assert.Contains(result.Warnings, w => w.StartsWith(expected, StringComparison.Ordinal) && w.EndsWith("It is smaller; for speed, use -Precision Fastest on a CPU target, or time it at the batch size you deploy with (-BatchSize).", StringComparison.Ordinal));
        else Assert.DoesNotContain(result.Warnings, w => w.Contains("not faster"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_latency_check_a_busy_moment_disturbed_is_timed_again_and_says_so_if_still_disturbed(int disturbedCalls)
    {
        // Disturbed, the FakeTimer's medians are 4 x 1 ms for FP32 and 2 x 3 ms for the output (median runs 4x their fastest).
        using var tmp = new TempFolder();
        Save(tmp.File("m.onnx"));
        var timer = new FakeTimer { WholeModelMs = new[] { 1.0, 3.0 }, DisturbedWholeModelCalls = disturbedCalls };
        var result = DefaultQuantization.Run(tmp.File("m.onnx"), Data(), new DefaultQuantizationOptions
        {
            Threads = 1, Precision = PrecisionMode.AllInt8, Measurement = TestMeasurement.With(timer, tmp.File("costs.json")),
        }, tmp.File("q.onnx"));
        Assert.Equal(2, timer.WholeModelCalls);
        string warning = result.Warnings.Single(w => w.StartsWith("The quantized model is not faster", StringComparison.Ordinal));
        if (disturbedCalls == 1)
        {
            Assert.Equal((1.0, 3.0), (result.Fp32LatencyMs!.Value, result.LatencyMs!.Value));
            Assert.DoesNotContain("busy", warning);
        }
        else
        {
            Assert.Equal((4.0, 6.0), (result.Fp32LatencyMs!.Value, result.LatencyMs!.Value));
            Assert.StartsWith("The quantized model is not faster than the FP32 model on this CPU as timed while the machine was busy (median runs 4.0x their fastest, twice): p50 6.000 ms", warning);
            Assert.EndsWith("Time both again on a quieter machine (Compare-PotModel) before deciding.", warning);
        }
    }

    [Fact]
    public void The_speed_up_shown_is_that_of_the_medians_shown()
    {
        // Medians of an even count of runs have more decimals than the four shown: 0.028362 / 0.032471 = 0.873457, but
        // the figures read 0.0284 and 0.0325, whose ratio is 0.873846.
        var check = new PotPowerShell.Core.Runtime.LatencyCheckResult(new(0.028362, 0.03, 0.028, 12), new(0.032471, 0.034, 0.032, 12), 1);
        var f = check.Figures;
        Assert.Equal((0.0284, 0.0325, 0.874), (f.Fp32Ms, f.Ms, f.Speedup));
    }

    [Fact]
    public void A_slower_output_warns_with_advice_for_its_precision_and_not_at_all_without_int8_layers()
    {
        var check = new PotPowerShell.Core.Runtime.LatencyCheckResult(new(1, 1, 1, 5), new(2, 2, 2, 5), 1);
        Assert.EndsWith("Its INT8 layers were timed faster one by one, but not the whole model now (timings on a busy machine vary): time it at the batch size you deploy with (-BatchSize), or deploy the FP32 model where speed matters most.",
            check.WarningFor(int8Layers: 3, fastest: true));
        Assert.Null(check.WarningFor(int8Layers: 0, fastest: true));
        Assert.Null(new PotPowerShell.Core.Runtime.LatencyCheckResult(new(2, 2, 2, 5), new(1, 1, 1, 5), 1).WarningFor(3, fastest: false));
    }

    [Fact]
    public void The_batch_size_is_the_one_layers_are_timed_at_and_the_check_can_be_skipped()
    {
        using var tmp = new TempFolder();
        Save(tmp.File("m.onnx"));
        var timer = new FakeTimer();
        var result = DefaultQuantization.Run(tmp.File("m.onnx"), Data(), new DefaultQuantizationOptions
        {
            Threads = 1, BatchSize = 16, SkipLatencyCheck = true, Measurement = TestMeasurement.With(timer, tmp.File("costs.json")),
        }, tmp.File("q.onnx"));
        Assert.Contains(timer.Timed, n => n.StartsWith("float|Conv|x=16x3x8x8|", StringComparison.Ordinal));
        Assert.Equal(16, result.BatchSize);
        Assert.Null(result.Speedup);
        Assert.Null(result.Fp32LatencyMs);
    }

    [Fact]
    public void A_model_whose_layers_all_stay_float_still_calibrates_and_saves()
    {
        using var tmp = new TempFolder();
        Save(tmp.File("m.onnx"));
        var result = DefaultQuantization.Run(tmp.File("m.onnx"), Data(), new DefaultQuantizationOptions
        {
            IgnoredNodes = new[] { "next" }, Threads = 1, Measurement = TestMeasurement.With(StemSlow(), tmp.File("costs.json")),
        }, tmp.File("q.onnx"));
        Assert.Equal(0, result.QuantizedLayerCount);
        Assert.Contains(result.Warnings, w => w.StartsWith("No layer makes this model faster as INT8", StringComparison.Ordinal));
        Assert.True(File.Exists(tmp.File("q.onnx")));
    }

    /// <summary>x[batch, 4, 8] -> MatMul "proj" (weight 8x8) -> y; MatMul "attn" (y, y transposed): a product of two activations.</summary>
    private static void SaveWithProduct(string path)
    {
        var random = new Random(7);
        var g = new GraphBuilder("product");
        var x = g.Input("x", "batch", 4L, 8L);
        var y = g.Node("MatMul", new[] { x, g.Initializer("w", Enumerable.Range(0, 64).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray(), 8, 8) }, "proj");
        var yt = g.Node("Transpose", new[] { y }, "t", ("perm", new[] { 0L, 2L, 1L }));
        g.Output(g.Node("MatMul", new[] { y, yt }, "attn"));
        OnnxModelFile.Save(ModelPreparation.Prepare(g.Build()), path);
    }

    /// <summary>DefaultQuantization of <see cref="SaveWithProduct"/>'s model on 8 random items, timed by <paramref name="timer"/>.</summary>
    private static PotPowerShell.Core.Results.QuantizationResult QuantizeWithProduct(FakeTimer timer)
    {
        using var tmp = new TempFolder();
        SaveWithProduct(tmp.File("m.onnx"));
        var random = new Random(3);
        var values = Enumerable.Range(0, 8 * 4 * 8).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var data = new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = new(TensorElementKind.Float, new long[] { 8, 4, 8 }, values) }, null);
        return DefaultQuantization.Run(tmp.File("m.onnx"), data, new DefaultQuantizationOptions
        {
            Threads = 1, SkipLatencyCheck = true, Measurement = TestMeasurement.With(timer, tmp.File("costs.json")),
        }, tmp.File("q.onnx"));
    }

    [Theory]
    // Both slow in INT8: all float (2 ms) beats the estimate (proj float, attn INT8: 4 ms), so attn is float too.
    [InlineData("proj,attn", "Float", "No layer makes this model faster as INT8 on this CPU, so every layer stays float")]
    // Only proj slow: the estimate (1.3 ms) beats all float (2 ms); attn stays INT8 and the warning says so.
    [InlineData("proj", "INT8", "No layer with weights makes this model faster as INT8 on this CPU, so they stay float and the output is not smaller; only its 1 MatMul(s) of two activations are INT8")]
    public void A_product_of_two_activations_is_float_when_the_all_float_model_is_fastest(string slow, string attnPrecision, string warning)
    {
        var result = QuantizeWithProduct(new FakeTimer { SlowInInt8 = slow.Split(',').ToHashSet() });
        Assert.Equal("Float", result.Layers.Single(l => l.Node == "proj").Precision);
        var attn = result.Layers.Single(l => l.Node == "attn");
        Assert.Equal(attnPrecision, attn.Precision);
        Assert.Contains(result.Warnings, w => w.StartsWith(warning, StringComparison.Ordinal));
        var chosen = result.PrecisionCandidates.Single(c => c.Chosen);
        if (attnPrecision == "Float")
        {
            Assert.Equal(("all float", 0, 2.0), (chosen.Name, chosen.Int8Layers, chosen.Ms));
            Assert.Equal("faster in float: the whole model ran in 2.000 ms with it float (0 INT8 layers) vs 4.000 ms with it INT8 (1) on this CPU (batch 1)", attn.Reason);
            Assert.Equal(0, result.QuantizedLayerCount);
        }
        else
        {
            // The estimate counts the product among its INT8 layers.
            Assert.Equal(("estimate", 1, 1.3), (chosen.Name, chosen.Int8Layers, Math.Round(chosen.Ms, 6)));
            Assert.Equal(1, result.QuantizedLayerCount);
        }
    }

    [Theory]
    // Whole models by position: the estimate (proj float, attn INT8), all INT8, all float.
    [InlineData(1.00, 1.02, "all float")]   // as fast within 3 %: the more accurate, wholly float model is kept
    [InlineData(1.00, 1.04, "estimate")]    // 4 % slower is slower
    public void A_candidate_with_fewer_int8_layers_is_kept_when_it_is_as_fast(double estimateMs, double allFloatMs, string expected)
    {
        var result = QuantizeWithProduct(new FakeTimer { SlowInInt8 = new HashSet<string> { "proj" }, WholeModelMs = new[] { estimateMs, 1.5, allFloatMs } });
        Assert.Equal(new[] { "estimate", "all INT8", "all float" }, result.PrecisionCandidates.Select(c => c.Name));
        Assert.Equal(expected, result.PrecisionCandidates.Single(c => c.Chosen).Name);
        var attn = result.Layers.Single(l => l.Node == "attn");
        if (expected == "all float")
        {
            Assert.Equal("Float", attn.Precision);
            Assert.Equal("as fast in float and more accurate: the whole model ran in 1.020 ms with it float (0 INT8 layers) vs 1.000 ms with it INT8 (1) on this CPU (batch 1), within 3% counted as equal", attn.Reason);
            Assert.Contains(result.Warnings, w => w.StartsWith("No layer makes this model more than 3% faster as INT8 on this CPU, so every layer stays float", StringComparison.Ordinal)
                && w.EndsWith("(smaller, no faster here and less accurate).", StringComparison.Ordinal));
        }
        else
        {
            Assert.Equal("INT8", attn.Precision);
            Assert.Equal(1, result.QuantizedLayerCount);
        }
    }

    [Fact]
    public void A_model_whose_weights_are_external_data_is_timed_against_its_output_by_onnx_runtime()
    {
        using var tmp = new TempFolder();
        Save(tmp.File("inline.onnx"));
        // The same model with every initializer in m.onnx.data, as large exports are written.
        var model = OnnxModelFile.Load(tmp.File("inline.onnx"));
        using (var data = File.Create(tmp.File("m.onnx.data")))
            foreach (var t in model.Graph.Initializer)
            {
                t.ExternalData.Add(new global::Onnx.StringStringEntryProto { Key = "location", Value = "m.onnx.data" });
                t.ExternalData.Add(new global::Onnx.StringStringEntryProto { Key = "offset", Value = data.Position.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                t.ExternalData.Add(new global::Onnx.StringStringEntryProto { Key = "length", Value = t.RawData.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                t.RawData.WriteTo(data);
                t.RawData = Google.Protobuf.ByteString.Empty;
                t.DataLocation = global::Onnx.TensorProto.Types.DataLocation.External;
            }
        File.WriteAllBytes(tmp.File("m.onnx"), Google.Protobuf.MessageExtensions.ToByteArray(model));

        // Real sessions (no assertion on time): ONNX Runtime resolves no external data in a model given as bytes.
        var measurement = TestMeasurement.With(OrtModelTimer.Instance, tmp.File("costs.json")) with
        {
            LayerBudget = TimeSpan.FromMilliseconds(5), ModelBudget = TimeSpan.FromMilliseconds(20), CheckBudget = TimeSpan.FromMilliseconds(20),
        };
        var result = DefaultQuantization.Run(tmp.File("m.onnx"), Data(), new DefaultQuantizationOptions { Threads = 1, Measurement = measurement }, tmp.File("q.onnx"));
        Assert.NotNull(result.Speedup);
        Assert.True(result.LatencyRuns >= OrtModelTimer.MinRounds);
    }
}
