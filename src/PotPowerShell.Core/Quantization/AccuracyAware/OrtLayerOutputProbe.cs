using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// The instrumented pass on ONNX Runtime: both models get the requested tensors as extra graph outputs and run item by
/// item on the same inputs. Sessions use ORT_DISABLE_ALL so every exposed tensor is computed as the graph states it
/// (Q/DQ emulated in float, as ORT's own qdq_loss_debug does).
/// </summary>
public sealed class OrtLayerOutputProbe(IDataset data, int threads = 0) : ILayerOutputProbe
{
    public IReadOnlyDictionary<string, double[]> Compare(byte[] reference, byte[] candidate, IReadOnlyList<string> tensors, IReadOnlyList<int> items, CancellationToken cancellationToken)
    {
        var referenceModel = ModelProto.Parser.ParseFrom(reference);
        var candidateModel = ModelProto.Parser.ParseFrom(candidate);
        var shared = tensors.Where(t => Produces(referenceModel, t) && Produces(candidateModel, t)).Distinct(StringComparer.Ordinal).ToList();
        var errors = shared.ToDictionary(t => t, _ => new double[items.Count], StringComparer.Ordinal);
        if (shared.Count == 0) return errors;

        using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_DISABLE_ALL, threads);
        using var referenceSession = OrtSessions.Create(Expose(referenceModel, shared), options, "FP32 model (output-error pass)");
        using var candidateSession = OrtSessions.Create(Expose(candidateModel, shared), options, "quantized model (output-error pass)");
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
                using var r = Run(referenceSession, runOptions, inputs, shared, cancellationToken);
                using var c = Run(candidateSession, runOptions, inputs, shared, cancellationToken);
                for (int t = 0; t < shared.Count; t++)
                    errors[shared[t]][k] = Nmse(r[t].GetTensorDataAsSpan<float>(), c[t].GetTensorDataAsSpan<float>());
            }
            finally
            {
                foreach (var v in inputs.Values) v.Dispose();
            }
        }
        return errors;
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

    /// <summary>True when a node of the model produces <paramref name="tensor"/> as a float tensor we can expose.</summary>
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
