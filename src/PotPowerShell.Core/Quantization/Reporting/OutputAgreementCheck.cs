using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// Runs the FP32 and the INT8 model on a few calibration items and compares their outputs (<see cref="QuantizationCheck"/>).
/// The INT8 model runs at ORT_ENABLE_ALL, with the fused kernels a user gets. When the kept candidate fails the check, a
/// second pass names its worst layers (<see cref="WithWorstLayers"/>): each INT8 layer's output becomes a graph output of
/// both models (which keeps ORT from fusing that layer, so the INT8 side is the unfused QDQ computation, equal to the
/// fused one apart from saturation).
/// </summary>
internal static class OutputAgreementCheck
{
    /// <summary>Calibration items the check runs on (the first ones the calibration used).</summary>
    public const int MaxItems = 8;

    /// <summary>
    /// The FP32 model's float outputs on the check's items: computed once per run and compared with every candidate
    /// a DefaultQuantization checks (plain, smoothed, other ranges, without bias corrections), so that each is measured
    /// against the same original, and a session of the FP32 model is created once (ArcticXs's 90 MB: about 200 ms). The
    /// items are read once too.
    /// </summary>
    public sealed class Reference
    {
        private Reference(DataItem[] items, string[] outputs, (float[] Values, long[] Shape)[][] values, IReadOnlyDictionary<string, string> feeds) =>
            (Items, Outputs, Values, Feeds) = (items, outputs, values, feeds);

        public DataItem[] Items { get; }
        /// <summary>The float graph outputs, or for a model without any, the float tensors its outputs are computed from (<see cref="FloatSources"/>).</summary>
        public string[] Outputs { get; }
        /// <summary>Per item, per output in <see cref="Outputs"/>.</summary>
        internal (float[] Values, long[] Shape)[][] Values { get; }
        /// <summary>For each of <see cref="Outputs"/> that is not a graph output: the outputs computed from it.</summary>
        public IReadOnlyDictionary<string, string> Feeds { get; }

        public static Reference Of(ModelProto floatModel, IDataset data, IReadOnlyList<int> items, int threads, string source, CancellationToken cancellationToken)
        {
            var chosen = items.Take(MaxItems).Select(data.Get).ToArray();
            (floatModel, var feeds) = WithFloatSources(floatModel);
            using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, threads);
            using var fp32 = OrtSessions.Create(floatModel.ToByteArray(), options, source);
            var outputs = floatModel.Graph.Output.Select(o => o.Name).Where(o => fp32.OutputMetadata.TryGetValue(o, out var m) && FloatOutputs.IsFloat(m)).ToArray();
            if (outputs.Length == 0) return new Reference(chosen, outputs, Array.Empty<(float[], long[])[]>(), feeds);
            var binder = ModelInputBinder.Bind(fp32, data, source);
            using var runOptions = new RunOptions();
            using var stop = OrtRun.StopOn(runOptions, cancellationToken);
            var values = chosen.Select(item => Run(fp32, binder, runOptions, new[] { item }, outputs, cancellationToken)).ToArray();
            return new Reference(chosen, outputs, values, feeds);
        }
    }

    /// <summary>
    /// For a model none of whose outputs is float (an ArgMax's labels or class map, ZipMap's sequence of maps,
    /// NonMaxSuppression's indices): the float tensors nearest upstream of its outputs (the ArgMax's scores, the
    /// probabilities, the boxes and scores), each with the outputs computed from it. Graph inputs and weights are not
    /// taken: they are the same in both models.
    /// </summary>
    private static Dictionary<string, string> FloatSources(GraphProto graph, GraphIndex index)
    {
        var found = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var output in graph.Output.Select(o => o.Name))
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var pending = new Queue<string>(new[] { output });
            while (pending.Count > 0)
            {
                string tensor = pending.Dequeue();
                if (!seen.Add(tensor) || index.IsInitializer(tensor) || index.GraphInputs.Contains(tensor)) continue;
                if (tensor != output && index.IsFloat(tensor))
                {
                    if (!found.TryGetValue(tensor, out var outputs)) found[tensor] = outputs = new SortedSet<string>(StringComparer.Ordinal);
                    outputs.Add(output);
                    continue;
                }
                int producer = index.Producer(tensor);
                if (producer >= 0) foreach (var input in index.Node(producer).Input) if (input.Length > 0) pending.Enqueue(input);
            }
        }
        return found.ToDictionary(kv => kv.Key, kv => string.Join(", ", kv.Value.Select(o => $"'{o}'")), StringComparer.Ordinal);
    }

    /// <summary>Compares <paramref name="quantized"/>'s outputs with <paramref name="reference"/>'s.</summary>
    public static QuantizationCheck Run(Reference reference, byte[] quantized, IDataset data, int threads, string source, CancellationToken cancellationToken)
    {
        var agreement = Compare(reference, quantized, data, threads, source, cancellationToken);
        return new QuantizationCheck
        {
            Items = reference.Items.Length,
            ThresholdDb = QuantizationCheck.DefaultThresholdDb,
            Outputs = reference.Outputs.Where(agreement.ContainsKey).Select(o => agreement[o]).ToList(),
        };
    }

    /// <summary>
    /// A failed <paramref name="check"/> of <paramref name="quantized"/> with its worst layers: the per-layer pass compares
    /// each INT8 layer's output with the same tensor of <paramref name="floatModel"/>, the float model it was quantized
    /// from (a smoothed one has its own tensors). Run for the kept candidate only: the pass makes every layer's output a
    /// model output, which on a large model costs more time and memory than the check itself. Both models' layer outputs
    /// of an item are held at once, so they are compared in groups of layers whose outputs fit
    /// <paramref name="budgetBytes"/> (0: <see cref="DefaultBudget"/>), each group running both models again.
    /// </summary>
    public static QuantizationCheck WithWorstLayers(QuantizationCheck check, Reference reference, ModelProto floatModel, byte[] quantized,
        IReadOnlyList<QuantizableLayer> layers, IDataset data, int threads, string source, long budgetBytes, CancellationToken cancellationToken)
    {
        if (check.Passed || layers.Count == 0) return check;

        var tensors = layers.Select(l => l.Output).Distinct(StringComparer.Ordinal).ToArray();
        var perLayer = Compare(WithOutputs(floatModel, tensors).ToByteArray(), WithOutputs(ModelProto.Parser.ParseFrom(quantized), tensors).ToByteArray(),
            tensors, data, reference.Items, threads, source, budgetBytes > 0 ? budgetBytes : DefaultBudget(), cancellationToken);
        var worst = layers.Where(l => perLayer.ContainsKey(l.Output)).Select(l => new LayerAgreement(l.Node, perLayer[l.Output].SqnrDb))
            .OrderBy(l => l.SqnrDb).ThenBy(l => l.Node, StringComparer.Ordinal).Take(5).ToList();
        return check with { WorstLayers = worst };
    }

    /// <summary>The candidate's outputs item by item against the reference's, accumulated as in <see cref="Sums"/>.</summary>
    private static Dictionary<string, OutputAgreement> Compare(Reference reference, byte[] candidate, IDataset data, int threads, string source,
        CancellationToken cancellationToken)
    {
        if (reference.Outputs.Length == 0) return new Dictionary<string, OutputAgreement>();
        if (reference.Feeds.Count > 0) candidate = WithOutputs(ModelProto.Parser.ParseFrom(candidate), reference.Feeds.Keys).ToByteArray();
        using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, threads);
        using var int8 = OrtSessions.Create(candidate, options, source);
        var sums = reference.Outputs.ToDictionary(o => o, _ => new Sums(), StringComparer.Ordinal);
        var binder = ModelInputBinder.Bind(int8, data, source);
        using var runOptions = new RunOptions();
        using var stop = OrtRun.StopOn(runOptions, cancellationToken);
        for (int i = 0; i < reference.Items.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var a = reference.Values[i];
            using var b = RunInPlace(int8, binder, runOptions, new[] { reference.Items[i] }, reference.Outputs, cancellationToken);
            for (int k = 0; k < reference.Outputs.Length; k++) sums[reference.Outputs[k]].Add(a[k].Values, FloatOutputs.AsSpan(b[k]), a[k].Shape);
        }
        return sums.ToDictionary(kv => kv.Key, kv => kv.Value.Agreement(kv.Key) with { Feeds = reference.Feeds.GetValueOrDefault(kv.Key) }, StringComparer.Ordinal);
    }

    /// <summary>
    /// <paramref name="model"/> with its <see cref="FloatSources"/> as outputs, when it declares none of its outputs float
    /// (an output of unknown type counts as float: ONNX Runtime then decides), and those sources with the outputs they
    /// feed; only sources in <paramref name="within"/> when given. Otherwise the model itself and no sources.
    /// </summary>
    internal static (ModelProto Model, Dictionary<string, string> Feeds) WithFloatSources(ModelProto model, IReadOnlySet<string>? within = null)
    {
        var index = new GraphIndex(model.Graph);
        bool floatOutput = model.Graph.Output.Any(o => o.Type?.ValueCase is null or TypeProto.ValueOneofCase.TensorType
            && index.ElementType(o.Name) is 0 or (int)TensorProto.Types.DataType.Float or (int)TensorProto.Types.DataType.Float16);
        var feeds = floatOutput ? new Dictionary<string, string>(StringComparer.Ordinal)
            : FloatSources(model.Graph, index).Where(kv => within == null || within.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return (feeds.Count == 0 ? model : WithOutputs(model, feeds.Keys), feeds);
    }

    internal static ModelProto WithOutputs(ModelProto model, IEnumerable<string> tensors)
    {
        var copy = ShallowCopy.Of(model);
        var existing = copy.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var t in tensors)
            if (existing.Add(t)) copy.Graph.Output.Add(new ValueInfoProto { Name = t });
        return copy;
    }

    /// <summary>
    /// A quarter of the memory the process may use (at least 256 MB) for both models' layer outputs of one item. An FP16
    /// ISNet at 1024x1024 holds about 4.5 GB of them per model: compared all at once they took the run to 9 GB.
    /// </summary>
    public static long DefaultBudget() => Math.Max(256L << 20, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4);

    /// <summary>
    /// Consecutive groups of outputs (indices) whose bytes add up to at most <paramref name="budget"/> each; an output
    /// larger than it is a group of its own.
    /// </summary>
    internal static List<int[]> Groups(IReadOnlyList<long> bytes, long budget)
    {
        var groups = new List<int[]>();
        var current = new List<int>();
        long held = 0;
        for (int i = 0; i < bytes.Count; i++)
        {
            if (current.Count > 0 && held + bytes[i] > budget)
            {
                groups.Add(current.ToArray());
                current.Clear();
                held = 0;
            }
            current.Add(i);
            held += bytes[i];
        }
        if (current.Count > 0) groups.Add(current.ToArray());
        return groups;
    }

    /// <summary>
    /// Runs both models item by item and accumulates, per float output, the sums SQNR, cosine and top-1 need (the
    /// per-layer pass: its tensors are too many to keep). Read in place from ONNX Runtime's outputs: copies of every
    /// layer's output of both models held about half of the 11 GB an FP16 ISNet at 1024x1024 took. The outputs' sizes
    /// come from the FP32 model's run of the first item; groups of them that fit <paramref name="budget"/> for both
    /// models are compared one after the other (<see cref="Groups"/>). The sums of an output do not depend on the others.
    /// </summary>
    private static Dictionary<string, OutputAgreement> Compare(byte[] reference, byte[] candidate, string[] outputs, IDataset data, DataItem[] items,
        int threads, string source, long budget, CancellationToken cancellationToken)
    {
        using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, threads);
        // Without ONNX Runtime's arena each run's outputs go back to the system when they are disposed: an arena keeps
        // the largest run's memory for the session's life, so the groups would not hold less than all outputs at once.
        options.EnableCpuMemArena = false;
        options.EnableMemoryPattern = false;
        using var fp32 = OrtSessions.Create(reference, options, source);
        using var int8 = OrtSessions.Create(candidate, options, source);
        var floatOutputs = outputs.Where(o => fp32.OutputMetadata.TryGetValue(o, out var m) && FloatOutputs.IsFloat(m)).ToArray();
        var sums = floatOutputs.ToDictionary(o => o, _ => new Sums(), StringComparer.Ordinal);
        if (floatOutputs.Length == 0) return new Dictionary<string, OutputAgreement>();
        var fp32Binder = ModelInputBinder.Bind(fp32, data, source);
        var int8Binder = ModelInputBinder.Bind(int8, data, source);
        using var runOptions = new RunOptions();
        using var stop = OrtRun.StopOn(runOptions, cancellationToken);
        long[] bytes;
        using (var first = RunInPlace(fp32, fp32Binder, runOptions, new[] { items[0] }, floatOutputs, cancellationToken))
            bytes = first.Select(v => 4 * v.GetTensorTypeAndShape().ElementCount).ToArray();
        foreach (var group in Groups(bytes, budget / 2))
        {
            var names = group.Select(i => floatOutputs[i]).ToArray();
            foreach (var read in items)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var item = new[] { read };
                using var a = RunInPlace(fp32, fp32Binder, runOptions, item, names, cancellationToken);
                using var b = RunInPlace(int8, int8Binder, runOptions, item, names, cancellationToken);
                for (int k = 0; k < names.Length; k++) sums[names[k]].Add(FloatOutputs.AsSpan(a[k]), FloatOutputs.AsSpan(b[k]), a[k].GetTensorTypeAndShape().Shape);
            }
        }
        return sums.ToDictionary(kv => kv.Key, kv => kv.Value.Agreement(kv.Key), StringComparer.Ordinal);
    }

    private static (float[] Values, long[] Shape)[] Run(InferenceSession session, ModelInputBinder binder, RunOptions runOptions, DataItem[] item, string[] outputs,
        CancellationToken cancellationToken)
    {
        using var results = RunInPlace(session, binder, runOptions, item, outputs, cancellationToken);
        return results.Select(r => (FloatOutputs.ToArray(r), r.GetTensorTypeAndShape().Shape)).ToArray();
    }

    /// <summary>ONNX Runtime's outputs of one item, for the caller to read and dispose.</summary>
    private static IDisposableReadOnlyCollection<OrtValue> RunInPlace(InferenceSession session, ModelInputBinder binder, RunOptions runOptions, DataItem[] item,
        string[] outputs, CancellationToken cancellationToken)
    {
        var values = binder.Bind(item);
        try
        {
            return OrtRun.Run(session, runOptions, binder.ModelInputs, values, outputs, cancellationToken);
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    private sealed class Sums
    {
        private double _signal, _noise, _dot, _candidate;
        private int _vectors, _agree;
        private bool _classScores = true;

        public void Add(ReadOnlySpan<float> fp32, ReadOnlySpan<float> int8, long[] shape)
        {
            for (int i = 0; i < fp32.Length; i++)
            {
                double f = fp32[i], q = int8[i];
                // A non-finite value on either side counts as complete disagreement rather than poisoning the sums.
                if (!double.IsFinite(f) || !double.IsFinite(q)) { _noise = double.PositiveInfinity; continue; }
                _signal += f * f;
                _noise += (q - f) * (q - f);
                _dot += f * q;
                _candidate += q * q;
            }
            // Class scores: one vector of at least two scores per item ([1, C] or [C]).
            _classScores &= shape.Length >= 1 && shape[^1] >= 2 && shape.Take(shape.Length - 1).All(d => d == 1);
            if (!_classScores) return;
            _vectors++;
            if (ArgMax(fp32) == ArgMax(int8)) _agree++;
        }

        private static int ArgMax(ReadOnlySpan<float> v)
        {
            int best = 0;
            for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
            return best;
        }

        public OutputAgreement Agreement(string output)
        {
            double sqnr = _noise == 0 ? QuantizationCheck.IdenticalDb
                : double.IsInfinity(_noise) || _signal == 0 ? -QuantizationCheck.IdenticalDb
                : Math.Min(QuantizationCheck.IdenticalDb, 10 * Math.Log10(_signal / _noise));
            double cosine = _signal == 0 || _candidate == 0 ? (_signal == _candidate ? 1 : 0) : _dot / Math.Sqrt(_signal * _candidate);
            return new OutputAgreement
            {
                Output = output,
                SqnrDb = Math.Round(sqnr, 2),
                Cosine = double.IsFinite(cosine) ? Math.Round(cosine, 6) : 0,
                Top1Agreement = _classScores && _vectors > 0 ? (double)_agree / _vectors : null,
            };
        }
    }
}
