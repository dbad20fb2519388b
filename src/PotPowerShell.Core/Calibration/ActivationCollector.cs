using System.Diagnostics;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Calibration;

/// <summary>
/// Runs a model over calibration items with ONNX Runtime and streams every requested tensor into its accumulators.
/// The tensors become extra graph outputs of a shallow copy of the model (name only: ORT infers the type), so no
/// optimization can fuse them away (see <see cref="CalibrationRequest.Graph"/>). Outputs are read in place, from buffers
/// that ORT writes again batch after batch (<see cref="ReusedOutputs"/>), so memory does not grow with the number of
/// items.
/// </summary>
/// <remarks>
/// Batching: when the model's batch axis is dynamic, items run in batches of at least
/// <see cref="CalibrationRequest.BatchSize"/>, and of more when the requested tensors of a batch fit in
/// <see cref="CalibrationRequest.BatchMemoryBytes"/>. Every statistic is taken item by item, in item order, so the
/// result equals the item-by-item result bit for bit as long as ONNX Runtime computes an item the same way alone and in
/// a batch (its CPU kernels do on the models we test; see CalibrationBatchingTests).
/// </remarks>
public static class ActivationCollector
{
    /// <summary>Progress record id of the calibration bar (a child of the quantization bar, id 0).</summary>
    public const int ProgressId = 1;

    /// <summary>Default memory for the requested tensors of one automatic batch.</summary>
    public const long DefaultBatchMemoryBytes = 1L << 20;

    /// <summary>Below this many values in a batch's tensors, one thread gives them to their statistics (starting threads would cost more).</summary>
    internal const long ParallelElements = 1 << 16;

    /// <summary>Threads for the statistics: ONNX Runtime's intra-op threads (its default, 0, is one per core).</summary>
    internal static int StatisticsThreads(int threads) => threads > 0 ? threads : Environment.ProcessorCount;

    public static CalibrationStatistics Collect(ModelProto model, IDataset data, IReadOnlyList<int> items, CalibrationRequest request,
        IProgress<PotProgress>? progress, CancellationToken cancellationToken, string source = "model", string activity = "Calibration")
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (items.Count == 0)
            throw new PotException("CalibrationDataEmpty", PotErrorCategory.InvalidData,
                $"The calibration data '{data.Source}' holds no items.", data.Source);
        var watch = Stopwatch.StartNew();
        var graphInputs = ModelInspector.DataInputs(model.Graph).Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var produced = model.Graph.Node.SelectMany(n => n.Output).Where(o => o.Length > 0).ToHashSet(StringComparer.Ordinal);

        var sinks = new TensorSinks(model, request);
        foreach (var name in sinks.Wanted)
            if (!graphInputs.Contains(name) && !produced.Contains(name))
                throw new ArgumentException($"Tensor '{name}' is neither a graph input nor produced by a node, so it cannot be calibrated.");
        var outputs = sinks.Fetched.Where(n => !graphInputs.Contains(n)).ToArray();

        var augmented = ShallowCopy.Of(model);
        var existing = augmented.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in outputs)
            if (existing.Add(name)) augmented.Graph.Output.Add(new ValueInfoProto { Name = name });

        using var options = OrtSessions.Options(Level(request.Graph), request.Threads);
        // A batch ORT refuses is retried item by item (and a failing item becomes CalibrationRunFailed with ORT's
        // message), so ORT's own error log line on stderr would only alarm.
        options.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
        using var session = OrtSessions.Create(augmented.ToByteArray(), options, source);
        var binder = ModelInputBinder.Bind(session, data, source);
        var sessionTime = watch.Elapsed;
        using var runOptions = new RunOptions();
        using var stop = OrtRun.StopOn(runOptions, cancellationToken);

        // ORT refuses a run without outputs; when every requested tensor is a graph input, fetch the first model output
        // and ignore it.
        using var reused = new ReusedOutputs(session, runOptions, binder.ModelInputs,
            outputs.Length == 0 ? session.OutputMetadata.Keys.Take(1).ToArray() : outputs);
        var run = new BatchRunner(reused, binder, outputs, sinks, StatisticsThreads(request.Threads), cancellationToken);
        // Batches of at least stat_batch_size, and of more when the requested tensors of one fit in the memory budget.
        int BatchSize() => !binder.CanBatch ? 1
            : request.BatchMemoryBytes > 0 ? Math.Max(Math.Max(1, request.BatchSize), BatchPlan.Automatic(run.ItemBytes, request.BatchMemoryBytes))
            : Math.Max(1, request.BatchSize);
        bool mixed = BatchPlan.Run(data, items, binder, BatchSize, (_, batch) => run.Run(batch),
            done => progress?.Report(new PotProgress(activity, $"{done} of {items.Count} items", PotProgress.Percent(done, items.Count), ProgressId)),
            cancellationToken);

        if (request.SkipNonFiniteValues) sinks.CheckSomethingFinite();
        long rangeStart = Stopwatch.GetTimestamp();
        var ranges = sinks.AllRanges();
        var choices = sinks.AllChoices();
        var rangeTime = Stopwatch.GetElapsedTime(rangeStart);
        return new CalibrationStatistics
        {
            Ranges = ranges[sinks.PrimaryKey],
            RangesByEstimator = ranges,
            RangeChoices = choices.GetValueOrDefault(sinks.PrimaryKey) ?? new Dictionary<string, string>(StringComparer.Ordinal),
            RangeChoicesByEstimator = choices,
            ChannelMeans = sinks.Means.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal),
            ChannelAbsMax = sinks.AbsMax.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal),
            Estimator = request.Estimator,
            Items = items.ToArray(),
            BatchSize = mixed ? 1 : run.LargestBatch,
            Inferences = run.Inferences,
            StateBytes = sinks.StateBytes,
            Elapsed = watch.Elapsed,
            SessionTime = sessionTime,
            InferenceTime = Stopwatch.GetElapsedTime(0, run.InferenceTicks),
            StatisticsTime = Stopwatch.GetElapsedTime(0, run.StatisticsTicks),
            RangeTime = rangeTime,
            Warnings = sinks.NonFinite.Warning() is { } warning ? new[] { warning } : Array.Empty<string>(),
        };
    }

    internal static GraphOptimizationLevel Level(CalibrationGraph graph) => graph switch
    {
        CalibrationGraph.Unoptimized => GraphOptimizationLevel.ORT_DISABLE_ALL,
        CalibrationGraph.Extended => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        CalibrationGraph.All => GraphOptimizationLevel.ORT_ENABLE_ALL,
        _ => throw new ArgumentOutOfRangeException(nameof(graph), graph, "Unknown calibration graph level."),
    };

    /// <summary>Runs one batch and feeds its tensors to the accumulators.</summary>
    private sealed class BatchRunner(ReusedOutputs session, ModelInputBinder binder, string[] outputs, TensorSinks sinks, int threads,
        CancellationToken cancellationToken)
    {
        private readonly Dictionary<string, long[]> _itemShapes = new(StringComparer.Ordinal);
        private readonly bool[] _inputWanted = binder.ModelInputs.Select(i => sinks.Fetched.Contains(i, StringComparer.Ordinal)).ToArray();

        public int Inferences { get; private set; }

        /// <summary>Bytes of the inputs and requested outputs of one item (known after the first single-item run).</summary>
        public long ItemBytes { get; private set; }

        /// <summary>The most items whose statistics one inference gave.</summary>
        public int LargestBatch { get; private set; }

        public long InferenceTicks { get; private set; }
        public long StatisticsTicks { get; private set; }

        /// <returns>False (and nothing added) when an output of a multi-item batch cannot be split into its items.</returns>
        public bool Run(IReadOnlyList<DataItem> batch)
        {
            long start = Stopwatch.GetTimestamp();
            var values = binder.Bind(batch);
            var indices = batch.Select(b => b.Index).ToArray();
            try
            {
                // Model inputs that are not calibrated themselves are still checked, so that bad data is named as such
                // rather than as the first layer it overflows.
                for (int i = 0; i < values.Length; i++)
                    if (!_inputWanted[i] && values[i].GetTensorTypeAndShape().ElementDataType == TensorElementType.Float)
                        sinks.NonFinite.Check(binder.ModelInputs[i], values[i].GetTensorDataAsSpan<float>(), batch.Count, indices);
                IReadOnlyList<OrtValue> results;
                try
                {
                    results = session.Run(values, cancellationToken);
                }
                // A graph that hard-codes batch 1 (e.g. Reshape to [1, -1]) behind a dynamic batch axis fails on several
                // items at once: the caller then runs them one at a time.
                catch (OnnxRuntimeException) when (batch.Count > 1)
                {
                    return false;
                }
                catch (OnnxRuntimeException e)
                {
                    throw CalibrationErrors.RunFailed(e, batch[0], binder.Gather(batch), binder.ModelInputs);
                }
                // The outputs belong to the session runner, which reuses their buffers: nothing to release here.
                Inferences++;
                long ran = Stopwatch.GetTimestamp();
                InferenceTicks += ran - start;
                var infos = results.Select(r => r.GetTensorTypeAndShape()).ToArray();
                if (batch.Count == 1)
                {
                    for (int i = 0; i < outputs.Length; i++) _itemShapes.TryAdd(outputs[i], infos[i].Shape);
                    if (ItemBytes == 0)
                        ItemBytes = infos.Concat(values.Select(v => v.GetTensorTypeAndShape())).Sum(t => t.ElementCount * sizeof(float));
                }
                else if (!Splittable(infos, batch.Count))
                {
                    return false;
                }
                var feeds = new List<(string Tensor, OrtValue Value, OrtTensorTypeAndShapeInfo Info)>(outputs.Length + values.Length);
                for (int i = 0; i < values.Length; i++)
                    if (_inputWanted[i]) feeds.Add((binder.ModelInputs[i], values[i], values[i].GetTensorTypeAndShape()));
                for (int i = 0; i < outputs.Length; i++) feeds.Add((outputs[i], results[i], infos[i]));
                Feed(feeds, indices);
                StatisticsTicks += Stopwatch.GetTimestamp() - ran;
                LargestBatch = Math.Max(LargestBatch, batch.Count);
                return true;
            }
            finally
            {
                foreach (var v in values) v.Dispose();
            }
        }

        private bool Splittable(OrtTensorTypeAndShapeInfo[] infos, int items)
        {
            for (int i = 0; i < outputs.Length; i++)
            {
                if (!_itemShapes.TryGetValue(outputs[i], out var one)) return false;
                var many = infos[i].Shape;
                if (one.Length == 0 || many.Length != one.Length || many[0] != one[0] * items) return false;
                for (int d = 1; d < one.Length; d++) if (many[d] != one[d]) return false;
            }
            return true;
        }

        /// <summary>
        /// Gives the tensors of one batch to their statistics. Their types and non-finite values are checked first, in
        /// order, so that an error names the same tensor whatever the threads; then each tensor's statistics, which are
        /// its own (<see cref="TensorSinks.Add"/>), take its values side by side with the others', largest tensor
        /// first, on up to <see cref="CalibrationRequest.Threads"/> threads: ONNX Runtime waits for them, so the
        /// threads it computed with are free (the statistics took about a third of calibration's time on one thread).
        /// Every statistic sees its items in the same order as on one thread, so the result is the same bit for bit.
        /// </summary>
        private void Feed(List<(string Tensor, OrtValue Value, OrtTensorTypeAndShapeInfo Info)> feeds, int[] items)
        {
            var finite = new bool[feeds.Count];
            long total = 0;
            for (int k = 0; k < feeds.Count; k++)
            {
                var (tensor, value, info) = feeds[k];
                if (info.ElementDataType != TensorElementType.Float)
                    throw new PotException("CalibrationTensorType", PotErrorCategory.InvalidData,
                        $"Tensor '{tensor}' holds {info.ElementDataType} values; only float tensors can be calibrated.", tensor);
                // Read in place from ONNX Runtime's buffer: no copy.
                finite[k] = sinks.NonFinite.Check(tensor, value.GetTensorDataAsSpan<float>(), items.Length, items);
                total += info.ElementCount;
            }
            void Add(int k) => sinks.Add(feeds[k].Tensor, feeds[k].Value.GetTensorDataAsSpan<float>(), feeds[k].Info.Shape, items.Length, finite[k]);
            int workers = Math.Min(threads, feeds.Count);
            if (workers <= 1 || total < ParallelElements)
            {
                for (int k = 0; k < feeds.Count; k++) Add(k);
                return;
            }
            var order = Enumerable.Range(0, feeds.Count).OrderByDescending(k => feeds[k].Info.ElementCount).ToArray();
            var failures = new Exception?[feeds.Count];
            int next = -1;
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellationToken }, _ =>
            {
                for (int k; (k = Interlocked.Increment(ref next)) < order.Length;)
                {
                    try
                    {
                        Add(order[k]);
                    }
                    catch (Exception e)
                    {
                        failures[order[k]] = e;
                    }
                }
            });
            // A statistic that refuses its values (too many items for hl_estimator) refuses every tensor's alike: the
            // error is the first tensor's, as on one thread.
            if (failures.FirstOrDefault(e => e != null) is { } failure) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }
}
