using Microsoft.ML.OnnxRuntime;
using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Calibration;

/// <summary>Errors of inference runs over calibration data, with the item and the shapes that were fed.</summary>
internal static class CalibrationErrors
{
    /// <summary>ONNX Runtime refused one item: name the item, the shapes fed and ORT's own message (which names the node).</summary>
    public static PotException RunFailed(OnnxRuntimeException e, DataItem item, IReadOnlyList<TensorData> inputs, IReadOnlyList<string> names)
    {
        string fed = string.Join(", ", names.Select((n, i) => $"'{n}' {inputs[i]}"));
        return new PotException("CalibrationRunFailed", PotErrorCategory.InvalidData,
            $"ONNX Runtime failed on calibration item {item.Index} (fed {fed}): {e.Message.Trim()} " +
            "Check that the calibration data matches the model's inputs (shapes, types), or that the model runs on this item at all.",
            item.Index, e);
    }
}
