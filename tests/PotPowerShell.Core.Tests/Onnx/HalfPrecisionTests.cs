using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;
using PotPowerShell.Core.Tests.Warts;
using PotPowerShell.TestSupport;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Tests.Onnx;

/// <summary>
/// A float16 model is prepared as the FP32 model its weights widen to. The golden figures come from ONNX Runtime: the
/// prepared FP16 export computes, bit for bit, what the prepared FP32 model with the same (float16-exact) weights
/// computes, rounded to float16 at the output.
/// </summary>
public class HalfPrecisionTests
{
    /// <summary>Values float16 holds exactly, so that the FP32 twin and the FP16 export have the same weights.</summary>
    internal static float[] HalfExact(float[] values) => Array.ConvertAll(values, v => (float)(Half)v);

    /// <summary>
    /// x [batch, 3, 8, 8] -> Conv -> Relu -> Mul by a Constant node -> Flatten -> MatMul -> Add, and Shape(x) -> Cast to
    /// float as a second output (a Cast of integers, which the export makes a Cast to float16).
    /// </summary>
    internal static ModelProto Fp32Twin(int seed = 1)
    {
        var rng = new Random(seed);
        var g = new GraphBuilder("twin");
        var x = g.Input("x", "batch", 3L, 8L, 8L);
        var conv = g.Node("Conv", new[] { x, g.Initializer("w", HalfExact(WartModels.Random(rng, 4 * 3 * 9)), 4, 3, 3, 3), g.Initializer("b", HalfExact(WartModels.Random(rng, 4)), 4) },
            "conv", ("pads", new long[] { 1, 1, 1, 1 }));
        var relu = g.Node("Relu", new[] { conv }, "relu");
        var half = new NodeProto { OpType = "Constant", Name = "half", Output = { "half_value" } };
        half.Attribute.Add(GraphBuilder.Attribute("value", TensorProtos.FromFloats("", new[] { 0.5f })));
        g.Graph.Node.Add(half);
        var scaled = g.Node("Mul", new[] { relu, "half_value" }, "scale");
        var flat = g.Node("Flatten", new[] { scaled }, "flatten");
        var fc = g.Node("MatMul", new[] { flat, g.Initializer("w2", HalfExact(WartModels.Random(rng, 256 * 5)), 256, 5) }, "fc");
        var y = g.Node("Add", new[] { fc, g.Initializer("b2", HalfExact(WartModels.Random(rng, 5)), 5) }, "bias");
        g.Output(y, DataType.Float, "batch", 5L);
        var shape = g.Node("Shape", new[] { x }, "shape");
        var size = g.Node("Cast", new[] { shape }, "size", ("to", (long)DataType.Float));
        g.Output(size, DataType.Float, 4L);
        return g.Build();
    }

    private static float[] Data(int items) => HalfExact(WartModels.Random(new Random(5), items * 3 * 64, 2f));

    private static Dictionary<string, float[]> Run(ModelProto model, float[] x, int items)
    {
        using var options = OrtSessions.Options(threads: 1);
        using var session = OrtSessions.Create(model.ToByteArray(), options, "model");
        var shape = new long[] { items, 3, 8, 8 };
        using var input = session.InputMetadata["x"].ElementDataType == TensorElementType.Float16
            ? OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(x, v => (Float16)v), shape)
            : OrtValue.CreateTensorValueFromMemory(x, shape);
        var names = session.OutputMetadata.Keys.ToArray();
        using var outputs = session.Run(new RunOptions(), new[] { "x" }, new[] { input }, names);
        return names.Select((n, i) => (n, Values: FloatOutputs.ToArray(outputs[i]))).ToDictionary(p => p.n, p => p.Values);
    }

    private static IEnumerable<TypeProto> Interface(GraphProto graph) => graph.Input.Concat(graph.Output).Select(v => v.Type);

    [Fact]
    public void A_float16_export_is_prepared_as_its_fp32_twin_with_float16_inputs_and_outputs()
    {
        var twin = Fp32Twin();
        var export = HalfModels.ToFloat16(twin);
        var prepared = ModelPreparation.Prepare(export);

        Assert.All(Interface(prepared.Graph), t => Assert.Equal((int)DataType.Float16, t.TensorType.ElemType));
        Assert.DoesNotContain(prepared.Graph.Initializer, t => HalfPrecision.IsHalf(t.DataType));
        Assert.DoesNotContain(prepared.Graph.Node, n => n.OpType == "Cast" && HalfPrecision.IsHalf((int)n.Attribute[0].I) && !prepared.Graph.Output.Any(o => o.Name == n.Output[0]));
        Assert.Equal(new[] { "x_to_float" }, prepared.Graph.Node.Where(n => n.Input.Contains("x")).Select(n => n.Name));
        // The input models are left as they were.
        Assert.Contains(export.Graph.Initializer, t => t.DataType == (int)DataType.Float16);

        var x = Data(3);
        var expected = Run(ModelPreparation.Prepare(twin), x, 3);
        var actual = Run(prepared, x, 3);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, values) in expected)
            Assert.Equal(Array.ConvertAll(values, v => (float)(Half)v), actual[name]);
        Assert.Equal(new float[] { 3, 3, 8, 8 }, actual["size_out"]);
    }

    [Fact]
    public void A_keep_io_export_keeps_its_float_interface_and_loses_the_casts_between_its_layers()
    {
        var twin = Fp32Twin();
        var prepared = ModelPreparation.Prepare(HalfModels.ToFloat16(twin, keepFloatInterface: true));

        Assert.All(Interface(prepared.Graph), t => Assert.Equal((int)DataType.Float, t.TensorType.ElemType));
        Assert.False(HalfPrecision.Holds(prepared.Graph));
        // The input's Cast to float16 (float to float once widened) is gone: the Conv reads x itself. Casts left: the
        // integers' Cast to float, and the two that write graph outputs.
        Assert.Contains("x", prepared.Graph.Node.Single(n => n.OpType == "Conv").Input);
        var outputs = prepared.Graph.Output.Select(o => o.Name).ToHashSet();
        Assert.Equal(3, prepared.Graph.Node.Count(n => n.OpType == "Cast"));
        Assert.Single(prepared.Graph.Node, n => n.OpType == "Cast" && !outputs.Contains(n.Output[0]));

        var x = Data(2);
        var expected = Run(ModelPreparation.Prepare(twin), x, 2);
        var actual = Run(prepared, x, 2);
        foreach (var (name, values) in expected) Assert.Equal(values, actual[name]);
    }

    [Fact]
    public void Float16_in_control_flow_subgraphs_is_widened_and_outer_reads_follow_the_renamed_input()
    {
        var twin = WartModels.LayerInIf();
        foreach (var t in twin.Graph.Initializer.Where(t => t.DataType == (int)DataType.Float).ToList())
            twin.Graph.Initializer[twin.Graph.Initializer.IndexOf(t)] = TensorProtos.FromFloats(t.Name, HalfExact(TensorProtos.ToFloats(t)), t.Dims.ToArray());
        var export = HalfModels.ToFloat16(twin);
        Assert.True(HalfPrecision.Holds(export.Graph.Node.Single(n => n.OpType == "If").Attribute[0].G));

        var prepared = ModelPreparation.Prepare(export);
        var choice = prepared.Graph.Node.Single(n => n.OpType == "If");
        Assert.All(choice.Attribute, a => Assert.False(HalfPrecision.Holds(a.G)));

        var items = 4;
        var x = HalfExact(WartModels.Random(new Random(9), items * 8));
        using var options = OrtSessions.Options(threads: 1);
        using var session = OrtSessions.Create(prepared.ToByteArray(), options, "prepared");
        using var twinSession = OrtSessions.Create(ModelPreparation.Prepare(twin).ToByteArray(), options, "twin");
        using var halfInput = OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(x, v => (Float16)v), new long[] { items, 8 });
        using var floatInput = OrtValue.CreateTensorValueFromMemory(x, new long[] { items, 8 });
        using var actual = session.Run(new RunOptions(), new[] { "x" }, new[] { halfInput }, new[] { "y" });
        using var expected = twinSession.Run(new RunOptions(), new[] { "x" }, new[] { floatInput }, new[] { "y" });
        Assert.Equal(Array.ConvertAll(expected[0].GetTensorDataAsSpan<float>().ToArray(), v => (float)(Half)v),
            FloatOutputs.ToArray(actual[0]));
    }

    [Fact]
    public void Bfloat16_widens_exactly_and_new_names_avoid_the_names_in_use()
    {
        var g = new GraphBuilder("bf16");
        g.Input("x", DataType.Bfloat16, 2L);
        // 1.5, -2 and the largest finite bfloat16, as raw bits.
        ushort[] bits = { 0x3FC0, 0xC000, 0x7F7F };
        g.Graph.Initializer.Add(new TensorProto { Name = "w", DataType = (int)DataType.Bfloat16, Dims = { 3 },
            RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(bits.AsSpan())) });
        // A tensor already named as the widened input would be.
        var taken = g.Node("Identity", new[] { "x" }, "x_float");
        g.Output(g.Node("Mul", new[] { taken, "x" }, "square"), DataType.Bfloat16, 2L);
        var graph = g.Build().Graph;

        Assert.True(HalfPrecision.Widen(graph));
        Assert.Equal(new[] { 1.5f, -2f, BitConverter.Int32BitsToSingle(0x7F7F << 16) }, TensorProtos.ToFloats(graph.Initializer.Single()));
        var cast = graph.Node[0];
        Assert.Equal(("Cast", "x", "x_float_1"), (cast.OpType, cast.Input[0], cast.Output[0]));
        Assert.Equal((long)DataType.Bfloat16, graph.Node[^1].Attribute.Single().I);
        Assert.Equal("square_out", graph.Node[^1].Output[0]);
        // An FP32 model is left as it is.
        var fp32 = Fp32Twin().Graph;
        Assert.False(HalfPrecision.Widen(fp32));
        Assert.Equal(Fp32Twin().Graph, fp32);
    }
}
