using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Runtime;

/// <summary>Timings of plain ONNX Runtime inference.</summary>
/// <param name="SessionMilliseconds">Creating the session from the model bytes.</param>
/// <param name="RunMilliseconds">All Run calls together (outputs fetched and released, nothing read).</param>
public sealed record BaselineTiming(double SessionMilliseconds, double RunMilliseconds, int Runs, int Items);

/// <summary>
/// Plain ONNX Runtime inference over batches built before timing starts: the reference that evaluation overhead is
/// measured against (bench/Bench-Evaluation.ps1). Same session options as the evaluator; no adapters, metrics or
/// data handling inside the timed part.
/// </summary>
public static class InferenceBaseline
{
    public static BaselineTiming Run(byte[] model, IDataset data, int batchSize, int threads)
    {
        OnnxRuntimeLoader.Ensure();
        string input = data.InputNames.Single();
        // Build every batch up front (float32 only: the baseline is meant for float models).
        var batches = new List<OrtValue>();
        try
        {
            for (int start = 0; start < data.Count; start += batchSize)
            {
                int count = Math.Min(batchSize, data.Count - start);
                var parts = Enumerable.Range(start, count).Select(i => data.Get(i).Inputs[input]).ToList();
                var batch = TensorData.ConcatFirstAxis(parts);
                batches.Add(OrtValue.CreateTensorValueFromMemory((float[])batch.Data, batch.Shape));
            }
            var clock = Stopwatch.StartNew();
            using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, threads);
            using var session = OrtSessions.Create(model, options, "baseline");
            double sessionMs = clock.Elapsed.TotalMilliseconds;
            string modelInput = session.InputNames[0];
            var outputs = session.OutputNames.ToArray();
            using var runOptions = new RunOptions();
            clock.Restart();
            foreach (var value in batches)
            {
                using var results = session.Run(runOptions, new[] { modelInput }, new[] { value }, outputs);
            }
            return new BaselineTiming(sessionMs, clock.Elapsed.TotalMilliseconds, batches.Count, data.Count);
        }
        finally
        {
            foreach (var b in batches) b.Dispose();
        }
    }
}
