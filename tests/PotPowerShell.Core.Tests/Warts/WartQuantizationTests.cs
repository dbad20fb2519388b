using PotPowerShell.Core.Tests.Quantization;
using System.IO.Compression;
using Onnx;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using Xunit.Abstractions;

namespace PotPowerShell.Core.Tests.Warts;

/// <summary>
/// Models with real-world warts go through DefaultQuantization end to end: every weighted layer must become an INT8
/// kernel in ONNX Runtime and the INT8 model's outputs must stay close to the FP32 model's. Calibration uses the min/max
/// estimator and the test items lie inside the calibrated ranges (they are calibration items, or smaller values for
/// other shapes), so the error is rounding only, not clipping by an estimator: a few percent of each output's range.
/// </summary>
public class WartQuantizationTests(ITestOutputHelper output)
{
    private const double Tolerance = 0.05;

    // Every weighted layer, the 3-channel stems of these image models included, must become an INT8 kernel.
    private static readonly DefaultQuantizationOptions Options = new()
    {
        Measurement = TestMeasurement.Int8Faster,
        Threads = 1,
                StatBatchSize = 8,
        ActivationRange = new RangeEstimatorOptions { Kind = RangeEstimatorKind.MinMax },
    };

    private QuantizationResult Quantize(TempFolder tmp, ModelProto model, IDataset data, DefaultQuantizationOptions? options = null)
    {
        OnnxModelFile.Save(model, tmp.File("fp32.onnx"));
        var result = DefaultQuantization.Run(tmp.File("fp32.onnx"), data, options ?? Options, tmp.File("int8.onnx"));
        output.WriteLine($"layers {result.LayerCount}, int8 {result.QuantizedLayerCount}, fused {result.FusedLayerCount}: {string.Join(", ", result.FusedKernels)}");
        return result;
    }

    /// <summary>The INT8 model against the FP32 model on <paramref name="inputs"/>: largest error relative to each output's range.</summary>
    private double Error(TempFolder tmp, IReadOnlyDictionary<string, TensorData> inputs)
    {
        var fp32 = WartRunner.Run(tmp.File("fp32.onnx"), inputs);
        var int8 = WartRunner.Run(tmp.File("int8.onnx"), inputs);
        foreach (var values in int8.Values) Assert.All(values, v => Assert.True(float.IsFinite(v)));
        double error = WartRunner.RelativeError(fp32, int8, out var worst);
        output.WriteLine($"relative error {error:F4} (output '{worst}')");
        return error;
    }

    private static void AllLayersFused(QuantizationResult result, int layers)
    {
        Assert.Equal(layers, result.LayerCount);
        Assert.Equal(layers, result.QuantizedLayerCount);
        Assert.Equal(layers, result.FusedLayerCount);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(10)]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void Old_opsets_are_upgraded_checked_and_fully_quantized(long opset)
    {
        using var tmp = new TempFolder();
        var data = WartModels.Data(("x", WartModels.Floats(10, 48, new long[] { 3, 8, 8 })));
        var result = Quantize(tmp, WartModels.OldOpsetImage(opset), data);
        Assert.Equal(opset, result.SourceOpset);
        Assert.Equal(13, result.Opset);
        AllLayersFused(result, 4);
        var test = data.Get(0).Inputs["x"];
        Assert.True(Error(tmp, new Dictionary<string, TensorData> { ["x"] = test }) < Tolerance);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(10)]
    [InlineData(12)]
    [InlineData(13)]
    public void Weights_in_constant_nodes_are_quantized_per_channel_like_initializers(long opset)
    {
        using var tmp = new TempFolder();
        var data = WartModels.Data(("x", WartModels.Floats(10, 48, new long[] { 3, 8, 8 })));
        var result = Quantize(tmp, WartModels.OldOpsetImage(opset, constantWeights: true), data);
        AllLayersFused(result, 4);
        var conv = result.Layers.Single(l => l.Node == "conv1");
        Assert.Equal(8, conv.WeightScaleCount);
        var test = data.Get(0).Inputs["x"];
        Assert.True(Error(tmp, new Dictionary<string, TensorData> { ["x"] = test }) < Tolerance);
    }

    [Fact]
    public void Dynamic_height_and_width_stay_dynamic_after_quantization()
    {
        using var tmp = new TempFolder();
        var data = WartModels.Data(("x", WartModels.Floats(20, 32, new long[] { 3, 10, 12 })));
        var result = Quantize(tmp, WartModels.DynamicImage("batch", "height", "width"), data);
        AllLayersFused(result, 3);
        Assert.True(result.StatBatchSize >= 8, $"stat batch size {result.StatBatchSize} is a floor");
        // Another batch size and another image size than calibration used.
        var test = WartModels.Floats(21, 3, new long[] { 3, 7, 9 }, scale: 0.7f);
        Assert.True(Error(tmp, new Dictionary<string, TensorData> { ["x"] = test }) < Tolerance);
    }

    [Fact]
    public void A_dynamic_sequence_length_is_calibrated_and_runs_at_other_lengths()
    {
        using var tmp = new TempFolder();
        var data = WartModels.Data(("x", WartModels.Floats(30, 32, new long[] { 12, 16 })));
        var result = Quantize(tmp, WartModels.Sequence(), data);
        AllLayersFused(result, 2);
        var test = WartModels.Floats(31, 2, new long[] { 5, 16 }, scale: 0.7f);
        Assert.True(Error(tmp, new Dictionary<string, TensorData> { ["x"] = test }) < Tolerance);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_static_batch_1_model_is_calibrated_item_by_item(bool fastBiasCorrection)
    {
        using var tmp = new TempFolder();
        var data = WartModels.Data(("x", WartModels.Floats(40, 24, new long[] { 3, 8, 8 })));
        var result = Quantize(tmp, WartModels.DynamicImage(1, 8, 8), data, Options with { UseFastBiasCorrection = fastBiasCorrection });
        AllLayersFused(result, 3);
        Assert.Equal(1, result.StatBatchSize);
        Assert.Equal(24, result.StatSubsetSize);
        var test = data.Get(5).Inputs["x"];
        Assert.True(Error(tmp, new Dictionary<string, TensorData> { ["x"] = test }) < Tolerance);
    }

    [Fact]
    public void Inputs_of_different_types_are_fed_by_name_from_an_npz()
    {
        using var tmp = new TempFolder();
        var rng = new Random(50);
        long[] indices = Enumerable.Range(0, 32).Select(_ => (long)rng.Next(10)).ToArray();
        float[] mask = Enumerable.Range(0, 32 * 8).Select(_ => rng.Next(4) == 0 ? 0f : 1f).ToArray();
        WriteNpz(tmp.File("calib.npz"),
            ("image", WartModels.Floats(51, 32, new long[] { 3, 8, 8 })),
            ("index", new TensorData(TensorElementKind.Int64, new long[] { 32 }, indices)),
            ("mask", TensorData.FromFloats(mask, 32, 8)));
        using var data = NpyDataset.Open(tmp.File("calib.npz"));
        var result = Quantize(tmp, WartModels.MultiInput(), data);
        AllLayersFused(result, 2);
        Assert.True(Error(tmp, data.Get(3).Inputs) < Tolerance);
    }

    [Fact]
    public void Whole_number_floats_feed_an_int64_input_as_its_integers_do()
    {
        // Calibration, the preparation checks and the latency check (ModelInputBinder) convert as evaluation does
        // (InputBinding.Converted): the same indices saved as floats give the same model bytes.
        var rng = new Random(52);
        long[] indices = Enumerable.Range(0, 16).Select(_ => (long)rng.Next(10)).ToArray();
        byte[] QuantizedWith(TensorData index)
        {
            using var tmp = new TempFolder();
            Quantize(tmp, WartModels.MultiInput(), WartModels.Data(("image", WartModels.Floats(53, 16, new long[] { 3, 8, 8 })), ("index", index),
                ("mask", WartModels.Floats(54, 16, new long[] { 8 }))));
            return File.ReadAllBytes(tmp.File("int8.onnx"));
        }
        Assert.Equal(QuantizedWith(new TensorData(TensorElementKind.Int64, new long[] { 16 }, indices)),
            QuantizedWith(TensorData.FromFloats(Array.ConvertAll(indices, i => (float)i), 16)));
    }

    [Fact]
    public void An_input_missing_from_the_npz_is_named_with_the_file()
    {
        using var tmp = new TempFolder();
        WriteNpz(tmp.File("calib.npz"),
            ("image", WartModels.Floats(51, 8, new long[] { 3, 8, 8 })),
            ("index", new TensorData(TensorElementKind.Int64, new long[] { 8 }, new long[8])));
        using var data = NpyDataset.Open(tmp.File("calib.npz"));
        OnnxModelFile.Save(WartModels.MultiInput(), tmp.File("fp32.onnx"));
        var ex = Assert.Throws<PotException>(() => DefaultQuantization.Run(tmp.File("fp32.onnx"), data, Options, tmp.File("int8.onnx")));
        Assert.Equal("DataInputMissing", ex.ErrorId);
        Assert.Contains("'mask'", ex.Message);
        Assert.Contains(tmp.File("calib.npz"), ex.Message);
        Assert.False(File.Exists(tmp.File("int8.onnx")));
    }

    [Fact]
    public void The_layers_of_a_block_of_onnx_runtime_contrib_ops_are_found_and_quantized()
    {
        // Each MatMul reads the output of a com.microsoft op, whose type only the MatMul's float weight tells.
        using var tmp = new TempFolder();
        var result = Quantize(tmp, WartModels.ContribTransformerBlock(), WartModels.Data(("x", WartModels.Floats(3, 32, new long[] { 4, 16 }))));
        Assert.Equal(new[] { "out_proj", "ffn1", "ffn2" }, result.Layers.Select(l => l.Node));
        AllLayersFused(result, 3);
        Assert.True(Error(tmp, new Dictionary<string, TensorData> { ["x"] = WartModels.Floats(4, 4, new long[] { 4, 16 }) }) < Tolerance);
        // The Attention's packed QKV weights stay float, and the result says so.
        Assert.Contains(result.Warnings, w => w.EndsWith("has 1 layer(s) with weights in ONNX Runtime's own fused ops (Attention of com.microsoft; the first is 'attention'). They stay float: DefaultQuantization quantizes the standard Conv, ConvTranspose, MatMul and Gemm. Quantize the model as exported, before ONNX Runtime's optimizations (optimized_model_filepath, the transformer optimizer) fused its layers.", StringComparison.Ordinal));
    }

    [Fact]
    public void A_matmul_with_its_weight_first_stays_float_and_its_record_says_why()
    {
        // w [32, 16] @ x [batch, 16, 8] (as torch.matmul(self.w, x) exports), then x @ w2 [8, 4].
        using var tmp = new TempFolder();
        var rng = new Random(2);
        var g = new GraphBuilder("weight_first");
        var x = g.Input("x", "batch", 16L, 8L);
        var left = g.Node("MatMul", new[] { g.Initializer("w", WartModels.Random(rng, 512), 32, 16), x }, "left");
        var right = g.Node("MatMul", new[] { left, g.Initializer("w2", WartModels.Random(rng, 32), 8, 4) }, "right");
        g.Output(right, TensorProto.Types.DataType.Float, "batch", 32, 4);
        var result = Quantize(tmp, g.Build(), WartModels.Data(("x", WartModels.Floats(6, 16, new long[] { 16, 8 }))));
        var layer = result.Layers.Single(l => l.Node == "left");
        Assert.Equal("Float", layer.Precision);
        Assert.Equal("not quantizable: its constant is the first input (weight @ x); only x @ weight, the activation first, is quantized", layer.Reason);
        Assert.Equal("INT8", result.Layers.Single(l => l.Node == "right").Precision);
    }

    [Fact]
    public void A_model_whose_only_layer_has_its_weight_first_is_refused_with_an_error_that_says_so()
    {
        // It said that the layer read 'x', which the model computes from its inputs, as if x were its weight.
        using var tmp = new TempFolder();
        var g = new GraphBuilder("weight_first_only");
        var x = g.Input("x", "batch", 16L, 8L);
        g.Output(g.Node("MatMul", new[] { g.Initializer("w", WartModels.Random(new Random(2), 512), 32, 16), x }, "left"), TensorProto.Types.DataType.Float, "batch", 32, 8);
        var e = Assert.Throws<PotException>(() => Quantize(tmp, g.Build(), WartModels.Data(("x", WartModels.Floats(6, 16, new long[] { 16, 8 })))));
        Assert.Equal("NothingToQuantize", e.ErrorId);
        Assert.EndsWith("has 1 layer(s) (Conv, ConvTranspose, MatMul, Gemm), but none can be quantized, so there is nothing to quantize: 'left' reads its stored weight 'w' " +
            "as its first input (weight @ x), and DefaultQuantization quantizes x @ weight, the activation first, only.", e.Message);
    }

    [Fact]
    public void A_model_of_onnx_runtime_fused_convolutions_only_is_refused_with_what_to_do()
    {
        // As ONNX Runtime saves a Conv + Relu it fused: com.microsoft FusedConv.
        using var tmp = new TempFolder();
        var g = new GraphBuilder("fused");
        var x = g.Input("x", "batch", 3L, 8L, 8L);
        var conv = new NodeProto { OpType = "FusedConv", Name = "conv_relu", Domain = "com.microsoft" };
        conv.Input.AddRange(new[] { x, g.Initializer("w", WartModels.Random(new Random(1), 108), 4, 3, 3, 3), g.Initializer("b", new float[4], 4) });
        conv.Output.Add("y");
        conv.Attribute.Add(GraphBuilder.Attribute("activation", "Relu"));
        conv.Attribute.Add(GraphBuilder.Attribute("pads", new long[] { 1, 1, 1, 1 }));
        g.Graph.Node.Add(conv);
        g.Output("y", TensorProto.Types.DataType.Float, "batch", 4, 8, 8);
        var model = g.Build();
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = 1 });
        var ex = Assert.Throws<PotException>(() => Quantize(tmp, model, WartModels.Data(("x", WartModels.Floats(5, 8, new long[] { 3, 8, 8 })))));
        Assert.Equal("NothingToQuantize", ex.ErrorId);
        Assert.EndsWith("has no Conv, ConvTranspose, MatMul or Gemm layer that DefaultQuantization quantizes, but 1 layer(s) with weights in ONNX Runtime's own fused ops (FusedConv of com.microsoft; the first is 'conv_relu'). Quantize the model as exported, before ONNX Runtime's optimizations (optimized_model_filepath, the transformer optimizer) fused its layers.", ex.Message);
    }

    [Fact]
    public void A_layer_inside_an_if_branch_is_counted_apart_by_the_model_summary()
    {
        // "outer" in the main graph, "inner" in the If's then-branch.
        var summary = PotModelInspector.Describe(WartModels.LayerInIf(), "if.onnx");
        Assert.Equal(1, summary.QuantizableLayerCount);
        Assert.Equal(1, summary.SubgraphLayerCount);
    }

    [Fact]
    public void A_layer_inside_an_if_branch_stays_float_with_a_warning_that_names_it()
    {
        using var tmp = new TempFolder();
        var result = Quantize(tmp, WartModels.LayerInIf(), WartModels.Data(("x", WartModels.Floats(1, 16, new long[] { 8 }))));
        Assert.Equal(new[] { "outer" }, result.Layers.Select(l => l.Node));
        Assert.Equal(1, result.QuantizedLayerCount);
        Assert.Contains(result.Warnings, w => w.EndsWith("has 1 Conv, ConvTranspose, MatMul or Gemm layer(s) inside control-flow subgraphs (If, Loop, Scan; the first is 'inner' in 'choice'). They stay float: DefaultQuantization quantizes the main graph.", StringComparison.Ordinal));
        Assert.True(Error(tmp, new Dictionary<string, TensorData> { ["x"] = WartModels.Floats(1, 4, new long[] { 8 }) }) < Tolerance);
    }

    [Fact]
    public void A_model_whose_only_layers_are_inside_an_if_branch_is_refused_with_an_error_that_names_them()
    {
        // It said the model had no layer to quantize at all.
        using var tmp = new TempFolder();
        var e = Assert.Throws<PotException>(() => Quantize(tmp, WartModels.LayerInIf(outerLayer: false), WartModels.Data(("x", WartModels.Floats(1, 16, new long[] { 8 })))));
        Assert.Equal("NothingToQuantize", e.ErrorId);
        Assert.Contains("has no Conv, ConvTranspose, MatMul or Gemm layer in its main graph", e.Message);
        Assert.Contains("but 1 Conv, ConvTranspose, MatMul or Gemm layer(s) inside control-flow subgraphs (If, Loop, Scan; the first is 'inner' in 'choice'). Export the model without control flow", e.Message);
    }

    [Fact]
    public void Zero_and_near_zero_weight_channels_get_finite_scales_and_no_nan()
    {
        using var tmp = new TempFolder();
        var data = WartModels.Data(("x", WartModels.Floats(60, 32, new long[] { 4, 6, 6 })));
        var result = Quantize(tmp, WartModels.ZeroChannels(), data);
        Assert.Equal(3, result.LayerCount);
        Assert.Equal(3, result.QuantizedLayerCount);
        Assert.All(result.Layers, l =>
        {
            Assert.True(l.WeightScaleMin is > 0 && float.IsFinite(l.WeightScaleMin.Value), $"{l.Node}: {l.WeightScaleMin}");
            Assert.True(l.WeightScaleMax is > 0 && float.IsFinite(l.WeightScaleMax.Value), $"{l.Node}: {l.WeightScaleMax}");
            Assert.True(l.InputScale is > 0 && float.IsFinite(l.InputScale.Value), $"{l.Node}: {l.InputScale}");
        });
        var test = new Dictionary<string, TensorData> { ["x"] = data.Get(2).Inputs["x"] };
        Assert.True(Error(tmp, test) < Tolerance);
        Assert.All(WartRunner.Run(tmp.File("int8.onnx"), test)["zeros"], v => Assert.Equal(0f, v));
    }

    internal static void WriteNpz(string path, params (string Name, TensorData Data)[] arrays)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (name, data) in arrays)
        {
            string npy = Path.Combine(Path.GetDirectoryName(path)!, name + ".npy.tmp");
            NpyWriter.Write(npy, data);
            zip.CreateEntryFromFile(npy, name + ".npy");
            File.Delete(npy);
        }
    }
}
