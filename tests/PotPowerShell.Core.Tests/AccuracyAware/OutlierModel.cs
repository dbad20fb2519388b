using Onnx;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Tests.Data;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>
/// A 3-layer classifier where one layer cannot survive INT8: fc2's weights have one input column of 40.0, fed by an
/// fc1 channel that Relu keeps at exactly 0. In float the column contributes nothing; quantized, it sets every
/// per-channel weight scale, so all of fc2's real weights round to (almost) zero. fc1 and fc3 quantize well.
/// Labels are the FP32 argmax of the items with the clearest margin, so FP32 scores 100 % by construction.
/// </summary>
public sealed class OutlierModel : IDisposable
{
    public const int Features = 16, Hidden = 32, Classes = 10, OutlierChannel = 5;
    private readonly TempFolder _folder = new();

    public OutlierModel(int validationItems = 200, int calibrationItems = 100, int seed = 3)
    {
        var rng = new Random(seed);
        float Normal() => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        float[] Matrix(int rows, int cols, float std) => Enumerable.Range(0, rows * cols).Select(_ => Normal() * std).ToArray();

        W1 = Matrix(Hidden, Features, 0.5f);
        B1 = Enumerable.Range(0, Hidden).Select(_ => 0.1f * Normal()).ToArray();
        for (int i = 0; i < Features; i++) W1[OutlierChannel * Features + i] = 0;
        B1[OutlierChannel] = -1; // Relu makes this channel exactly 0 for every input
        W2 = Matrix(Hidden, Hidden, 0.25f);
        for (int o = 0; o < Hidden; o++) W2[o * Hidden + OutlierChannel] = 40;
        B2 = Enumerable.Range(0, Hidden).Select(_ => 0.1f * Normal()).ToArray();
        W3 = Matrix(Classes, Hidden, 0.4f);
        B3 = new float[Classes];

        var b = new GraphBuilder("outlier");
        var x = b.Input("x", "N", Features);
        string Fc(string input, string name, float[] w, float[] bias, int outDim, int inDim) =>
            b.Node("Gemm", new[] { input, b.Initializer(name + "_W", w, outDim, inDim), b.Initializer(name + "_B", bias, outDim) }, name, ("transB", 1L));
        var h1 = b.Node("Relu", new[] { Fc(x, "fc1", W1, B1, Hidden, Features) }, "relu1");
        var h2 = b.Node("Relu", new[] { Fc(h1, "fc2", W2, B2, Hidden, Hidden) }, "relu2");
        var y = Fc(h2, "fc3", W3, B3, Classes, Hidden);
        b.Output(y, TensorProto.Types.DataType.Float, "N", Classes);
        ModelPath = _folder.File("outlier.onnx");
        OnnxModelFile.Save(b.Build(), ModelPath);

        // Candidates, then the items with the largest FP32 top-1 margin.
        var candidates = Enumerable.Range(0, 3 * validationItems).Select(_ => Enumerable.Range(0, Features).Select(_ => Normal()).ToArray()).ToList();
        var chosen = candidates.OrderByDescending(Margin).Take(validationItems).ToList();
        Directory.CreateDirectory(_folder.File("validation"));
        NpyWriter.Save(_folder.File("validation/x.npy"), chosen.SelectMany(v => v).ToArray(), new long[] { validationItems, Features }, "<f4");
        NpyWriter.Save(_folder.File("validation/labels.npy"), chosen.Select(v => (long)ArgMax(Logits(v))).ToArray(), new long[] { validationItems }, "<i8");
        Directory.CreateDirectory(_folder.File("calibration"));
        var calibration = Enumerable.Range(0, calibrationItems * Features).Select(_ => Normal()).ToArray();
        NpyWriter.Save(_folder.File("calibration/x.npy"), calibration, new long[] { calibrationItems, Features }, "<f4");
        EnginePath = _folder.File("engine.yml");
        System.IO.File.WriteAllText(EnginePath, "metrics:\n  - type: accuracy\ndataset:\n  data_source: validation\n");
    }

    public float[] W1 { get; }
    public float[] B1 { get; }
    public float[] W2 { get; }
    public float[] B2 { get; }
    public float[] W3 { get; }
    public float[] B3 { get; }
    public string ModelPath { get; }
    public string CalibrationPath => _folder.File("calibration");
    public string EnginePath { get; }
    public string File(string name) => _folder.File(name);

    /// <summary>FP32 logits by plain loops (Gemm with transB: y = W x + b).</summary>
    public float[] Logits(float[] x)
    {
        float[] Dense(float[] v, float[] w, float[] bias, int outDim, bool relu)
        {
            var r = new float[outDim];
            for (int o = 0; o < outDim; o++)
            {
                float s = bias[o];
                for (int i = 0; i < v.Length; i++) s += w[o * v.Length + i] * v[i];
                r[o] = relu ? Math.Max(0, s) : s;
            }
            return r;
        }
        return Dense(Dense(Dense(x, W1, B1, Hidden, true), W2, B2, Hidden, true), W3, B3, Classes, false);
    }

    private float Margin(float[] x)
    {
        var l = Logits(x).OrderByDescending(v => v).ToArray();
        return l[0] - l[1];
    }

    private static int ArgMax(float[] v) => Array.IndexOf(v, v.Max());

    public void Dispose() => _folder.Dispose();
}

/// <summary>One default <see cref="OutlierModel"/> per test class (xunit class fixtures take no constructor arguments).</summary>
public sealed class OutlierModelFixture : IDisposable
{
    public OutlierModel Model { get; } = new();
    public void Dispose() => Model.Dispose();
}
