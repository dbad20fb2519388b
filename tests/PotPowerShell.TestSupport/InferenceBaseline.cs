using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.TestSupport;

/// <summary>Timings of plain ONNX Runtime inference.</summary>
/// <param name="SessionMilliseconds">Creating the session from the model bytes.</param>
/// <param name="RunMilliseconds">All Run calls together (outputs fetched and released, nothing read).</param>
public sealed record BaselineTiming(double SessionMilliseconds, double RunMilliseconds, int Runs, int Items);

/// <summary>
/// Plain ONNX Runtime inference over batches built beforehand: the reference that evaluation overhead is measured
/// against (bench/Bench-Evaluation.ps1). Same session options as the evaluator; no adapters, metrics or data
/// handling in <see cref="Run"/>.
/// </summary>
public static class InferenceBaseline
{
    /// <summary>Float32 batches of a single-input data set, as OrtValues over pinned arrays. Dispose when done.</summary>
    public sealed class Batches : IDisposable
    {
        internal Batches(List<OrtValue> values, int items)
        {
            Values = values;
            Items = items;
        }

        internal List<OrtValue> Values { get; }
        public int Count => Values.Count;
        public int Items { get; }

        public void Dispose()
        {
            foreach (var v in Values) v.Dispose();
        }
    }

    public static Batches Prepare(IDataset data, int batchSize)
    {
        OnnxRuntimeLoader.Ensure();
        string input = data.InputNames.Single();
        var values = new List<OrtValue>();
        for (int start = 0; start < data.Count; start += batchSize)
        {
            int count = Math.Min(batchSize, data.Count - start);
            var batch = TensorData.ConcatFirstAxis(Enumerable.Range(start, count).Select(i => data.Get(i).Inputs[input]).ToList());
            values.Add(OrtValue.CreateTensorValueFromMemory((float[])batch.Data, batch.Shape));
        }
        return new Batches(values, data.Count);
    }

    /// <summary>Creates a session for <paramref name="model"/> and runs every batch once.</summary>
    public static BaselineTiming Run(byte[] model, Batches batches, int threads)
    {
        var clock = Stopwatch.StartNew();
        using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, threads);
        using var session = OrtSessions.Create(model, options, "baseline");
        double sessionMs = clock.Elapsed.TotalMilliseconds;
        var inputs = new[] { session.InputNames[0] };
        var outputs = session.OutputNames.ToArray();
        using var runOptions = new RunOptions();
        var value = new OrtValue[1];
        clock.Restart();
        foreach (var batch in batches.Values)
        {
            value[0] = batch;
            using var results = session.Run(runOptions, inputs, value, outputs);
        }
        return new BaselineTiming(sessionMs, clock.Elapsed.TotalMilliseconds, batches.Count, batches.Items);
    }

    /// <summary>
    /// The first output of <paramref name="model"/> for each item of a single-input data set, one item per run with
    /// plain ONNX Runtime: golden values for tests of what the evaluator makes of a model's outputs.
    /// </summary>
    public static float[][] FirstOutputs(string model, IDataset data)
    {
        OnnxRuntimeLoader.Ensure();
        using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, 1);
        using var session = OrtSessions.Create(File.ReadAllBytes(model), options, model);
        using var runOptions = new RunOptions();
        string input = data.InputNames.Single();
        var result = new float[data.Count][];
        for (int i = 0; i < data.Count; i++)
        {
            var item = data.Get(i).Inputs[input];
            using var value = OrtValue.CreateTensorValueFromMemory((float[])item.Data, item.Shape);
            using var outputs = session.Run(runOptions, new[] { session.InputNames[0] }, new[] { value }, new[] { session.OutputNames[0] });
            result[i] = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }
        return result;
    }
}
