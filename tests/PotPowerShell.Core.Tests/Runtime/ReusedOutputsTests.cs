using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Tests.Runtime;

/// <summary>
/// Calibration's runs write their outputs into buffers reused from run to run (Runtime/ReusedOutputs.cs): every run must
/// give what an ordinary run gives, when the input shapes change and when an output's shape depends on the values.
/// </summary>
public class ReusedOutputsTests
{
    // y = Relu(x), shaped like x; positives = the positive values of x, as many as there are (a value-dependent shape).
    private static byte[] Model()
    {
        var g = new GraphBuilder();
        var x = g.Input("x", "n", 4);
        var y = g.Node("Relu", new[] { x }, "relu");
        var flat = g.Node("Reshape", new[] { x, g.Initializer("flat_shape", new long[] { -1 }, 1) }, "flat");
        var zero = g.Initializer("zero", new float[] { 0 });
        var mask = g.Node("Greater", new[] { flat, zero }, "mask");
        var where = g.Node("NonZero", new[] { mask }, "where");
        var index = g.Node("Squeeze", new[] { where, g.Initializer("axes", new long[] { 0 }, 1) }, "index");
        var positives = g.Node("Gather", new[] { flat, index }, "positives");
        g.Output(y);
        g.Output(positives);
        return g.Build().ToByteArray();
    }

    [Fact]
    public void Every_run_gives_what_an_ordinary_run_gives()
    {
        using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, 1);
        using var session = OrtSessions.Create(Model(), options, "test");
        using var runOptions = new RunOptions();
        var outputs = session.OutputMetadata.Keys.ToArray();
        using var reused = new ReusedOutputs(session, runOptions, new[] { "x" }, outputs);
        // Same shape twice (the second run is bound), a different count of positives in the same shape (the bound run is
        // refused and repeated ordinarily), a new shape, and that shape again.
        var inputs = new[]
        {
            (new float[] { 1, -2, 3, 0, -1, 5, -6, 7 }, 2L),
            (new float[] { 2, -1, 4, -1, -3, 6, -7, 8 }, 2L),
            (new float[] { 1, 2, 3, 4, 5, 6, 7, 8 }, 2L),
            (new float[] { -1, 2, -3, 4, 5, -6, 7, -8, 9, -10, 11, -12 }, 3L),
            (new float[] { 1, -2, 3, -4, -5, 6, -7, 8, -9, 10, -11, 12 }, 3L),
        };
        foreach (var (data, rows) in inputs)
        {
            using var x = OrtValue.CreateTensorValueFromMemory(data, new[] { rows, 4L });
            var got = reused.Run(new[] { x }, CancellationToken.None);
            using var expected = session.Run(runOptions, new[] { "x" }, new[] { x }, outputs);
            for (int i = 0; i < outputs.Length; i++)
            {
                Assert.Equal(expected[i].GetTensorTypeAndShape().Shape, got[i].GetTensorTypeAndShape().Shape);
                Assert.Equal(expected[i].GetTensorDataAsSpan<float>().ToArray(), got[i].GetTensorDataAsSpan<float>().ToArray());
            }
        }
    }
}
