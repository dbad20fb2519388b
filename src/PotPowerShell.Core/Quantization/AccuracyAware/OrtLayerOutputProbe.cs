using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// The instrumented pass on ONNX Runtime: the FP32 model and the candidate get the tensors of interest as extra graph
/// outputs and run item by item on the same inputs. Sessions use ORT_DISABLE_ALL so every exposed tensor is computed
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

    /// <summary>Runs both models item by item; <paramref name="compare"/> gets the item position and accessors to each model's i-th output.</summary>
    private void RunPair(ModelProto referenceModel, IReadOnlyList<string> referenceOutputs, ModelProto candidateModel, IReadOnlyList<string> candidateOutputs,
        IReadOnlyList<int> items, CancellationToken cancellationToken, Action<int, Func<int, float[]>, Func<int, float[]>> compare)
    {
        using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_DISABLE_ALL, threads);
        using var referenceSession = OrtSessions.Create(Expose(referenceModel, referenceOutputs), options, "FP32 model (output-error pass)");
        using var candidateSession = OrtSessions.Create(Expose(candidateModel, candidateOutputs), options, "quantized model (output-error pass)");
        using var runOptions = new RunOptions();
        using var registration = cancellationToken.Register(() => runOptions.Terminate = true);
        for (int k = 0; k < items.Count; k++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var item = data.Get(items[k]);
            var inputs = new Dictionary<string, OrtValue>(StringComparer.Ordinal);
            try
            {
                foreach (var (name, tensor) in item.Inputs) inputs[name] = ToOrtValue(tensor);
                using var r = Run(referenceSession, runOptions, inputs, referenceOutputs, cancellationToken);
                using var c = Run(candidateSession, runOptions, inputs, candidateOutputs, cancellationToken);
                compare(k, i => r[i].GetTensorDataAsSpan<float>().ToArray(), i => c[i].GetTensorDataAsSpan<float>().ToArray());
            }
            finally
            {
                foreach (var v in inputs.Values) v.Dispose();
            }
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

    private static IDisposableReadOnlyCollection<OrtValue> Run(InferenceSession session, RunOptions runOptions, Dictionary<string, OrtValue> inputs, IReadOnlyList<string> outputs, CancellationToken ct)
    {
        try
        {
            var names = session.InputMetadata.Keys.ToList();
            return session.Run(runOptions, names, names.Select(n => inputs.TryGetValue(n, out var v) ? v
                : throw new PotException("ProbeInputMissing", PotErrorCategory.InvalidData, $"The validation data provides no tensor for model input '{n}'.", n)).ToList(), outputs);
        }
        catch (OnnxRuntimeException) when (ct.IsCancellationRequested)
        {
            throw new OperationCanceledException(ct);
        }
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

    private static OrtValue ToOrtValue(TensorData t) => t.Data switch
    {
        float[] f => OrtValue.CreateTensorValueFromMemory(f, t.Shape),
        long[] l => OrtValue.CreateTensorValueFromMemory(l, t.Shape),
        int[] i => OrtValue.CreateTensorValueFromMemory(i, t.Shape),
        double[] d => OrtValue.CreateTensorValueFromMemory(d, t.Shape),
        byte[] b => OrtValue.CreateTensorValueFromMemory(b, t.Shape),
        sbyte[] s => OrtValue.CreateTensorValueFromMemory(s, t.Shape),
        bool[] b => OrtValue.CreateTensorValueFromMemory(b, t.Shape),
        Half[] h => OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(h, x => new Float16(BitConverter.HalfToUInt16Bits(x))), t.Shape),
        _ => throw new PotException("ProbeInputType", PotErrorCategory.InvalidData, $"The output-error pass cannot feed a {t.Kind} tensor.", t.Kind),
    };
}
