using PotPowerShell.Core.Tests.Quantization;
using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>The instrumented pass on real ONNX Runtime: exposed intermediate tensors and their NMSE, checked against plain math.</summary>
public class OrtLayerOutputProbeTests
{
    // x[1,2] -> MatMul(W[2,2]) -> h -> Relu -> y. The candidate perturbs W.
    private static byte[] Model(float[] w)
    {
        var g = new GraphBuilder();
        g.Input("x", 1, 2);
        g.Initializer("W", w, 2, 2);
        var h = g.Node("MatMul", new[] { "x", "W" }, "mm");
        var y = g.Node("Relu", new[] { h }, "relu");
        g.Output(y, global::Onnx.TensorProto.Types.DataType.Float, 1, 2);
        return g.Build().ToByteArray();
    }

    [Fact]
    public void ReturnsThePerItemNormalizedErrorOfEveryExposedTensor()
    {
        var w = new float[] { 1, 2, 3, 4 };
        var wq = new float[] { 1, 2, 3, 5 }; // column 1 row 1 off by one
        var dataset = new ArrayDataset(new[] { new float[] { 1, 0 }, new float[] { 0, 1 }, new float[] { 1, -1 } });
        var errors = new OrtLayerOutputProbe(dataset).Compare(Model(w), Model(wq), new[] { "mm_out", "relu_out", "missing" }, new[] { 0, 1, 2 }, CancellationToken.None);

        Assert.Equal(new[] { "mm_out", "relu_out" }, errors.Keys.OrderBy(k => k));
        // h = x W: item 0 [1,2] vs [1,2] -> 0; item 1 [3,4] vs [3,5] -> 1/25; item 2 [-2,-2] vs [-2,-3] -> 1/8.
        Assert.Equal(new[] { 0, 1.0 / 25, 1.0 / 8 }, errors["mm_out"], new Tolerance(1e-9));
        // Relu: item 2 is all negative in both, so the reference is zero and so is the error.
        Assert.Equal(new[] { 0, 1.0 / 25, 0 }, errors["relu_out"], new Tolerance(1e-9));
    }

    // x[1,2] -> mm1 (W1) -> mm2 (W2) -> y.
    private static global::Onnx.ModelProto Chain(float[] w1, float[] w2)
    {
        var g = new GraphBuilder();
        g.Input("x", 1, 2);
        var h = g.Node("MatMul", new[] { "x", g.Initializer("W1", w1, 2, 2) }, "mm1");
        var y = g.Node("MatMul", new[] { h, g.Initializer("W2", w2, 2, 2) }, "mm2");
        g.Output(y, global::Onnx.TensorProto.Types.DataType.Float, 1, 2);
        return g.Build();
    }

    private static float[] Times(float[] x, float[] w) => new[] { x[0] * w[0] + x[1] * w[2], x[0] * w[1] + x[1] * w[3] };

    private static double Nmse(float[] r, float[] c) => r.Zip(c).Sum(t => (double)(t.Second - t.First) * (t.Second - t.First)) / r.Sum(v => (double)v * v);

    [Fact]
    public void MeasuresAccumulatedErrorAgainstFp32AndLocalErrorAgainstAFloatCopy()
    {
        float[] w1 = { 1, 2, 3, 4 }, w2 = { 1, -1, 2, 1 };
        float[] q1 = { 1, 2, 3, 5 }, q2 = { 1, -1, 2, 1.5f };
        var reference = Chain(w1, w2);
        var candidate = Chain(q1, q2);
        var x = new[] { new float[] { 1, 0 }, new float[] { 0, 1 }, new float[] { 1, -1 } };
        var layers = new[] { new QuantizableLayer("mm1", "MatMul", "x", "mm1_out"), new QuantizableLayer("mm2", "MatMul", "mm1_out", "mm2_out") };
        var errors = new OrtLayerOutputProbe(new ArrayDataset(x)).MeasureLayers(reference.ToByteArray(), candidate.ToByteArray(), reference, layers, new[] { 0, 1, 2 }, CancellationToken.None);

        // mm2's own error: the candidate's mm2 against float W2 applied to the candidate's (already perturbed) mm1 output.
        double accumulated1 = x.Average(v => Nmse(Times(v, w1), Times(v, q1)));
        double accumulated2 = x.Average(v => Nmse(Times(Times(v, w1), w2), Times(Times(v, q1), q2)));
        double local2 = x.Average(v => Nmse(Times(Times(v, q1), w2), Times(Times(v, q1), q2)));
        Assert.Equal(accumulated1, errors["mm1"].Accumulated, 9);
        Assert.Equal(accumulated1, errors["mm1"].Local, 9); // fed by the graph input: nothing arrives from upstream
        Assert.Equal(accumulated2, errors["mm2"].Accumulated, 9);
        Assert.Equal(local2, errors["mm2"].Local, 9);
        Assert.NotEqual(errors["mm2"].Accumulated, errors["mm2"].Local, 6);
        Assert.Equal(accumulated2 + local2, errors["mm2"].Score, 9);
    }

    [Fact]
    public void NmseOfAZeroReferenceIsTheCandidateEnergy()
    {
        Assert.Equal(0, OrtLayerOutputProbe.Nmse(new float[] { 0, 0 }, new float[] { 0, 0 }));
        Assert.Equal(5, OrtLayerOutputProbe.Nmse(new float[] { 0, 0 }, new float[] { 1, 2 }));
        Assert.Equal(0.25, OrtLayerOutputProbe.Nmse(new float[] { 2, 0 }, new float[] { 1, 0 }));
    }

    [Fact]
    public void A_dynamic_batch_axis_is_batched_with_the_scores_of_item_by_item_runs()
    {
        using var calibration = PotPowerShell.Core.Data.NpyDataset.Open(Quantization.DigitsSampleTests.Sample("calibration"));
        using var validation = PotPowerShell.Core.Data.NpyDataset.Open(Quantization.DigitsSampleTests.Sample("validation"));
        var builder = QuantizedModelBuilder.Create(Quantization.DigitsSampleTests.Sample("digits.onnx"), calibration, new DefaultQuantizationOptions { Measurement = TestMeasurement.Int8Faster, StatSubsetSize = 32 });
        var reference = builder.FloatModel.ToByteArray();
        var candidate = builder.Build(new HashSet<string>()).ToByteArray();
        var items = Enumerable.Range(0, 100).ToArray();

        var batched = new OrtLayerOutputProbe(validation);
        var together = batched.MeasureLayers(reference, candidate, builder.FloatModel, builder.Layers, items, CancellationToken.None);
        Assert.True(batched.LargestBatch > 1, $"largest batch {batched.LargestBatch}");
        var single = new OrtLayerOutputProbe(validation) { BatchMemoryBytes = 1 }; // room for one item per run
        var alone = single.MeasureLayers(reference, candidate, builder.FloatModel, builder.Layers, items, CancellationToken.None);
        Assert.Equal(1, single.LargestBatch);

        Assert.Equal(builder.Layers.Count, alone.Count);
        Assert.Equal(alone.Keys.OrderBy(k => k), together.Keys.OrderBy(k => k));
        foreach (var (layer, e) in alone)
        {
            Assert.True(e.Accumulated > 0, layer);
            // The same per-item errors, up to the order in which ORT's kernels sum a batch: that order can move a value
            // across a rounding boundary of the next quantizer (one step of its scale), which shifts a layer's summed
            // error by about 1e-4 of it; a binding mistake (items swapped or mixed) changes it by far more.
            Assert.Equal(e.Accumulated, together[layer].Accumulated, 1e-3 * e.Accumulated);
            Assert.Equal(e.Local, together[layer].Local, 1e-3 * e.Local);
        }
    }

    [Fact]
    public void A_graph_that_hard_codes_batch_1_falls_back_to_one_item_per_run()
    {
        // x [batch, 2, 3, 3] -> Conv -> Reshape to [1, -1] -> Gemm: a batch of several items fails in the Gemm.
        static global::Onnx.ModelProto Build(float scale)
        {
            var rng = new Random(5);
            var g = new GraphBuilder("reshape_batch_1");
            var x = g.Input("x", "batch", 2, 3, 3);
            var c = g.Node("Conv", new[] { x, g.Initializer("w", Enumerable.Range(0, 4 * 2 * 9).Select(_ => (float)rng.NextDouble() * scale - 0.5f).ToArray(), 4, 2, 3, 3) },
                "conv", ("pads", new long[] { 1, 1, 1, 1 }));
            var r = g.Node("Reshape", new[] { c, g.Initializer("shape", new long[] { 1, -1 }, 2) }, "reshape");
            g.Output(g.Node("Gemm", new[] { r, g.Initializer("fw", Enumerable.Range(0, 36 * 3).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray(), 36, 3) }, "fc"));
            return g.Build();
        }
        var reference = Build(1f);
        var candidate = Build(1.05f);
        var x = Enumerable.Range(0, 9).Select(i => Enumerable.Range(0, 18).Select(j => (float)Math.Sin(i * 18 + j)).ToArray()).ToArray();
        var data = new ShapedDataset(x, 1, 2, 3, 3);
        var layers = new[] { new QuantizableLayer("conv", "Conv", "x", "conv_out"), new QuantizableLayer("fc", "Gemm", "reshape_out", "fc_out") };
        var probe = new OrtLayerOutputProbe(data);
        var errors = probe.MeasureLayers(reference.ToByteArray(), candidate.ToByteArray(), reference, layers, Enumerable.Range(0, 9).ToArray(), CancellationToken.None);
        Assert.Equal(1, probe.LargestBatch);
        var single = new OrtLayerOutputProbe(data) { BatchMemoryBytes = 1 };
        var alone = single.MeasureLayers(reference.ToByteArray(), candidate.ToByteArray(), reference, layers, Enumerable.Range(0, 9).ToArray(), CancellationToken.None);
        Assert.Equal(alone, errors);
        Assert.True(errors["conv"].Accumulated > 0);
    }

    private sealed class ShapedDataset(float[][] items, params long[] shape) : PotPowerShell.Core.Data.IDataset
    {
        public string Source => "array";
        public int Count => items.Length;
        public IReadOnlyList<string> InputNames => new[] { "x" };
        public bool HasAnnotations => false;
        public PotPowerShell.Core.Data.DataItem Get(int index) =>
            new(index, new Dictionary<string, PotPowerShell.Core.Data.TensorData> { ["x"] = PotPowerShell.Core.Data.TensorData.FromFloats(items[index], shape) }, null);
    }

    private sealed class Tolerance(double eps) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= eps;
        public int GetHashCode(double v) => 0;
    }

    private sealed class ArrayDataset(float[][] items) : PotPowerShell.Core.Data.IDataset
    {
        public string Source => "array";
        public int Count => items.Length;
        public IReadOnlyList<string> InputNames => new[] { "x" };
        public bool HasAnnotations => false;
        public PotPowerShell.Core.Data.DataItem Get(int index) =>
            new(index, new Dictionary<string, PotPowerShell.Core.Data.TensorData> { ["x"] = PotPowerShell.Core.Data.TensorData.FromFloats(items[index], 1, 2) }, null);
    }
}
