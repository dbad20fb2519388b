using Microsoft.ML.OnnxRuntime;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Tests.Warts;

/// <summary>Runs a model file in ONNX Runtime (default optimizations, as a user would) on inputs of any element type.</summary>
internal static class WartRunner
{
    public static Dictionary<string, float[]> Run(string modelPath, IReadOnlyDictionary<string, TensorData> inputs)
    {
        OnnxRuntimeLoader.Ensure();
        using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, threads: 1);
        using var session = new InferenceSession(modelPath, options);
        var values = inputs.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, Value: ToOrtValue(kv.Value))).ToList();
        try
        {
            var names = session.OutputMetadata.Keys.ToArray();
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, values.Select(v => v.Key).ToArray(), values.Select(v => v.Value).ToArray(), names);
            return names.Select((n, i) => (n, outputs[i].GetTensorDataAsSpan<float>().ToArray())).ToDictionary(p => p.n, p => p.Item2);
        }
        finally
        {
            foreach (var v in values) v.Value.Dispose();
        }
    }

    private static OrtValue ToOrtValue(TensorData t) => t.Data switch
    {
        float[] f => OrtValue.CreateTensorValueFromMemory(f, t.Shape),
        long[] l => OrtValue.CreateTensorValueFromMemory(l, t.Shape),
        int[] i => OrtValue.CreateTensorValueFromMemory(i, t.Shape),
        _ => throw new NotSupportedException(t.ToString()),
    };

    /// <summary>Largest |a - b| over all outputs, relative to the largest |a| of that output (so 0.05 = 5 % of its range).</summary>
    public static double RelativeError(Dictionary<string, float[]> expected, Dictionary<string, float[]> actual, out string worst)
    {
        double result = 0;
        worst = "";
        foreach (var (name, e) in expected)
        {
            var a = actual[name];
            Assert.Equal(e.Length, a.Length);
            double scale = Math.Max(e.Max(v => Math.Abs((double)v)), 1e-6);
            double err = e.Zip(a, (x, y) => Math.Abs((double)x - y)).Max() / scale;
            if (err > result) { result = err; worst = name; }
        }
        return result;
    }
}
