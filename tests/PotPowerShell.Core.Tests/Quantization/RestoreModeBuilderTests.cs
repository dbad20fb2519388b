using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>
/// restore_mode through the builder AccuracyAwareQuantization reverts layers with: a reverted MatMul / Gemm may take the
/// dynamic form only where the layer timings say it is faster than float (fake timings: no timing in tests), and does
/// when the search asks for it (its dynamic pass).
/// </summary>
public class RestoreModeBuilderTests
{
    /// <summary>x[batch, 16] -> MatMul "fc1" -> Relu -> Gemm "fc2" (transB) -> MatMul "fc3".</summary>
    private static void Save(string path)
    {
        var random = new Random(5);
        float[] W(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var g = new GraphBuilder("mlp");
        var x = g.Input("x", "batch", 16L);
        var fc1 = g.Node("Relu", new[] { g.Node("MatMul", new[] { x, g.Initializer("w1", W(256), 16, 16) }, "fc1") }, "relu");
        var fc2 = g.Node("Gemm", new[] { fc1, g.Initializer("w2", W(256), 16, 16), g.Initializer("b2", W(16), 16) }, "fc2", ("transB", 1L));
        g.Output(g.Node("MatMul", new[] { fc2, g.Initializer("w3", W(128), 16, 8) }, "fc3"));
        OnnxModelFile.Save(ModelPreparation.Prepare(g.Build()), path);
    }

    private static QuantizedModelBuilder Builder(TempFolder tmp, FakeTimer timer)
    {
        Save(tmp.File("m.onnx"));
        var data = new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = SyntheticModels.NormalData(8, new long[] { 16 }, 3) }, null);
        return QuantizedModelBuilder.Create(tmp.File("m.onnx"), data, new DefaultQuantizationOptions
        {
            Precision = PrecisionMode.AllInt8, Threads = 1, Measurement = TestMeasurement.With(timer, tmp.File("costs.json")),
        });
    }

    [Fact]
    public void A_reverted_layer_may_keep_int8_weights_only_where_its_dynamic_form_is_faster()
    {
        using var tmp = new TempFolder();
        var builder = Builder(tmp, new FakeTimer { SlowInDynamic = new HashSet<string> { "fc2" } }).WithRestoreMode(RestoreMode.OnlyActivations);
        Assert.Equal(RestoreMode.OnlyActivations, builder.RestoreMode);
        Assert.Equal(new[] { "fc1", "fc3" }, builder.DynamicFallback.Layers.OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal(new[] { "fc1", "fc3" }, builder.DynamicCapable.OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal(new DynamicTiming(FakeTimer.SlowDynamicMs, FakeTimer.FloatMs), builder.DynamicFallback.Timings["fc2"]);

        var reverted = new HashSet<string> { "fc1", "fc2" };
        var emission = builder.Emit(reverted, new HashSet<string> { "fc1" });
        var rows = emission.Layers.ToDictionary(l => l.Node);
        Assert.Equal(("Dynamic", LayerReason.RevertedDynamic), (rows["fc1"].Precision, rows["fc1"].Code));
        Assert.Equal(("Float", LayerReason.Reverted), (rows["fc2"].Precision, rows["fc2"].Code));
        Assert.Equal("reverted to float: its dynamic form (INT8 weights) took 2.000 ms vs float 1.000 ms on this CPU (batch 1)", rows["fc2"].Reason);
        Assert.Equal("INT8", rows["fc3"].Precision);
        // The dynamic layer is a kernel of its own in ORT, the reverted Gemm a float layer.
        var report = FusionReport.Analyze(emission.Model.ToByteArray());
        Assert.Equal(1, report.DynamicKernelCount);
        Assert.Equal(1, report.FloatLayerCount);

        // Not asked for, a faster dynamic form is not taken, and the reason says why.
        var plain = builder.Emit(reverted).Layers.Single(l => l.Node == "fc1");
        Assert.Equal(("Float", "reverted to float (its faster dynamic form, INT8 weights with activations quantized at run time, missed the target)"), (plain.Precision, plain.Reason));
        // A slower dynamic form, or a layer that is not reverted, cannot be asked for.
        Assert.Throws<ArgumentException>(() => builder.Build(reverted, new HashSet<string> { "fc2" }));
        Assert.Throws<ArgumentException>(() => builder.Build(reverted, new HashSet<string> { "fc3" }));
    }

    [Fact]
    public void Restore_mode_changes_reverted_layers_only_and_the_default_reverts_to_float()
    {
        using var tmp = new TempFolder();
        var plain = Builder(tmp, new FakeTimer());
        var dynamic = plain.WithRestoreMode(RestoreMode.OnlyActivations);
        Assert.Same(plain, plain.WithRestoreMode(RestoreMode.ActivationsAndWeights));
        var none = new HashSet<string>();
        Assert.Equal(plain.Build(none).ToByteArray(), dynamic.Build(none).ToByteArray());
        var reverted = new HashSet<string> { "fc1" };
        Assert.Equal("Float", plain.Emit(reverted).Layers.Single(l => l.Node == "fc1").Precision);
        Assert.Equal("Dynamic", dynamic.Emit(reverted, reverted).Layers.Single(l => l.Node == "fc1").Precision);
        Assert.Empty(plain.DynamicCapable);
        // A float revert is the same model in either mode.
        Assert.Equal(plain.Build(reverted).ToByteArray(), dynamic.Build(reverted).ToByteArray());
        // Back to activations_and_weights: nothing may run dynamic.
        Assert.Throws<ArgumentException>(() => dynamic.WithRestoreMode(RestoreMode.ActivationsAndWeights).Build(reverted, reverted));
        // Same cache, same choice, same bytes.
        Assert.Equal(dynamic.Build(reverted, reverted).ToByteArray(), plain.WithRestoreMode(RestoreMode.OnlyActivations).Build(reverted, reverted).ToByteArray());
    }

    [Fact]
    public void Other_target_devices_revert_to_float()
    {
        using var tmp = new TempFolder();
        Save(tmp.File("m.onnx"));
        var data = new NpyDataset("memory", new Dictionary<string, TensorData> { ["x"] = SyntheticModels.NormalData(8, new long[] { 16 }, 3) }, null);
        var builder = QuantizedModelBuilder.Create(tmp.File("m.onnx"), data, new DefaultQuantizationOptions
        {
            TargetDevice = TargetDevice.Gpu, Threads = 1, Measurement = TestMeasurement.With(new FakeTimer(), tmp.File("costs.json")),
        }).WithRestoreMode(RestoreMode.OnlyActivations);
        Assert.Empty(builder.DynamicFallback.Layers);
        Assert.Empty(builder.DynamicCapable);
    }
}
