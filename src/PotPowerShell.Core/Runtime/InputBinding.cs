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

    /// <summary>An item that lacks the array its data set named (a data set whose items differ).</summary>
    public static PotException MissingInItem(int item, string array) =>
        new(MissingId, PotErrorCategory.InvalidData, $"Item {item} of the data has no array '{array}' (other items have it).", array);
}
