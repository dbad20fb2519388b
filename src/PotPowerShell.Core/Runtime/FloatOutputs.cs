using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace PotPowerShell.Core.Runtime;

/// <summary>The float outputs the module's self-checks compare: float32, and float16 (a 16-bit float model's outputs) widened.</summary>
public static class FloatOutputs
{
    public static bool IsFloat(NodeMetadata metadata) =>
        metadata.IsTensor && metadata.ElementDataType is TensorElementType.Float or TensorElementType.Float16;

    /// <summary>The values in place for float32 (valid while <paramref name="value"/> is), a widened copy for float16.</summary>
    public static ReadOnlySpan<float> AsSpan(OrtValue value) =>
        value.GetTensorTypeAndShape().ElementDataType == TensorElementType.Float16 ? ToArray(value) : value.GetTensorDataAsSpan<float>();

    public static float[] ToArray(OrtValue value) =>
        value.GetTensorTypeAndShape().ElementDataType == TensorElementType.Float16
            ? Array.ConvertAll(value.GetTensorDataAsSpan<Float16>().ToArray(), h => (float)h)
            : value.GetTensorDataAsSpan<float>().ToArray();
}
