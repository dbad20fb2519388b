using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// Computes the layer weights a prepared model derives from stored tensors (<see cref="ComputedWeights"/>) with ONNX
/// Runtime, once, and stores them as initializers, so those layers read a constant weight and are quantized like any
/// other. ONNX Runtime's own kernels compute them, as it would when loading the model, so the model's outputs do not
/// change (tests/PotPowerShell.Core.Tests/Quantization/ComputedWeightFoldingTests.cs).
/// </summary>
internal static class ComputedWeightFolding
{
    /// <summary>
    /// Folds what it can; returns a warning naming the layers whose weights are still computed from stored tensors (ONNX
    /// Runtime refused the computation, or its ops or sizes are beyond <see cref="ComputedWeights.Find"/>): they stay
    /// float. Null when there are none.
    /// </summary>
    public static string? Fold(ModelProto prepared, string source, CancellationToken cancellationToken)
    {
        string? refused = null;
        if (ComputedWeights.Find(prepared.Graph) is { } plan)
        {
            var values = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
            try
            {
                using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_DISABLE_ALL, 1);
                using var session = OrtSessions.Create(ComputedWeights.Extract(prepared, plan).ToByteArray(), options, source + " (its computed weights)");
                using var runOptions = new RunOptions();
                using var stop = OrtRun.StopOn(runOptions, cancellationToken);
                using var outputs = OrtRun.Run(session, runOptions, Array.Empty<string>(), Array.Empty<OrtValue>(), plan.Weights.ToArray(), cancellationToken);
                for (int k = 0; k < plan.Weights.Count; k++)
                {
                    var info = outputs[k].GetTensorTypeAndShape();
                    if (info.ElementDataType == TensorElementType.Float)
                        values[plan.Weights[k]] = TensorProtos.FromFloats(plan.Weights[k], outputs[k].GetTensorDataAsSpan<float>(), info.Shape);
                }
                ComputedWeights.Replace(prepared.Graph, plan, values);
            }
            catch (Exception e) when (e is PotException or OnnxRuntimeException)
            {
                refused = $"ONNX Runtime could not compute them ahead: {e.Message}";
            }
        }
        var left = ComputedWeights.FromStoredTensors(prepared.Graph);
        if (left.Count == 0) return null;
        return $"'{source}' computes {left.Count} layer weight(s) or bias(es) from stored tensors (first: '{left[0].Layer}' reads '{left[0].Weight}') and "
            + (refused ?? $"they need ops PotPowerShell does not compute ahead, more than {ConstantShapes.MaxElements} values for one tensor, or are outputs of the model")
            + ": those layers stay float. Export the model with constant folding (torch.onnx.export's do_constant_folding) to quantize them.";
    }
}
