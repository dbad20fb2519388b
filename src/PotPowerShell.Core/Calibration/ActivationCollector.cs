using System.Diagnostics;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Calibration;

/// <summary>
/// Runs a float model over calibration items with ONNX Runtime and streams every requested tensor into its
/// accumulators. The tensors become extra graph outputs of a shallow copy of the model (name only: ORT infers the
/// type); the session runs at ORT_DISABLE_ALL so that no fusion hides them. Each batch's outputs are released as
/// soon as its statistics are taken, so memory does not grow with the number of items.
/// </summary>
public static class ActivationCollector
{
    /// <summary>Progress record id of the calibration bar (a child of the quantization bar, id 0).</summary>
    public const int ProgressId = 1;

    public static CalibrationStatistics Collect(ModelProto model, IDataset data, IReadOnlyList<int> items, CalibrationRequest request,
        IProgress<PotProgress>? progress, CancellationToken cancellationToken, string source = "model", string activity = "Calibration")
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (items.Count == 0)
            throw new PotException("CalibrationDataEmpty", PotErrorCategory.InvalidData,
                $"The calibration data '{data.Source}' holds no items.", data.Source);
        var watch = Stopwatch.StartNew();
        var initializers = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var graphInputs = model.Graph.Input.Select(i => i.Name).Where(n => !initializers.Contains(n)).ToHashSet(StringComparer.Ordinal);
        var produced = model.Graph.Node.SelectMany(n => n.Output).Where(o => o.Length > 0).ToHashSet(StringComparer.Ordinal);

        var wanted = request.RangeTensors.Concat(request.ChannelMeanTensors.Keys).Distinct(StringComparer.Ordinal)
            .OrderBy(n => n, StringComparer.Ordinal).ToList();
        foreach (var name in wanted)
            if (!graphInputs.Contains(name) && !produced.Contains(name))
                throw new ArgumentException($"Tensor '{name}' is neither a graph input nor produced by a node, so it cannot be calibrated.");
        var outputs = wanted.Where(n => !graphInputs.Contains(n)).ToArray();

        var ranges = request.RangeTensors.Distinct(StringComparer.Ordinal)
            .ToDictionary(n => n, _ => RangeStatistics.Create(request.Estimator, request.EstimatorOptions), StringComparer.Ordinal);
        var means = request.ChannelMeanTensors.ToDictionary(kv => kv.Key, kv => new ChannelMeanStatistic(kv.Value), StringComparer.Ordinal);

        var augmented = ShallowCopy.Of(model);
        var existing = augmented.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in outputs)
            if (existing.Add(name)) augmented.Graph.Output.Add(new ValueInfoProto { Name = name });

        using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_DISABLE_ALL, request.Threads);
        // A batch ORT refuses is retried item by item (and a failing item becomes CalibrationRunFailed with ORT's
        // message), so ORT's own error log line on stderr would only alarm.
        options.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
        using var session = OrtSessions.Create(augmented.ToByteArray(), options, source);
        var binder = ModelInputBinder.Bind(session, data, source);
        using var runOptions = new RunOptions();
        using var stop = cancellationToken.Register(() => runOptions.Terminate = true);

        var run = new BatchRunner(session, runOptions, binder, outputs, ranges, means, cancellationToken);
        int batchSize = binder.CanBatch ? Math.Max(1, request.BatchSize) : 1;
        int done = 0;
        void Report() => progress?.Report(new PotProgress(activity, $"{done} of {items.Count} items", PotProgress.Percent(done, items.Count), ProgressId));

        // The first item runs alone: its output shapes tell whether later batches can be split back into items.
        var first = data.Get(items[0]);
        string probeKey = binder.ShapeKey(first);
        run.Run(new[] { first });
        done = 1;
        Report();
        int next = 1;
        while (next < items.Count)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = new List<DataItem>();
            while (next < items.Count && batch.Count < batchSize)
            {
                var item = data.Get(items[next]);
                // Only items shaped like the probe share a batch; any other item runs on its own.
                if (binder.ShapeKey(item) != probeKey && batchSize > 1)
                {
                    if (batch.Count == 0) { batch.Add(item); next++; }
                    break;
                }
                batch.Add(item);
                next++;
            }
            if (!run.Run(batch))
            {
                // Some tensor mixes the items of a batch (e.g. the batch axis moved): fall back to one item at a time.
                batchSize = 1;
                foreach (var item in batch)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    run.Run(new[] { item });
                }
            }
            done += batch.Count;
            Report();
        }

        return new CalibrationStatistics
        {
            Ranges = ranges.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value.Range, StringComparer.Ordinal),
            ChannelMeans = means,
            Estimator = request.Estimator,
            Items = items.ToArray(),
            BatchSize = batchSize,
            Inferences = run.Inferences,
            StateBytes = ranges.Values.Sum(s => s.StateBytes) + means.Values.Sum(m => m.StateBytes),
            Elapsed = watch.Elapsed,
        };
    }

    /// <summary>Runs one batch and feeds its tensors to the accumulators.</summary>
    private sealed class BatchRunner(InferenceSession session, RunOptions runOptions, ModelInputBinder binder, string[] outputs,
        Dictionary<string, IRangeStatistic> ranges, Dictionary<string, ChannelMeanStatistic> means, CancellationToken cancellationToken)
    {
        private readonly Dictionary<string, long[]> _itemShapes = new(StringComparer.Ordinal);

        public int Inferences { get; private set; }

        /// <returns>False (and nothing added) when an output of a multi-item batch cannot be split into its items.</returns>
        public bool Run(IReadOnlyList<DataItem> batch)
        {
            var inputs = binder.Gather(batch);
            var values = binder.ToOrtValues(inputs);
            try
            {
                IDisposableReadOnlyCollection<OrtValue> results;
                try
                {
                    results = session.Run(runOptions, binder.ModelInputs, values, outputs);
                }
                catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
                {
                    throw new OperationCanceledException(cancellationToken);
                }
                // A graph that hard-codes batch 1 (e.g. Reshape to [1, -1]) behind a dynamic batch axis fails on several
                // items at once: the caller then runs them one at a time.
                catch (OnnxRuntimeException) when (batch.Count > 1)
                {
                    return false;
                }
                catch (OnnxRuntimeException e)
                {
                    throw CalibrationErrors.RunFailed(e, batch[0], inputs, binder.ModelInputs);
                }
                using (results)
                {
                    Inferences++;
                    var shapes = results.Select(r => r.GetTensorTypeAndShape().Shape).ToArray();
                    if (batch.Count == 1)
                    {
                        for (int i = 0; i < outputs.Length; i++) _itemShapes.TryAdd(outputs[i], shapes[i]);
                    }
                    else if (!Splittable(shapes, batch.Count))
                    {
                        return false;
                    }
                    for (int i = 0; i < binder.ModelInputs.Count; i++)
                        if (ranges.ContainsKey(binder.ModelInputs[i]) || means.ContainsKey(binder.ModelInputs[i]))
                            Feed(binder.ModelInputs[i], inputs[i].ToFloats(), inputs[i].Shape, batch.Count);
                    for (int i = 0; i < outputs.Length; i++)
                    {
                        var info = results[i].GetTensorTypeAndShape();
                        if (info.ElementDataType != TensorElementType.Float)
                            throw new PotException("CalibrationTensorType", PotErrorCategory.InvalidData,
                                $"Tensor '{outputs[i]}' holds {info.ElementDataType} values; only float tensors can be calibrated.", outputs[i]);
                        Feed(outputs[i], results[i].GetTensorDataAsSpan<float>(), shapes[i], batch.Count);
                    }
                }
                return true;
            }
            finally
            {
                foreach (var v in values) v.Dispose();
            }
        }

        private bool Splittable(long[][] shapes, int items)
        {
            for (int i = 0; i < outputs.Length; i++)
            {
                if (!_itemShapes.TryGetValue(outputs[i], out var one)) return false;
                var many = shapes[i];
                if (one.Length == 0 || many.Length != one.Length || many[0] != one[0] * items) return false;
                for (int d = 1; d < one.Length; d++) if (many[d] != one[d]) return false;
            }
            return true;
        }

        private void Feed(string tensor, ReadOnlySpan<float> values, long[] shape, int items)
        {
            if (ranges.TryGetValue(tensor, out var range)) range.Add(values, items);
            if (means.TryGetValue(tensor, out var mean)) mean.Add(values, shape, items);
        }
    }
}
