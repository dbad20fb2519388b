using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Runtime;

/// <summary>Shapes of intermediate tensors, read from one inference of the float model on one data item.</summary>
public static class ActivationShapes
{
    /// <summary>
    /// Runs <paramref name="model"/> once on item <paramref name="item"/> of <paramref name="data"/> with
    /// <paramref name="tensors"/> as extra outputs and returns their shapes (a tensor that never appears is left out).
    /// <see cref="CanBatch"/> says whether the model takes stacked items (a leading batch axis).
    /// </summary>
    public static (IReadOnlyDictionary<string, long[]> Shapes, bool CanBatch) Measure(ModelProto model, IDataset data, int item,
        IReadOnlyCollection<string> tensors, int threads, string modelSource)
    {
        var probe = model.Clone();
        var outputs = probe.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var t in tensors.Where(t => !outputs.Contains(t)))
            probe.Graph.Output.Add(GraphBuilder.ValueInfo(t, TensorProto.Types.DataType.Float, null));
        using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_DISABLE_ALL, threads);
        using var session = OrtSessions.Create(probe.ToByteArray(), options, modelSource);
        var binder = ModelInputBinder.Bind(session, data, modelSource);
        var values = binder.Bind(new[] { data.Get(item) });
        // ORT needs at least one output: the model's first when no tensor is asked for.
        var wanted = tensors.Count > 0 ? tensors.Distinct(StringComparer.Ordinal).ToArray() : new[] { session.OutputNames[0] };
        try
        {
            using var runOptions = new RunOptions();
            using var results = OrtRun.Run(session, runOptions, binder.ModelInputs, values, wanted, CancellationToken.None);
            var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
            for (int i = 0; i < wanted.Length && tensors.Count > 0; i++) shapes[wanted[i]] = results[i].GetTensorTypeAndShape().Shape;
            return (shapes, binder.CanBatch);
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }
}
