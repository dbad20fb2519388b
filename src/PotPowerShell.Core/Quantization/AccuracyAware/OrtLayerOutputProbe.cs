using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// The instrumented pass on ONNX Runtime: the FP32 model and the candidate get the tensors of interest as extra graph
/// outputs and run on the same inputs, in batches when the batch axis is dynamic. Sessions use ORT_DISABLE_ALL so every exposed tensor is computed
/// as the graph states it (Q/DQ emulated in float, as ORT's own qdq_loss_debug does).
/// </summary>
public sealed class OrtLayerOutputProbe(IDataset data, int threads = 0) : ILayerOutputProbe
{
    private const string ShadowPrefix = "__pot_shadow/";

    public IReadOnlyDictionary<string, double[]> Compare(byte[] reference, byte[] candidate, IReadOnlyList<string> tensors, IReadOnlyList<int> items, CancellationToken cancellationToken)
    {
        var referenceModel = ModelProto.Parser.ParseFrom(reference);
        var candidateModel = ModelProto.Parser.ParseFrom(candidate);
        var shared = tensors.Where(t => Produces(referenceModel, t) && Produces(candidateModel, t)).Distinct(StringComparer.Ordinal).ToList();
        var errors = shared.ToDictionary(t => t, _ => new double[items.Count], StringComparer.Ordinal);
        if (shared.Count == 0) return errors;
        RunPair(referenceModel, shared, candidateModel, shared, items, cancellationToken, (k, r, c) =>
        {
            for (int t = 0; t < shared.Count; t++) errors[shared[t]][k] = Nmse(r(t), c(t));
        });
        return errors;
    }

    /// <summary>
    /// Accumulated error: each layer's output in the candidate against the FP32 model. Local error: next to every
    /// quantized layer the candidate gets a float copy of it (original weights and bias) reading the same input
    /// tensors, and the layer's output is compared with its copy's, so the error arriving from upstream cancels out.
    /// Both come from one run of each model per item.
    /// </summary>
    public IReadOnlyDictionary<string, LayerError> MeasureLayers(byte[] reference, byte[] candidate, ModelProto floatModel, IReadOnlyList<QuantizableLayer> layers,
        IReadOnlyList<int> items, CancellationToken cancellationToken)
    {
        var referenceModel = ModelProto.Parser.ParseFrom(reference);
        var candidateModel = ModelProto.Parser.ParseFrom(candidate);
        var measured = layers.Where(l => Produces(referenceModel, l.Output) && Produces(candidateModel, l.Output)).ToList();
        var shadows = AddShadows(candidateModel, floatModel, measured);
        var referenceOutputs = measured.Select(l => l.Output).Distinct(StringComparer.Ordinal).ToList();
        var candidateOutputs = referenceOutputs.Concat(shadows.Values).Distinct(StringComparer.Ordinal).ToList();
        var accumulated = measured.ToDictionary(l => l.Node, _ => new double[items.Count], StringComparer.Ordinal);
        var local = measured.ToDictionary(l => l.Node, _ => new double[items.Count], StringComparer.Ordinal);
        if (measured.Count > 0)
        {
            var referenceIndex = Index(referenceOutputs);
            var candidateIndex = Index(candidateOutputs);
            RunPair(referenceModel, referenceOutputs, candidateModel, candidateOutputs, items, cancellationToken, (k, r, c) =>
            {
                foreach (var layer in measured)
                {
                    var output = c(candidateIndex[layer.Output]);
                    accumulated[layer.Node][k] = Nmse(r(referenceIndex[layer.Output]), output);
                    local[layer.Node][k] = shadows.TryGetValue(layer.Node, out var shadow) ? Nmse(c(candidateIndex[shadow]), output) : double.NaN;
                }
            });
        }
        return measured.ToDictionary(l => l.Node, l => new LayerError(Mean(accumulated[l.Node]), Mean(local[l.Node])), StringComparer.Ordinal);
    }

    /// <summary>
    /// Appends a float copy of each layer from the float model (the weighted node, and the bias Add of a MatMul that has
    /// one; initializers copied under new names) that reads the candidate's tensors of the same names. The copies go at
    /// the end: everything they read is produced before them, so the order stays topological. Returns layer -> the
    /// copy's output (the counterpart of <see cref="QuantizableLayer.Output"/>).
    /// </summary>
    private static Dictionary<string, string> AddShadows(ModelProto candidate, ModelProto floatModel, IReadOnlyList<QuantizableLayer> layers)
    {
        var available = new HashSet<string>(candidate.Graph.Node.SelectMany(n => n.Output).Concat(candidate.Graph.Input.Select(i => i.Name)), StringComparer.Ordinal);
        var nodes = floatModel.Graph.Node.Where(n => n.Name.Length > 0).ToDictionary(n => n.Name, StringComparer.Ordinal);
        var initializers = floatModel.Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var copied = new HashSet<string>(StringComparer.Ordinal);
        var shadows = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var layer in layers)
        {
            if (!nodes.TryGetValue(layer.Node, out var node) || node.Output.Count == 0) continue;
            var chain = new List<NodeProto> { node };
            if (layer.BiasNode != null && nodes.TryGetValue(layer.BiasNode, out var bias)) chain.Add(bias);
            if (chain[^1].Output[0] != layer.Output) continue;
            var inside = new HashSet<string>(chain.SelectMany(n => n.Output), StringComparer.Ordinal);
            var copies = new List<NodeProto>();
            bool readable = true;
            foreach (var original in chain)
            {
                var shadow = original.Clone();
                shadow.Name = ShadowPrefix + original.Name;
                for (int i = 0; i < shadow.Input.Count && readable; i++)
                {
                    string input = shadow.Input[i];
                    if (input.Length == 0) continue;
                    if (inside.Contains(input)) shadow.Input[i] = ShadowPrefix + input;
                    else if (initializers.TryGetValue(input, out var initializer))
                    {
                        shadow.Input[i] = ShadowPrefix + input;
                        if (copied.Add(input))
                        {
                            var t = initializer.Clone();
                            t.Name = ShadowPrefix + input;
                            candidate.Graph.Initializer.Add(t);
                        }
                    }
                    else readable = available.Contains(input); // a tensor the candidate renamed cannot be compared fairly
                }
                for (int o = 0; o < shadow.Output.Count; o++) shadow.Output[o] = ShadowPrefix + shadow.Output[o];
                copies.Add(shadow);
            }
            if (!readable) continue;
            candidate.Graph.Node.AddRange(copies);
            shadows[layer.Node] = ShadowPrefix + layer.Output;
        }
        return shadows;
    }

    /// <summary>One item's values of the i-th exposed tensor (a row of a batched output, read in place).</summary>
    private delegate ReadOnlySpan<float> Row(int output);

    /// <summary>
    /// Runs both models on the items by the one batch plan (<see cref="BatchPlan"/>; batches fit in
    /// <see cref="BatchMemoryBytes"/>); <paramref name="compare"/> gets the item position and each model's i-th output
    /// for that item. Both sessions bind the data by the one rule of <see cref="InputBinding"/>.
    /// </summary>
    private void RunPair(ModelProto referenceModel, IReadOnlyList<string> referenceOutputs, ModelProto candidateModel, IReadOnlyList<string> candidateOutputs,
        IReadOnlyList<int> items, CancellationToken cancellationToken, Action<int, Row, Row> compare)
    {
        using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_DISABLE_ALL, threads);
        // A refused batch is retried item by item, so ORT's own error line on stderr would only alarm.
        options.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
        const string referenceSource = "FP32 model (output-error pass)", candidateSource = "quantized model (output-error pass)";
        using var referenceSession = OrtSessions.Create(Expose(referenceModel, referenceOutputs), options, referenceSource);
        using var candidateSession = OrtSessions.Create(Expose(candidateModel, candidateOutputs), options, candidateSource);
        using var runOptions = new RunOptions();
        using var registration = OrtRun.StopOn(runOptions, cancellationToken);
        var referenceBinder = ModelInputBinder.Bind(referenceSession, data, referenceSource);
        var candidateBinder = ModelInputBinder.Bind(candidateSession, data, candidateSource);
        var pair = new PairRunner(new(referenceSession, referenceBinder, referenceOutputs), new(candidateSession, candidateBinder, candidateOutputs), runOptions, cancellationToken);
        bool batchable = referenceBinder.CanBatch && candidateBinder.CanBatch;
        LargestBatch = 0;
        BatchPlan.Run(data, items, referenceBinder, () => batchable ? BatchPlan.Automatic(pair.ItemBytes, BatchMemoryBytes) : 1,
            (start, batch) => pair.Run(batch, (k, r, c) => compare(start + k, r, c)), null, cancellationToken);
        LargestBatch = Math.Max(1, pair.LargestBatch);
    }

    /// <summary>Memory for the exposed tensors of one batch of both models; the batch holds 1 to 64 items.</summary>
    public long BatchMemoryBytes { get; init; } = 4L << 20;

    /// <summary>The most items one run of the last pass held (1 when it ran item by item).</summary>
    public int LargestBatch { get; private set; }

    private sealed record Side(InferenceSession Session, ModelInputBinder Binder, IReadOnlyList<string> Outputs);

    /// <summary>Runs one batch through both sessions and hands each item's rows to the comparison.</summary>
    private sealed class PairRunner(Side reference, Side candidate, RunOptions runOptions, CancellationToken cancellationToken)
    {
        private long[][]? _referenceShapes;
        private long[][]? _candidateShapes;

        /// <summary>Bytes of both models' exposed tensors for one item (known after the first single-item run).</summary>
        public long ItemBytes { get; private set; }

        public int LargestBatch { get; private set; }

        /// <returns>False (and nothing compared) when a batch of several items fails or does not split into items.</returns>
        public bool Run(IReadOnlyList<DataItem> batch, Action<int, Row, Row> compare)
        {
            IDisposableReadOnlyCollection<OrtValue> r, c;
            try
            {
                r = Run(reference, batch);
            }
            catch (OnnxRuntimeException) when (batch.Count > 1) { return false; }
            using (r)
            {
                try
                {
                    c = Run(candidate, batch);
                }
                catch (OnnxRuntimeException) when (batch.Count > 1) { return false; }
                using (c)
                {
                    var referenceShapes = r.Select(v => v.GetTensorTypeAndShape().Shape).ToArray();
                    var candidateShapes = c.Select(v => v.GetTensorTypeAndShape().Shape).ToArray();
                    if (batch.Count == 1)
                    {
                        if (_referenceShapes == null)
                        {
                            _referenceShapes = referenceShapes;
                            _candidateShapes = candidateShapes;
                            ItemBytes = referenceShapes.Concat(candidateShapes).Sum(s => s.Aggregate(1L, (a, d) => a * d)) * sizeof(float);
                        }
                    }
                    else if (!Splits(referenceShapes, _referenceShapes, batch.Count) || !Splits(candidateShapes, _candidateShapes, batch.Count))
                    {
                        return false;
                    }
                    LargestBatch = Math.Max(LargestBatch, batch.Count);
                    for (int k = 0; k < batch.Count; k++)
                    {
                        int item = k, items = batch.Count;
                        compare(k, i => RowOf(r[i], item, items), i => RowOf(c[i], item, items));
                    }
                }
            }
            return true;
        }

        private IDisposableReadOnlyCollection<OrtValue> Run(Side side, IReadOnlyList<DataItem> batch)
        {
            var values = side.Binder.Bind(batch);
            try
            {
                return OrtRun.Run(side.Session, runOptions, side.Binder.ModelInputs, values, side.Outputs, cancellationToken);
            }
            finally
            {
                foreach (var v in values) v.Dispose();
            }
        }

    private static ReadOnlySpan<float> RowOf(OrtValue value, int item, int items)
        {
            var all = value.GetTensorDataAsSpan<float>();
            int length = all.Length / items;
            return all.Slice(item * length, length);
        }

        /// <summary>True when each output is the single-item output stacked <paramref name="items"/> times along the first axis.</summary>
        private static bool Splits(long[][] batch, long[][]? single, int items)
        {
            if (single == null) return false;
            for (int o = 0; o < batch.Length; o++)
            {
                var one = single[o];
                var many = batch[o];
                if (one.Length == 0 || many.Length != one.Length || many[0] != one[0] * items) return false;
                for (int d = 1; d < one.Length; d++) if (many[d] != one[d]) return false;
            }
            return true;
        }
    }

    private static Dictionary<string, int> Index(IReadOnlyList<string> names) =>
        names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i, StringComparer.Ordinal);

    private static double Mean(double[] values)
    {
        double sum = 0;
        int n = 0;
        foreach (var v in values)
            if (!double.IsNaN(v)) { sum += v; n++; }
        return n == 0 ? double.NaN : sum / n;
    }

    /// <summary>||c - r||² / ||r||² (||c||² when the reference is all zeros, so identical zero tensors score 0).</summary>
    public static double Nmse(ReadOnlySpan<float> reference, ReadOnlySpan<float> candidate)
    {
        if (reference.Length != candidate.Length) return double.NaN;
        double err = 0, norm = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double d = (double)candidate[i] - reference[i];
            err += d * d;
            norm += (double)reference[i] * reference[i];
        }
        return norm > 0 ? err / norm : err;
    }

    /// <summary>True when a node of the model produces <paramref name="tensor"/>.</summary>
    private static bool Produces(ModelProto model, string tensor) => model.Graph.Node.Any(n => n.Output.Contains(tensor));

    private static byte[] Expose(ModelProto model, IReadOnlyList<string> tensors)
    {
        var copy = model.Clone();
        var existing = new HashSet<string>(copy.Graph.Output.Select(o => o.Name), StringComparer.Ordinal);
        foreach (var t in tensors)
            if (existing.Add(t))
                copy.Graph.Output.Add(GraphBuilder.ValueInfo(t, TensorProto.Types.DataType.Float, null));
        return copy.ToByteArray();
    }
}
