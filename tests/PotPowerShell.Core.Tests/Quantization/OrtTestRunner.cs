using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>Runs small models in ONNX Runtime for tests: float inputs in, every graph output as floats out.</summary>
internal static class OrtTestRunner
{
    public static Dictionary<string, float[]> Run(ModelProto model, IReadOnlyDictionary<string, (float[] Data, int[] Dims)> inputs,
        GraphOptimizationLevel level = GraphOptimizationLevel.ORT_DISABLE_ALL)
    {
        OnnxRuntimeLoader.Ensure();
        using var options = OrtSessions.Options(level, threads: 1);
        using var session = OrtSessions.Create(model.ToByteArray(), options, "test model");
        var values = inputs.Select(kv => NamedOnnxValue.CreateFromTensor(kv.Key, new DenseTensor<float>(kv.Value.Data, kv.Value.Dims))).ToList();
        using var results = session.Run(values);
        return results.ToDictionary(r => r.Name, r => r.AsEnumerable<float>().ToArray());
    }

    /// <summary>Runs a model on inputs of any element type the tests use (float, int64); every output as floats, in output order.</summary>
    public static List<float[]> RunTensors(ModelProto model, IReadOnlyDictionary<string, PotPowerShell.Core.Data.TensorData> inputs)
    {
        OnnxRuntimeLoader.Ensure();
        using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_DISABLE_ALL, threads: 1);
        using var session = OrtSessions.Create(model.ToByteArray(), options, "test model");
        var values = inputs.Select(kv => kv.Value.Data switch
        {
            long[] l => NamedOnnxValue.CreateFromTensor(kv.Key, new DenseTensor<long>(l, kv.Value.Shape.Select(d => (int)d).ToArray())),
            float[] f => NamedOnnxValue.CreateFromTensor(kv.Key, new DenseTensor<float>(f, kv.Value.Shape.Select(d => (int)d).ToArray())),
            _ => throw new ArgumentException($"Input '{kv.Key}' holds {kv.Value.Kind} values."),
        }).ToList();
        using var results = session.Run(values);
        return results.Select(r => r.AsEnumerable<float>().ToArray()).ToList();
    }

    /// <summary>Min/max of each named tensor over the given input batches (tests' stand-in for calibration).</summary>
    public static Dictionary<string, ActivationRange> MinMax(ModelProto model, IReadOnlyList<string> tensors,
        IEnumerable<IReadOnlyDictionary<string, (float[] Data, int[] Dims)>> batches)
    {
        var probe = model.Clone();
        var outputs = probe.Graph.Output.Select(o => o.Name).ToHashSet();
        var graphInputs = probe.Graph.Input.Select(i => i.Name).ToHashSet();
        foreach (var t in tensors)
            if (!outputs.Contains(t) && !graphInputs.Contains(t)) probe.Graph.Output.Add(new ValueInfoProto { Name = t });
        var ranges = new Dictionary<string, ActivationRange>();
        foreach (var batch in batches)
        {
            // Graph inputs are not outputs of any node; take them from the batch itself.
            var run = Run(probe, batch);
            foreach (var t in tensors)
            {
                var data = batch.TryGetValue(t, out var input) ? input.Data : run[t];
                float min = data.Min(), max = data.Max();
                ranges[t] = ranges.TryGetValue(t, out var r) ? new ActivationRange(Math.Min(r.Min, min), Math.Max(r.Max, max)) : new ActivationRange(min, max);
            }
        }
        return ranges;
    }

    public static float[] RandomData(Random rng, int count, float scale = 1f, float offset = 0f) =>
        Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale + offset).ToArray();

    public static float MaxAbsDiff(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
}
