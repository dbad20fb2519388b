using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Tests.Onnx;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>Determinism, bias handling, degenerate weights, graph outputs, old opsets and the public lists.</summary>
public class QdqEmitterBehaviourTests
{
    private static TensorProto Init(ModelProto m, string name) => m.Graph.Initializer.Single(t => t.Name == name);

    private static float[] Floats(ModelProto m, string name) => TensorProtos.ToFloats(Init(m, name));

    private static int[] Int32s(ModelProto m, string name) =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(Init(m, name).RawData.Span).ToArray();

    [Fact]
    public void Emit_is_deterministic_and_pure()
    {
        var h = QdqEmitterFusionTests.Get("convnet");
        var plan = h.Plan(QuantizationTypes.U8S7, floatLayers: new HashSet<string> { "branch_a" }, calibrateWith: new HashSet<string>());
        var before = h.Prepared.ToByteArray();
        var first = QdqEmitter.Emit(h.Prepared, plan).ToByteArray();
        var second = QdqEmitter.Emit(ModelProto.Parser.ParseFrom(before), plan with { Ranges = plan.Ranges.Reverse().ToDictionary(kv => kv.Key, kv => kv.Value) }).ToByteArray();
        Assert.Equal(first, second);
        Assert.Equal(before, h.Prepared.ToByteArray());
    }

    [Fact]
    public void Tensors_to_calibrate_include_the_graph_input_and_skip_shared_data_movement_outputs()
    {
        var h = QdqEmitterFusionTests.Get("convnet");
        var tensors = QdqEmitter.TensorsToCalibrate(h.Prepared, new HashSet<string>());
        Assert.Equal("x", tensors[0]);
        Assert.Contains("stem_relu_out", tensors);
        Assert.DoesNotContain("stem_out", tensors);      // absorbed into the Relu after it
        Assert.DoesNotContain("pool_out", tensors);      // MaxPool shares the stem's quantizer
        Assert.DoesNotContain("flatten_out", tensors);   // Flatten shares the pool's quantizer
        Assert.DoesNotContain("fc_out", tensors);        // the last Gemm writes float (QGemm without Q)
        Assert.Equal(tensors.Count, tensors.Distinct().Count());

        var layers = QdqEmitter.Layers(h.Prepared, new HashSet<string> { "fc" });
        Assert.Equal(new[] { "stem", "block_conv1", "block_conv2", "branch_a", "branch_b" }, layers.Select(l => l.Node));
        Assert.Equal(new QuantizableLayer("stem", "Conv", "x", "stem_out"), layers[0]);

        var attention = QdqEmitter.Layers(QdqEmitterFusionTests.Get("attention").Prepared, new HashSet<string>());
        var q = attention.Single(l => l.Node == "q_proj");
        Assert.Equal("q_proj_add", q.BiasNode);
        Assert.Equal("q_proj_add_out", q.Output);
        Assert.Null(attention.Single(l => l.Node == "scores").BiasNode);
    }

    [Fact]
    public void Symmetric_activations_use_the_middle_zero_point_except_after_relu()
    {
        var h = QdqEmitterFusionTests.Get("convnet");
        var qdq = QdqEmitter.Emit(h.Prepared, h.Plan(QuantizationTypes.U8S8, symmetricActivations: true));
        Assert.Equal(128, Init(qdq, "x_zero_point").RawData[0]);
        Assert.Equal(128, Init(qdq, "block_conv2_out_zero_point").RawData[0]);
        Assert.Equal(0, Init(qdq, "stem_relu_out_zero_point").RawData[0]);
        var asym = QdqEmitter.Emit(h.Prepared, h.Plan(QuantizationTypes.U8S8));
        Assert.NotEqual(Floats(asym, "x_scale")[0], Floats(qdq, "x_scale")[0]);
    }

    [Fact]
    public void Weights_are_int8_per_channel_with_int32_bias_at_input_scale_times_weight_scale()
    {
        var h = QdqEmitterFusionTests.Get("convnet");
        var qdq = QdqEmitter.Emit(h.Prepared, h.Plan(QuantizationTypes.U8S7));
        var w = Init(qdq, "block_conv1_weight_quantized");
        Assert.Equal((int)TensorProto.Types.DataType.Int8, w.DataType);
        var codes = w.RawData.Span.ToArray().Select(b => (int)(sbyte)b).ToArray();
        Assert.InRange(codes.Min(), -63, 0);
        Assert.InRange(codes.Max(), 0, 63);
        var scales = Floats(qdq, "block_conv1_weight_scale");
        Assert.Equal(8, scales.Length);
        var floatW = TensorProtos.ToFloats(h.Prepared.Graph.Initializer.Single(t => t.Name == "block_conv1_W"));
        for (int c = 0; c < 8; c++)
            Assert.Equal(floatW.Skip(c * 72).Take(72).Max(Math.Abs) / 63.0, scales[c], 6);
        float inputScale = Floats(qdq, "stem_relu_out_scale")[0];
        var biasScales = Floats(qdq, "block_conv1_bias_scale");
        var bias = Int32s(qdq, "block_conv1_bias_quantized");
        var floatB = TensorProtos.ToFloats(h.Prepared.Graph.Initializer.Single(t => t.Name == "block_conv1_B"));
        for (int c = 0; c < 8; c++)
        {
            Assert.Equal(inputScale * scales[c], biasScales[c]);
            Assert.Equal(Math.Round(floatB[c] / (double)biasScales[c], MidpointRounding.ToEven), bias[c]);
        }
    }

    [Fact]
    public void Corrected_biases_replace_the_float_bias_before_int32_quantization()
    {
        var h = QdqEmitterFusionTests.Get("attention");
        var corrected = Enumerable.Range(0, 16).Select(i => 0.01f * i).ToArray();
        var qdq = QdqEmitter.Emit(h.Prepared, h.Plan(QuantizationTypes.U8S8,
            correctedBiases: new Dictionary<string, float[]> { ["o_proj"] = corrected }));
        var codes = Int32s(qdq, "o_proj_bias_quantized");
        var scales = Floats(qdq, "o_proj_bias_scale");
        for (int i = 0; i < 16; i++) Assert.Equal(corrected[i], codes[i] * scales[i], 5);
        Assert.Contains(qdq.Graph.Node, n => n.Name == "o_proj_add" && n.Input.Contains("o_proj_bias_dequantized"));

        var e = Assert.Throws<PotException>(() => QdqEmitter.Emit(h.Prepared, h.Plan(QuantizationTypes.U8S8,
            correctedBiases: new Dictionary<string, float[]> { ["scores"] = new float[8] })));
        Assert.Equal("BiasCorrectionUnsupported", e.ErrorId);
        var e2 = Assert.Throws<PotException>(() => QdqEmitter.Emit(h.Prepared, h.Plan(QuantizationTypes.U8S8,
            correctedBiases: new Dictionary<string, float[]> { ["o_proj"] = new float[3] })));
        Assert.Equal("BiasShapeMismatch", e2.ErrorId);
        var e3 = Assert.Throws<PotException>(() => QdqEmitter.Emit(h.Prepared, h.Plan(QuantizationTypes.U8S8,
            correctedBiases: new Dictionary<string, float[]> { ["softmax"] = new float[3] })));
        Assert.Equal("LayerNotFound", e3.ErrorId);
    }

    /// <summary>Conv with tiny weights and a huge bias in one channel, an all-zero channel and a subnormal channel.</summary>
    private static ModelProto DegenerateConv()
    {
        var b = new GraphBuilder("degenerate");
        var x = b.Input("x", 1, 2, 6, 6);
        var rng = new Random(5);
        var w = new float[4 * 2 * 9];
        for (int i = 0; i < 18; i++) w[i] = (float)(rng.NextDouble() - 0.5) * 1e-6f;      // channel 0: tiny
        for (int i = 18; i < 36; i++) w[i] = 0f;                                          // channel 1: all zero
        for (int i = 36; i < 54; i++) w[i] = 1e-40f * (i % 3 - 1);                        // channel 2: subnormal
        for (int i = 54; i < 72; i++) w[i] = (float)(rng.NextDouble() - 0.5);             // channel 3: normal
        var y = b.Node("Conv", new[] { x, b.Initializer("w", w, 4, 2, 3, 3), b.Initializer("b", new[] { 3e6f, 0.5f, -0.25f, 0.1f }, 4) },
            "conv", ("pads", new long[] { 1, 1, 1, 1 }));
        var r = b.Node("Relu", new[] { y }, "relu");
        var z = b.Node("Conv", new[] { r, b.Initializer("w2", Enumerable.Repeat(0.5f, 4).ToArray(), 1, 4, 1, 1) }, "head");
        b.Output(z);
        return b.Build();
    }

    [Theory]
    [InlineData(QuantizationTypes.U8S7)]
    [InlineData(QuantizationTypes.U8S8)]
    public void Bias_overflow_is_remedied_and_degenerate_channels_get_finite_scales(QuantizationTypes types)
    {
        var h = new QdqHarness(DegenerateConv(), r => QdqHarness.Input("x", OrtTestRunner.RandomData(r, 72, 1e-3f), 1, 2, 6, 6));
        var qdq = QdqEmitter.Emit(h.Prepared, h.Plan(types));
        var scales = Floats(qdq, "conv_weight_scale");
        Assert.All(scales, s => Assert.True(float.IsFinite(s) && s >= QuantParams.MinNormal, $"scale {s}"));
        // Channel 0: input scale x weight scale would put 3e6 far beyond int32; the weight scale was enlarged instead.
        float inputScale = Floats(qdq, "x_scale")[0];
        int qmax = types == QuantizationTypes.U8S7 ? 63 : 127;
        Assert.True(scales[0] > 1e-6f / 2 / qmax * 1.01f);
        var codes = Int32s(qdq, "conv_bias_quantized");
        var biasScales = Floats(qdq, "conv_bias_scale");
        Assert.InRange(Math.Abs((long)codes[0]), 1L << 30, int.MaxValue);
        Assert.Equal(3e6f, codes[0] * biasScales[0], 3e6f * 1e-6f);
        Assert.Equal(inputScale * scales[0], biasScales[0]);
        Assert.All(Floats(qdq, "conv_bias_scale"), s => Assert.True(float.IsFinite(s) && s > 0));

        var report = FusionReport.Analyze(qdq.ToByteArray());
        Assert.Equal(2, report.FusedKernels.GetValueOrDefault("QLinearConv"));
        var expected = OrtTestRunner.Run(h.Float, h.Test)["head_out"];
        var actual = OrtTestRunner.Run(qdq, h.Test, GraphOptimizationLevel.ORT_ENABLE_EXTENDED)["head_out"];
        Assert.All(actual, v => Assert.True(float.IsFinite(v)));
        Assert.True(OrtTestRunner.MaxAbsDiff(expected, actual) <= 0.01f * expected.Max(Math.Abs));
    }

    [Fact]
    public void A_conv_output_that_is_also_a_graph_output_keeps_its_producer_fused()
    {
        var b = new GraphBuilder("twice");
        var x = b.Input("x", 1, 3, 8, 8);
        var rng = new Random(3);
        var c1 = b.Node("Conv", new[] { x, b.Initializer("w1", QdqTestModels.Weights(rng, 4 * 27, 0.5f), 4, 3, 3, 3) }, "c1", ("pads", new long[] { 1, 1, 1, 1 }));
        var c2 = b.Node("Conv", new[] { c1, b.Initializer("w2", QdqTestModels.Weights(rng, 2 * 4, 0.5f), 2, 4, 1, 1) }, "c2");
        b.Output(c1);
        b.Output(c2);
        var h = new QdqHarness(b.Build(), r => QdqHarness.Input("x", OrtTestRunner.RandomData(r, 192), 1, 3, 8, 8));
        var qdq = QdqEmitter.Emit(h.Prepared, h.Plan(QuantizationTypes.U8S8));
        Assert.Equal(new[] { "c1_out", "c2_out" }, qdq.Graph.Output.Select(o => o.Name));
        Assert.Equal("DequantizeLinear", qdq.Graph.Node.Single(n => n.Output.Contains("c1_out")).OpType);
        var report = FusionReport.Analyze(qdq.ToByteArray());
        Assert.Equal(2, report.FusedKernels.GetValueOrDefault("QLinearConv"));
        var expected = OrtTestRunner.Run(h.Float, h.Test);
        var actual = OrtTestRunner.Run(qdq, h.Test, GraphOptimizationLevel.ORT_ENABLE_EXTENDED);
        foreach (var name in new[] { "c1_out", "c2_out" })
            Assert.True(OrtTestRunner.MaxAbsDiff(expected[name], actual[name]) <= 0.02f * expected[name].Max(Math.Abs));
    }

    [Fact]
    public void Split_outputs_share_the_input_quantizer_and_stay_integer()
    {
        var b = new GraphBuilder("split");
        var x = b.Input("x", 4, 16);
        var rng = new Random(8);
        var h0 = b.Node("MatMul", new[] { x, b.Initializer("w0", QdqTestModels.Weights(rng, 16 * 32, 0.3f), 16, 32) }, "proj");
        var parts = b.NodeMulti("Split", new[] { h0, b.Initializer("sizes", new long[] { 16, 16 }, 2) }, 2, "split", ("axis", 1L));
        var a = b.Node("MatMul", new[] { parts[0], b.Initializer("w1", QdqTestModels.Weights(rng, 16 * 8, 0.3f), 16, 8) }, "left");
        var c = b.Node("MatMul", new[] { parts[1], b.Initializer("w2", QdqTestModels.Weights(rng, 16 * 8, 0.3f), 16, 8) }, "right");
        b.Output(b.Node("Add", new[] { a, c }, "sum"));
        var h = new QdqHarness(b.Build(), r => QdqHarness.Input("x", OrtTestRunner.RandomData(r, 64), 4, 16));
        var tensors = QdqEmitter.TensorsToCalibrate(h.Prepared, new HashSet<string>());
        Assert.Contains("proj_out", tensors);
        Assert.DoesNotContain("split_out0", tensors);
        var qdq = QdqEmitter.Emit(h.Prepared, h.Plan(QuantizationTypes.U8S8));
        var report = FusionReport.Analyze(qdq.ToByteArray());
        Assert.Equal(0, report.FloatLayerCount);
        Assert.Equal(0, report.StrayDequantizeQuantizePairs);
        // The Split runs on uint8; 'left' and 'right' feed a float Add, so their outputs are quantized (else ORT's
        // MatMulAddFusion would make one of them a float Gemm).
        Assert.Contains(report.Nodes, n => n.OpType == "Split");
        Assert.Equal(3, report.FusedKernels.GetValueOrDefault("QLinearMatMul"));
        var expected = OrtTestRunner.Run(h.Float, h.Test)["sum_out"];
        var actual = OrtTestRunner.Run(qdq, h.Test, GraphOptimizationLevel.ORT_ENABLE_EXTENDED)["sum_out"];
        Assert.True(OrtTestRunner.MaxAbsDiff(expected, actual) <= 0.02f * expected.Max(Math.Abs));
    }

    [Fact]
    public void An_opset_11_model_with_constant_weights_prepares_and_quantizes()
    {
        var b = new GraphBuilder("consts", 11);
        var x = b.Input("x", 1, 3, 8, 8);
        var rng = new Random(9);
        var w = b.Constant("w", QdqTestModels.Weights(rng, 4 * 27, 0.5f), 4, 3, 3, 3);
        var bias = b.Constant("bias", QdqTestModels.Weights(rng, 4, 0.1f), 4);
        var c = b.Node("Conv", new[] { x, w, bias }, "", ("pads", new long[] { 1, 1, 1, 1 }));
        var r = b.Node("Clip", new[] { c, b.Constant("lo", new[] { 0f }), b.Constant("hi", new[] { 6f }) }, "relu6");
        var fcW = b.Constant("fcw", QdqTestModels.Weights(rng, 4 * 64 * 5, 0.1f), 256, 5);
        var flat = b.Node("Flatten", new[] { r }, "flat");
        var fc = b.Node("MatMul", new[] { flat, fcW }, "fc");
        var sm = b.Node("Softmax", new[] { fc }, "softmax", ("axis", 1L));
        b.Output(sm);
        var h = new QdqHarness(b.Build(), r2 => QdqHarness.Input("x", OrtTestRunner.RandomData(r2, 192, 3f), 1, 3, 8, 8));
        Assert.DoesNotContain(h.Prepared.Graph.Node, n => n.OpType == "Constant");
        var layers = QdqEmitter.Layers(h.Prepared, new HashSet<string>());
        Assert.Equal(new[] { "Conv_2", "fc" }, layers.Select(l => l.Node));
        var qdq = QdqEmitter.Emit(h.Prepared, h.Plan(QuantizationTypes.U8S8));
        var report = FusionReport.Analyze(qdq.ToByteArray());
        Assert.Equal(1, report.FusedKernels.GetValueOrDefault("QLinearConv"));
        Assert.Equal(0, report.FloatLayerCount);
        Assert.DoesNotContain(report.Nodes, n => n.OpType == "Clip");   // Clip(0, 6) absorbed into QLinearConv
        var expected = OrtTestRunner.Run(h.Float, h.Test)["softmax_out"];
        var actual = OrtTestRunner.Run(qdq, h.Test, GraphOptimizationLevel.ORT_ENABLE_EXTENDED)["softmax_out"];
        Assert.True(OrtTestRunner.MaxAbsDiff(expected, actual) <= 0.05f);
    }

    [Fact]
    public void An_opset_9_model_is_upgraded_and_quantized()
    {
        var b = new GraphBuilder("old", 9);
        var x = b.Input("x", 1, 2, 8, 8);
        var rng = new Random(4);
        var c = b.Node("Conv", new[] { x, b.Initializer("w", QdqTestModels.Weights(rng, 4 * 18, 0.5f), 4, 2, 3, 3) }, "conv", ("pads", new long[] { 1, 1, 1, 1 }));
        var bn = b.Node("BatchNormalization", new[] { c, b.Initializer("g", new[] { 1f, 0.5f, 2f, 1f }, 4), b.Initializer("be", new[] { 0.1f, 0f, -0.1f, 0.2f }, 4),
            b.Initializer("m", new[] { 0f, 0.1f, 0f, -0.1f }, 4), b.Initializer("v", new[] { 1f, 2f, 0.5f, 1f }, 4) }, "bn");
        var r = b.Node("Relu", new[] { bn }, "relu");
        var up = b.Node("Upsample", new[] { r, b.Initializer("scales", new[] { 1f, 1f, 2f, 2f }, 4) }, "up");
        var sq = b.Node("Unsqueeze", new[] { b.Node("GlobalAveragePool", new[] { up }, "gap") }, "unsq", ("axes", new long[] { 0 }));
        b.Output(sq);
        var h = new QdqHarness(b.Build(), r2 => QdqHarness.Input("x", OrtTestRunner.RandomData(r2, 128), 1, 2, 8, 8));
        Assert.Equal(13, ModelInspector.DefaultOpset(h.Prepared));
        var qdq = QdqEmitter.Emit(h.Prepared, h.Plan(QuantizationTypes.U8S7));
        var report = FusionReport.Analyze(qdq.ToByteArray());
        Assert.Equal(1, report.FusedKernels.GetValueOrDefault("QLinearConv"));
        Assert.Equal(0, report.FloatLayerCount);
        var expected = OrtTestRunner.Run(h.Float, h.Test)["unsq_out"];
        var actual = OrtTestRunner.Run(qdq, h.Test, GraphOptimizationLevel.ORT_ENABLE_EXTENDED)["unsq_out"];
        Assert.True(OrtTestRunner.MaxAbsDiff(expected, actual) <= 0.02f * expected.Max(Math.Abs));
    }

    [Fact]
    public void Initializers_read_only_inside_subgraphs_are_kept()
    {
        var b = new GraphBuilder("branches");
        var x = b.Input("x", 1, 2, 4, 4);
        var rng = new Random(2);
        var c = b.Node("Conv", new[] { x, b.Initializer("w", QdqTestModels.Weights(rng, 2 * 2 * 9, 0.5f), 2, 2, 3, 3) }, "conv", ("pads", new long[] { 1, 1, 1, 1 }));
        var cond = b.Initializer(new TensorProto { Name = "cond", DataType = (int)TensorProto.Types.DataType.Bool, RawData = ByteString.CopyFrom(1) });
        b.Initializer("offset", new[] { 0.5f });
        GraphProto Branch(string name, string op)
        {
            var g = new GraphProto { Name = name };
            var n = new NodeProto { OpType = op, Name = name + "_op" };
            n.Input.Add(c);
            n.Input.Add("offset");
            n.Output.Add(name + "_y");
            g.Node.Add(n);
            g.Output.Add(GraphBuilder.ValueInfo(name + "_y", TensorProto.Types.DataType.Float, null));
            return g;
        }
        var ifNode = new NodeProto { OpType = "If", Name = "if" };
        ifNode.Input.Add(cond);
        ifNode.Output.Add("y");
        ifNode.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = Branch("then", "Add") });
        ifNode.Attribute.Add(new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = Branch("else", "Sub") });
        b.Graph.Node.Add(ifNode);
        b.Output("y");
        var h = new QdqHarness(b.Build(), r => QdqHarness.Input("x", OrtTestRunner.RandomData(r, 32), 1, 2, 4, 4));
        var qdq = QdqEmitter.Emit(h.Prepared, h.Plan(QuantizationTypes.U8S8));
        Assert.Contains(qdq.Graph.Initializer, t => t.Name == "offset");
        var expected = OrtTestRunner.Run(h.Float, h.Test)["y"];
        var actual = OrtTestRunner.Run(qdq, h.Test, GraphOptimizationLevel.ORT_ENABLE_EXTENDED)["y"];
        Assert.True(OrtTestRunner.MaxAbsDiff(expected, actual) <= 0.02f * expected.Max(Math.Abs));
    }

    [Fact]
    public void Unprepared_models_and_unresolved_types_are_refused()
    {
        var b = new GraphBuilder("old", 11);
        b.Output(b.Node("Relu", new[] { b.Input("x", 2) }, "r"));
        Assert.Equal("ModelNotPrepared", Assert.Throws<PotException>(() => QdqEmitter.TensorsToCalibrate(b.Build(), new HashSet<string>())).ErrorId);
        var h = QdqEmitterFusionTests.Get("convnet");
        var plan = h.Plan(QuantizationTypes.U8S8);
        Assert.Equal("QuantizationTypesUnresolved", Assert.Throws<PotException>(() => QdqEmitter.Emit(h.Prepared, plan with { Types = QuantizationTypes.Auto })).ErrorId);
        var missing = plan.Ranges.Where(kv => kv.Key != "stem_relu_out").ToDictionary(kv => kv.Key, kv => kv.Value);
        var e = Assert.Throws<PotException>(() => QdqEmitter.Emit(h.Prepared, plan with { Ranges = missing }));
        Assert.Equal("RangeMissing", e.ErrorId);
        Assert.Equal("stem_relu_out", e.Target);
    }
}
