using Onnx;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// Checks calibration data against the model's declared inputs before any ONNX Runtime session runs, so that a
/// mismatch is reported with the input, the declared shape, the item's shape and what to do, instead of ORT's message
/// from deep inside a run. Arrays match inputs by the one rule of <see cref="InputBinding"/>. Items are [1, ...]; a model input without a batch axis gets the item without its leading 1.
/// </summary>
internal static class CalibrationDataCheck
{
    public static void Check(ModelProto model, IDataset data, int item, string modelSource)
    {
        var inputs = ModelInspector.DataInputs(model.Graph);
        DataItem? sample = null;
        foreach (var input in inputs)
        {
            string array = InputBinding.ArrayFor(input.Name, data.InputNames, inputs.Select(i => i.Name).ToList())
                ?? throw InputBinding.Missing(input.Name, data.InputNames, data.Source, modelSource, inputs.Count);
            var dims = input.Type?.TensorType?.Shape?.Dim;
            if (dims == null) continue; // no declared shape: nothing to compare
            sample ??= data.Get(item);
            if (!sample.Inputs.TryGetValue(array, out var tensor)) continue;
            CheckShape(input.Name, dims, tensor.Shape, array, data.Source, item, modelSource);
        }
    }

    private static void CheckShape(string input, IList<TensorShapeProto.Types.Dimension> dims, long[] itemShape, string array, string source, int item,
        string modelSource)
    {
        string declared = "[" + string.Join(",", dims.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue
            ? d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : d.DimParam.Length > 0 ? d.DimParam : "?")) + "]";
        string where = $"Model input '{input}' of '{modelSource}' is declared {declared}, but item {item} of array '{array}' in '{source}' has shape [{string.Join(",", itemShape)}]";
        var shape = itemShape;
        // Items carry a leading axis of 1; an input without a batch axis takes the item without it.
        if (shape.Length == dims.Count + 1 && shape[0] == 1) shape = shape[1..];
        if (shape.Length != dims.Count)
            throw new PotException("CalibrationInputShape", PotErrorCategory.InvalidData,
                $"{where}: {dims.Count} dimensions are needed, not {shape.Length}. Save the array as [items, ...] with each item shaped like the input.",
                input);
        for (int d = 0; d < dims.Count; d++)
        {
            if (dims[d].ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue || dims[d].DimValue <= 0) continue;
            long expected = dims[d].DimValue;
            if (shape[d] == expected) continue;
            if (d == 0 && expected > 1 && shape[0] == 1 && itemShape.Length == dims.Count)
                throw new PotException("CalibrationInputShape", PotErrorCategory.InvalidData,
                    $"{where}: the model has a fixed batch of {expected}, and calibration feeds one item at a time. " +
                    "Export the model with a dynamic batch dimension (or batch 1).", input);
            throw new PotException("CalibrationInputShape", PotErrorCategory.InvalidData,
                $"{where}: dimension {d} is fixed at {expected} but the data has {shape[d]}. Resize or re-export the data to the input's shape.", input);
        }
    }
}
