using System.Globalization;
using Microsoft.ML.OnnxRuntime.Tensors;
using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Runtime;

/// <summary>
/// The one rule that matches a data set's arrays to a model's inputs, for every loop that feeds ONNX Runtime
/// (calibration, evaluation, the output-error pass, the timers, the preparation checks): each model input is fed by
/// the array of its name; a model with one input and data with one array are matched whatever their names, and so are
/// the one model input no array is named after and an image folder's image ('image') beside arrays named after the
/// model's other inputs (its size). Other arrays are never guessed at: a spare array of the same shape fed to the wrong
/// input would go unnoticed. Arrays no input asks for are not fed. A model input nothing feeds is
/// <see cref="MissingId"/>, naming both sides.
/// </summary>
public static class InputBinding
{
    /// <summary>The error id of data that has no array for a model input.</summary>
    public const string MissingId = "DataInputMissing";

    /// <summary>The error id of an array whose element type the model input cannot take.</summary>
    public const string TypeId = "DataInputType";

    /// <summary>Model input name to the name of the array that feeds it.</summary>
    public static IReadOnlyDictionary<string, string> Bind(IReadOnlyList<string> dataInputs, IReadOnlyList<string> modelInputs, string dataSource,
        string modelSource)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var input in modelInputs)
            map[input] = ArrayFor(input, dataInputs, modelInputs) ?? throw Missing(input, dataInputs, dataSource, modelSource, modelInputs.Count);
        return map;
    }

    /// <summary>The array feeding <paramref name="modelInput"/>, or null when the rule gives none.</summary>
    public static string? ArrayFor(string modelInput, IReadOnlyList<string> dataInputs, IReadOnlyList<string> modelInputs)
    {
        if (dataInputs.Contains(modelInput, StringComparer.Ordinal)) return modelInput;
        if (modelInputs.Count == 1 && dataInputs.Count == 1) return dataInputs[0];
        var unnamedInputs = modelInputs.Where(i => !dataInputs.Contains(i, StringComparer.Ordinal)).ToList();
        var unnamedArrays = dataInputs.Where(a => !modelInputs.Contains(a, StringComparer.Ordinal)).ToList();
        return unnamedInputs.Count == 1 && unnamedArrays is [Data.ImageDataset.DefaultInputName] ? unnamedArrays[0] : null;
    }

    /// <param name="modelInputCount">The model's inputs: arrays given to a model with one input may be one item each.</param>
    public static PotException Missing(string modelInput, IReadOnlyList<string> dataInputs, string dataSource, string modelSource, int modelInputCount)
    {
        bool images = modelInputCount > 1 && dataInputs.Count == 1 && dataInputs[0] == Data.ImageDataset.DefaultInputName;
        string what = images
            ? "Images feed one model input: for a model that also takes the image's size or a constant, name them in an engine file's dataset " +
              "(other_inputs: {image_shape: image_size}), and calibrate with a POT configuration (Import-PotConfig) whose engine it is."
            : $"Name each array after the model input it feeds (e.g. '{modelInput}.npy', or a '{modelInput}' entry of the .npz), or map them in an engine file (dataset: inputs:)." +
              (modelInputCount == 1 && dataInputs.Count > 1
                  ? " If each .npy file holds one item without the batch axis, give an engine file with 'format: npy_files' in its dataset."
                  : "");
        return new(MissingId, PotErrorCategory.InvalidData,
            $"The data '{dataSource}' has no array for model input '{modelInput}' of '{modelSource}'. " +
            $"It holds: {string.Join(", ", dataInputs.Select(n => "'" + n + "'"))}. {what}",
            dataSource);
    }

    /// <summary>
    /// Data sets hold items as [1, ...]. An item one axis above the model input is fed without that axis: a model input
    /// with no batch axis (a scalar such as a sample rate) gets the item alone, and an item that carries its own batch
    /// axis of 1 (a .npy file per item saved from a batch of one, which Accuracy Checker's launcher also feeds as it is)
    /// stacks on the model's batch axis (<see cref="ItemsStack"/>).
    /// </summary>
    public static bool DropsItemAxis(IReadOnlyList<long> itemShape, int modelRank) => itemShape.Count == modelRank + 1 && itemShape[0] == 1;

    /// <summary>Several items whose leading axis is dropped share a batch only when each carries its own batch axis of 1.</summary>
    public static bool ItemsStack(IReadOnlyList<long> itemShape) => itemShape.Count > 1 && itemShape[1] == 1;

    /// <summary>The element kind the data readers produce for a model input's ONNX Runtime type.</summary>
    public static TensorElementKind KindOf(TensorElementType type, string modelInput, string modelSource) => type switch
    {
        TensorElementType.Float => TensorElementKind.Float,
        TensorElementType.Float16 => TensorElementKind.Float16,
        TensorElementType.Double => TensorElementKind.Double,
        TensorElementType.Int64 => TensorElementKind.Int64,
        TensorElementType.Int32 => TensorElementKind.Int32,
        TensorElementType.UInt8 => TensorElementKind.UInt8,
        TensorElementType.Int8 => TensorElementKind.Int8,
        TensorElementType.Bool => TensorElementKind.Bool,
        _ => throw new PotException("ModelInputUnsupported", PotErrorCategory.NotImplemented,
            $"The model input '{modelInput}' of '{modelSource}' takes {type} values, which the data readers cannot produce.", modelSource),
    };

    /// <summary>
    /// An item's array as the element kind of the model input it feeds, for every loop that feeds ONNX Runtime. Values
    /// are never changed silently: floats for an 8-bit input are rounded (pixels decoded and resized, as TensorFlow's
    /// detection exports take them), and any value the input's type cannot hold is <see cref="TypeId"/>, naming the input
    /// and the value: one outside the type's range (a normalization before a model that takes pixels), a fraction for a
    /// wider integer or boolean input (ids, sizes and masks are whole numbers: a float array there is the wrong array),
    /// or a non-finite value for any integer type.
    /// </summary>
    public static TensorData Converted(TensorData tensor, TensorElementKind kind, string modelInput)
    {
        if (tensor.Kind == kind) return tensor;
        if (tensor.Kind == TensorElementKind.String || kind == TensorElementKind.String)
            throw new PotException(TypeId, PotErrorCategory.InvalidData,
                $"Model input '{modelInput}' takes {kind} values but the data holds {tensor.Kind} values. Save the array with the input's element type.", modelInput);
        if (tensor.Data is float[] pixels && kind is TensorElementKind.UInt8 or TensorElementKind.Int8) return Pixels(pixels, tensor, kind, modelInput);
        if (Unrepresentable(tensor, kind) is { } v) throw CannotHold(v, tensor.Kind, kind, modelInput);
        return TensorBytes.Convert(tensor, kind);
    }

    private static PotException CannotHold(double value, TensorElementKind source, TensorElementKind kind, string modelInput) =>
        new(TypeId, PotErrorCategory.InvalidData,
            $"Model input '{modelInput}' takes {kind} values{RangeOf(kind)}, but its {source} data holds {value.ToString("R", CultureInfo.InvariantCulture)}, " +
            "which that type cannot hold. " + (kind is TensorElementKind.UInt8 or TensorElementKind.Int8
                ? "Leave normalization and scale steps out for a model that takes pixels, or check the data's range."
                : "Save the array with the input's element type, or check that this array is the one the input takes."), modelInput);

    /// <summary>
    /// Float pixels for an 8-bit input, checked and rounded (to even) in one pass: the common case of images fed to
    /// TensorFlow's detection exports, whose general path (<see cref="TensorBytes.Convert"/> through doubles) took
    /// 26 ms for one 640 x 640 image.
    /// </summary>
    private static TensorData Pixels(float[] values, TensorData tensor, TensorElementKind kind, string modelInput)
    {
        bool unsigned = kind == TensorElementKind.UInt8;
        float low = unsigned ? 0 : -128, high = unsigned ? 255 : 127;
        var target = TensorBytes.Allocate(kind, values.Length);
        var bytes = TensorBytes.AsBytes(target);
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            if (!(v >= low && v <= high)) throw CannotHold(v, tensor.Kind, kind, modelInput);
            // Two's complement: -1 is stored as 0xFF, which the sbyte[] reads back as -1.
            bytes[i] = unchecked((byte)(int)MathF.Round(v));
        }
        return new TensorData(kind, (long[])tensor.Shape.Clone(), target);
    }

    /// <summary>The first value of <paramref name="tensor"/> that <paramref name="kind"/> cannot hold, or null.</summary>
    private static double? Unrepresentable(TensorData tensor, TensorElementKind kind)
    {
        bool fromFloats = tensor.Kind is TensorElementKind.Float or TensorElementKind.Float16 or TensorElementKind.Double;
        for (long i = 0; i < tensor.Length; i++)
        {
            double v = TensorBytes.ValueAt(tensor.Data, i);
            bool holds = kind switch
            {
                TensorElementKind.Float => !double.IsFinite(v) || float.IsFinite((float)v),
                TensorElementKind.Float16 => !double.IsFinite(v) || Half.IsFinite((Half)v),
                TensorElementKind.Double => true,
                TensorElementKind.UInt8 => v >= 0 && v <= 255,
                TensorElementKind.Int8 => v >= -128 && v <= 127,
                TensorElementKind.Int32 => v >= int.MinValue && v <= int.MaxValue && !(fromFloats && v != Math.Floor(v)),
                TensorElementKind.Int64 => v >= long.MinValue && v < 9.2233720368547758E18 && !(fromFloats && v != Math.Floor(v)),
                TensorElementKind.Bool => v is 0 or 1,
                _ => false,
            };
            if (!holds) return v;
        }
        return null;
    }

    private static string RangeOf(TensorElementKind kind) => kind switch
    {
        TensorElementKind.UInt8 => " (0 to 255)",
        TensorElementKind.Int8 => " (-128 to 127)",
        TensorElementKind.Int32 => " (whole numbers of 32 bits)",
        TensorElementKind.Int64 => " (whole numbers)",
        TensorElementKind.Bool => " (0 or 1)",
        TensorElementKind.Float16 => " (within ±65504)",
        _ => "",
    };

    /// <summary>An item that lacks the array its data set named (a data set whose items differ).</summary>
    public static PotException MissingInItem(int item, string array) =>
        new(MissingId, PotErrorCategory.InvalidData, $"Item {item} of the data has no array '{array}' (other items have it).", array);
}
