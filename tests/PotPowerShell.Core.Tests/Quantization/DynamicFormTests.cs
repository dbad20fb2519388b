using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using Xunit.Abstractions;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>
/// The dynamic form of a reverted MatMul / Gemm (restore_mode only_activations): ONNX Runtime fuses it into its dynamic
/// kernel, and the kernel computes the math of the form: activations quantized per inference as DynamicQuantizeLinear
/// defines it, an integer product with the emitted int8 weights, scaled back.
/// </summary>
public class DynamicFormTests
{
    private readonly ITestOutputHelper _out;
    public DynamicFormTests(ITestOutputHelper output) => _out = output;

    private const int M = 6, K = 40, N = 24;

    /// <summary>x[6, 40] -> MatMul "fc" (W [40, 24]) -> Add bias -> y.</summary>
    private static ModelProto MatMulModel()
    {
        var rng = new Random(11);
        var b = new GraphBuilder("matmul");
        var x = b.Input("x", (long)M, (long)K);
        var mm = b.Node("MatMul", new[] { x, b.Initializer("fc_W", OrtTestRunner.RandomData(rng, K * N, 0.3f), K, N) }, "fc");
        b.Output(b.Node("Add", new[] { mm, b.Initializer("fc_bias", OrtTestRunner.RandomData(rng, N, 0.2f), N) }, "fc_add"));
        return b.Build();
    }

    /// <summary>x[6, 40] -> Gemm "fc" (W [24, 40], transB 1, alpha 0.5, beta 2, C [24]) -> y.</summary>
    private static ModelProto GemmModel()
    {
        var rng = new Random(12);
        var b = new GraphBuilder("gemm");
        var x = b.Input("x", (long)M, (long)K);
        b.Output(b.Node("Gemm", new[] { x, b.Initializer("fc_W", OrtTestRunner.RandomData(rng, K * N, 0.3f), N, K), b.Initializer("fc_C", OrtTestRunner.RandomData(rng, N, 0.2f), N) },
            "fc", ("transB", 1L), ("alpha", 0.5f), ("beta", 2f)));
        return b.Build();
    }

    private static QdqHarness Harness(ModelProto model) =>
        // Inputs shifted off zero, so the activation zero point is not a round number.
        new(model, r => QdqHarness.Input("x", OrtTestRunner.RandomData(r, M * K, 2f, 0.7f), M, K));

    private static QuantizationPlan DynamicPlan(QdqHarness h, QuantizationTypes types) =>
        h.Plan(types) with { FloatLayers = new HashSet<string> { "fc" }, DynamicLayers = new HashSet<string> { "fc" } };

    public static IEnumerable<object[]> Cases() =>
        from model in new[] { "matmul", "gemm" }
        from types in new[] { QuantizationTypes.U8S7, QuantizationTypes.U8S8 }
        from perChannel in new[] { true, false }
        select new object[] { model, types, perChannel };

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_dynamic_layer_fuses_into_the_dynamic_kernel_and_computes_the_forms_math(string model, QuantizationTypes types, bool perChannel)
    {
        var h = Harness(model == "matmul" ? MatMulModel() : GemmModel());
        var plan = DynamicPlan(h, types) with { PerChannelWeights = perChannel };
        var emission = QdqEmitter.EmitWithRecord(h.Prepared, plan);
        var qdq = emission.Model;

        // The float weight is gone: int8 codes feed a MatMulInteger after the layer's own DynamicQuantizeLinear.
        Assert.DoesNotContain(qdq.Graph.Initializer, t => t.Name == "fc_W");
        Assert.Single(qdq.Graph.Node, n => n.OpType == "DynamicQuantizeLinear");
        Assert.Single(qdq.Graph.Node, n => n.OpType == "MatMulInteger");
        var record = Assert.Single(emission.Layers);
        Assert.Equal(("Dynamic", LayerReason.RevertedDynamic, false), (record.Precision, record.Code, record.Int8));
        Assert.Equal(types == QuantizationTypes.U8S7 ? 7 : 8, record.WeightBits);

        // ORT fuses it into its dynamic kernel (bias included), which FusionReport counts apart from static INT8 kernels.
        var report = FusionReport.Analyze(qdq.ToByteArray());
        _out.WriteLine(report.ToString());
        Assert.Equal(1, report.DynamicKernels.GetValueOrDefault("DynamicQuantizeMatMul"));
        Assert.Empty(report.FusedKernels);
        Assert.Equal(0, report.FloatLayerCount);
        Assert.Equal(0, report.OpTypes.GetValueOrDefault("Add"));

        // Golden: the form's math from the emitted codes and scales, in double.
        var x = h.Test["x"].Data;
        var expected = Reference(qdq, x, out double xScale, out float[] wScales, out sbyte[] codes);
        var fused = OrtTestRunner.Run(qdq, h.Test, GraphOptimizationLevel.ORT_ENABLE_ALL)[qdq.Graph.Output[0].Name];
        var unfused = OrtTestRunner.Run(qdq, h.Test)[qdq.Graph.Output[0].Name];
        // Integer accumulation is exact; what differs is float rounding of the scale product, the product and the bias:
        // a few float32 ulps of the largest term. 8-bit weights without VNNI may saturate in ORT's U8S8 kernel (ARCHITECTURE.md, QDQ rule 5),
        // which is why reverted layers take 7-bit weights on such CPUs (DynamicFallback.SevenBitWeights).
        double tolerance = 8 * 1.2e-7 * expected.Max(Math.Abs);
        bool exactKernel = types == QuantizationTypes.U8S7 || HardwareProfile.Current.HasVnni;
        _out.WriteLine($"|fused - golden| {MaxDiff(fused, expected)}, |unfused - golden| {MaxDiff(unfused, expected)}, tolerance {tolerance}");
        Assert.True(MaxDiff(unfused, expected) <= tolerance, $"ORT's reference ops differ from the golden math by {MaxDiff(unfused, expected)}");
        if (exactKernel) Assert.True(MaxDiff(fused, expected) <= tolerance, $"the fused kernel differs from the golden math by {MaxDiff(fused, expected)}");

        // And it stays within the rounding bound of the form from float: |x^w^ - xw| <= sum_k (s_x/2)|w^| + |x| s_w/2.
        var floatOut = OrtTestRunner.Run(h.Float, h.Test)[h.Float.Graph.Output[0].Name];
        var result = exactKernel ? fused : unfused;
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++)
            {
                double bound = 0;
                for (int k = 0; k < K; k++)
                {
                    float ws = wScales.Length == 1 ? wScales[0] : wScales[n];
                    bound += xScale / 2 * Math.Abs(codes[k * N + n] * (double)ws) + Math.Abs(x[m * K + k]) * ws / 2;
                }
                bound += tolerance; // the scales hold alpha, so the bound is in output units
                Assert.True(Math.Abs(result[m * N + n] - floatOut[m * N + n]) <= bound, $"y[{m},{n}] is {result[m * N + n]}, float {floatOut[m * N + n]}: more than the bound {bound}");
            }
    }

    [Fact]
    public void A_dynamic_layer_between_int8_neighbours_leaves_their_kernels_as_a_float_revert_does()
    {
        // x -> MatMul "a" -> Relu -> MatMul "fc" (dynamic) -> Relu -> MatMul "c".
        var rng = new Random(13);
        var b = new GraphBuilder("chain");
        var x = b.Input("x", (long)M, (long)K);
        string Layer(string input, string name, int k, int n) => b.Node("MatMul", new[] { input, b.Initializer(name + "_W", OrtTestRunner.RandomData(rng, k * n, 0.3f), k, n) }, name);
        var a = b.Node("Relu", new[] { Layer(x, "a", K, K) }, "a_relu");
        var fc = b.Node("Relu", new[] { Layer(a, "fc", K, K) }, "fc_relu");
        b.Output(Layer(fc, "c", K, N));
        var h = Harness(b.Build());
        var plan = DynamicPlan(h, QuantizationTypes.U8S7);
        var qdq = QdqEmitter.Emit(h.Prepared, plan);
        var report = FusionReport.Analyze(qdq.ToByteArray());
        var floatRevert = FusionReport.Analyze(QdqEmitter.Emit(h.Prepared, plan with { DynamicLayers = new HashSet<string>() }).ToByteArray());
        _out.WriteLine(report.ToString());
        _out.WriteLine(floatRevert.ToString());
        // Against the same layer reverted to float: the neighbours' kernels are the same, and the one float layer less
        // is the dynamic kernel.
        Assert.Equal(1, report.DynamicKernelCount);
        Assert.Equal(floatRevert.FusedKernels, report.FusedKernels);
        Assert.Equal(floatRevert.FloatLayerCount - 1, report.FloatLayerCount);
        Assert.Contains(report.Nodes, n => n.Name == "c" && n.OpType == "MatMulIntegerToFloat");
        Assert.Equal(floatRevert.QuantizeLinearCount, report.QuantizeLinearCount);
        string y = h.Float.Graph.Output[0].Name;
        var expected = OrtTestRunner.Run(h.Float, h.Test)[y];
        var actual = OrtTestRunner.Run(qdq, h.Test, GraphOptimizationLevel.ORT_ENABLE_ALL)[y];
        Assert.True(OrtTestRunner.MaxAbsDiff(expected, actual) <= 0.05f * expected.Max(Math.Abs));
    }

    [Fact]
    public void A_conv_has_no_dynamic_form_and_the_plan_naming_one_is_refused()
    {
        var h = QdqEmitterFusionTests.Get("convnet");
        var plan = h.Plan(QuantizationTypes.U8S7) with { FloatLayers = new HashSet<string> { "stem" }, DynamicLayers = new HashSet<string> { "stem" } };
        var e = Assert.Throws<PotException>(() => QdqEmitter.Emit(h.Prepared, plan));
        Assert.Equal("DynamicFormUnsupported", e.ErrorId);
        Assert.Equal("stem", e.Target);
    }

    /// <summary>The form's math in double from the emitted model: DynamicQuantizeLinear (ONNX spec), integer product, scales, bias.</summary>
    private static float[] Reference(ModelProto qdq, float[] x, out double xScale, out float[] wScales, out sbyte[] codes)
    {
        var inits = qdq.Graph.Initializer.ToDictionary(t => t.Name);
        var mmi = qdq.Graph.Node.Single(n => n.OpType == "MatMulInteger");
        codes = inits[mmi.Input[1]].RawData.Select(v => (sbyte)v).ToArray();
        var scaleMul = qdq.Graph.Node.Single(n => n.OpType == "Mul" && n.Input.Any(inits.ContainsKey));
        wScales = TensorProtos.ToFloats(inits[scaleMul.Input.Single(inits.ContainsKey)]);
        var biasAdd = qdq.Graph.Node.SingleOrDefault(n => n.OpType == "Add");
        var bias = biasAdd != null ? TensorProtos.ToFloats(inits[biasAdd.Input.Single(inits.ContainsKey)]) : new float[N];

        // DynamicQuantizeLinear: range widened to include 0, scale (max - min) / 255, zp = saturate(round(-min / scale)),
        // q = saturate(round(x / scale) + zp), rounding half to even, in float32 as the spec's reference does.
        float min = Math.Min(0f, x.Min()), max = Math.Max(0f, x.Max());
        float scale = (max - min) / 255f;
        float zp = Math.Clamp(MathF.Round(-min / scale, MidpointRounding.ToEven), 0, 255);
        var q = x.Select(v => Math.Clamp(MathF.Round(v / scale, MidpointRounding.ToEven) + zp, 0, 255)).ToArray();
        xScale = scale;
        var y = new float[M * N];
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++)
            {
                long acc = 0;
                for (int k = 0; k < K; k++) acc += (long)(q[m * K + k] - zp) * codes[k * N + n];
                float ws = wScales.Length == 1 ? wScales[0] : wScales[n];
                y[m * N + n] = (float)(acc * (double)(scale * ws) + bias[n]);
            }
        return y;
    }

    private static double MaxDiff(float[] a, float[] b) => a.Zip(b, (p, r) => Math.Abs((double)p - r)).Max();
}
