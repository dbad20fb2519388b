using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// Checks with ONNX Runtime that an opset upgrade kept the model's meaning: the original and the prepared model must
/// give the same outputs on a few calibration items (within float rounding of the BatchNorm folding).
/// </summary>
internal static class PreparationCheck
{
    public static void VerifySameOutputs(ModelProto original, ModelProto prepared, IDataset data, IReadOnlyList<int> items,
        string source, int threads, CancellationToken cancellationToken)
    {
        // Both models run side by side: creating a session is mostly one thread's work (each of ArcticXs's two took about
        // 200 ms of the check's 450 ms, bench/Bench-AccuracyAware.ps1 NOTES), so one model alone leaves a core idle. Not
        // for large models, whose two sessions at once would hold another copy of the weights. The items are read here,
        // once: a dataset is read by one thread at a time.
        var read = items.Select(data.Get).ToArray();
        // A model none of whose outputs is float (an ArgMax's labels) is compared on the float tensors they are
        // computed from, where both models still have them (OutputAgreementCheck.WithFloatSources).
        (original, var sources) = OutputAgreementCheck.WithFloatSources(original, prepared.Graph.Node.SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal));
        if (sources.Count > 0) prepared = OutputAgreementCheck.WithOutputs(prepared, sources.Keys);
        Dictionary<string, List<float[]>> Upgraded() => Outputs(prepared, data, read, threads, source + " (upgraded)", cancellationToken);
        var upgrading = prepared.CalculateSize() <= SideBySideBytes ? Task.Run(Upgraded, cancellationToken) : null;
        Dictionary<string, List<float[]>> reference;
        try
        {
            reference = Outputs(original, data, read, threads, source + " (original)", cancellationToken);
        }
        finally
        {
            // The original's failure is reported first, as when the models ran one after the other.
            try { upgrading?.Wait(CancellationToken.None); } catch (AggregateException) { }
        }
        var upgraded = upgrading?.GetAwaiter().GetResult() ?? Upgraded();
        foreach (var (name, expected) in reference)
        {
            if (!upgraded.TryGetValue(name, out var actual) || actual.Count != expected.Count)
                throw Changed(source, name, "it is missing after the upgrade");
            for (int i = 0; i < expected.Count; i++)
            {
                var (e, a) = (expected[i], actual[i]);
                if (e.Length != a.Length) throw Changed(source, name, $"its shape changed on item {read[i].Index}");
                float scale = 0;
                foreach (float v in e) scale = Math.Max(scale, Math.Abs(v));
                float tolerance = 1e-4f + 1e-3f * scale;
                for (int j = 0; j < e.Length; j++)
                    if (!(Math.Abs(e[j] - a[j]) <= tolerance) && !(float.IsNaN(e[j]) && float.IsNaN(a[j])))
                        throw Changed(source, name, $"value {j} of item {read[i].Index} went from {e[j]} to {a[j]}");
            }
        }
    }

    /// <summary>Models up to this size are checked side by side.</summary>
    private const int SideBySideBytes = 256 << 20;

    private static PotException Changed(string source, string output, string how) =>
        new("OpsetUpgradeChangedOutputs", PotErrorCategory.InvalidData,
            $"Upgrading '{source}' to opset 13 changed output '{output}': {how}. Re-export the model with opset 13 or later.", source);

    private static Dictionary<string, List<float[]>> Outputs(ModelProto model, IDataset data, IReadOnlyList<DataItem> items, int threads, string source,
        CancellationToken cancellationToken)
    {
        using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_DISABLE_ALL, threads);
        using var session = OrtSessions.Create(model.ToByteArray(), options, source);
        var binder = ModelInputBinder.Bind(session, data, source);
        var names = session.OutputMetadata.Where(kv => FloatOutputs.IsFloat(kv.Value))
            .Select(kv => kv.Key).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        var result = names.ToDictionary(n => n, _ => new List<float[]>(), StringComparer.Ordinal);
        // No float tensor to compare (ONNX Runtime refuses a run that asks for no output).
        if (names.Length == 0) return result;
        using var runOptions = new RunOptions();
        using var stop = OrtRun.StopOn(runOptions, cancellationToken);
        foreach (var item in items)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var tensors = binder.Gather(new[] { item });
            var values = binder.ToOrtValues(tensors);
            try
            {
                using var outputs = OrtRun.Run(session, runOptions, binder.ModelInputs, values, names, cancellationToken);
                for (int i = 0; i < names.Length; i++) result[names[i]].Add(FloatOutputs.ToArray(outputs[i]));
            }
            catch (OnnxRuntimeException e)
            {
                throw CalibrationErrors.RunFailed(e, item, tensors, binder.ModelInputs);
            }
            finally
            {
                foreach (var v in values) v.Dispose();
            }
        }
        return result;
    }
}
