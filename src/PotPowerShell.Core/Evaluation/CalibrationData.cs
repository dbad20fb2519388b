using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// The data behind -CalibrationDataPath: NumPy data (a folder of .npy files, an .npz or .npy file) as it is; a folder
/// of images, a .txt file listing images, or a pattern in the file name (images/*.png), read as POT's simplified engine reads a data_source (BGR, resized to the model input by
/// <see cref="SimplifiedImageFit"/>), so that POT's '--engine simplified --data-source images/' has a direct form; or,
/// for a model with one input, a folder of .npy files none of which is named after it, each a rank below the input or
/// of its rank with a batch axis of 1: one file per item, as an engine's format npy_files (Accuracy Checker's numpy_reader) reads them, so items may differ
/// in size (sentences of several lengths); or an engine file (.yml, .yaml, .json), whose data set it is.
/// </summary>
public static class CalibrationData
{
    public static IDataset Open(string path, string modelPath, CancellationToken cancellationToken)
    {
        // Calibration reads no labels: a labels.npy beside the images does not make the folder NumPy data.
        if (IsImageFolder(path, labelsBeside: true) || ImageDataset.IsImageList(path))
            return SimplifiedImageFit.ToModel(EngineDefinition.Simplified(path, "CalibrationDataPath", images: Directory.Exists(path)), modelPath).OpenDataset();
        // A pattern in the file name (images/*.png, data/*.npy), as POT's --data-source and a configuration's
        // simplified data_source take one (EngineResolver.Simplified, which also names what a pattern may select).
        if (!File.Exists(path) && !Directory.Exists(path) && Config.ConfigPaths.HasWildcards(Path.GetFileName(path)))
            return SimplifiedImageFit.ToModel(EngineResolver.Simplified(path, "CalibrationDataPath"), modelPath).OpenDataset();
        // An engine file: its data set, fitted to the model as evaluation fits it (SQuAD windows, images with their
        // engine's preprocessing, Accuracy Checker configurations); its annotations are not read.
        if (IsEngineFile(path))
            return EngineFit.ToModel(EngineDefinition.Load(path, annotationFree: true), modelPath).OpenDataset();
        if (NpyDataset.HoldsNpzItems(path) || IsItemFolder(path, modelPath))
        {
            var tree = EngineTree.Map(0, ("dataset", EngineTree.Map(0, ("data_source", EngineTree.Text(Path.GetFullPath(path))), ("format", EngineTree.Text("npy_files")))));
            return EngineParser.Parse(tree, "CalibrationDataPath", Path.GetFullPath(path), path).OpenDataset();
        }
        return NpyDataset.Open(path, cancellationToken);
    }

    /// <summary>A YAML file, or a JSON file that is not a .npy or .npz: an engine file (native or Accuracy Checker's).</summary>
    internal static bool IsEngineFile(string path) =>
        File.Exists(path) && Path.GetExtension(path).ToLowerInvariant() is ".yml" or ".yaml" or ".json";

    /// <summary>
    /// Several .npy files (labels.npy aside), a model with one input that none of them is named after, and files a rank
    /// below that input (no batch axis) or of its rank with a first axis of 1 (saved from a batch of one; fed as they are,
    /// see ModelInputBinder): each holds one item. Files of the input's rank and a longer first axis are arrays of items,
    /// misnamed (DataInputMissing says so). The model's inputs are read only for a folder of several .npy files, and without its
    /// weights (<see cref="ModelInterface"/>).
    /// </summary>
    internal static bool IsItemFolder(string path, string modelPath)
    {
        if (!Directory.Exists(path)) return false;
        var files = Directory.EnumerateFiles(path, "*.npy").Where(f => Path.GetFileNameWithoutExtension(f) != NpyDataset.LabelsName)
            .OrderBy(f => f, StringComparer.Ordinal).ToList();
        if (files.Count < 2) return false;
        var inputs = ModelInterface.DataInputsOf(modelPath);
        if (inputs.Count != 1 || files.Any(f => Path.GetFileNameWithoutExtension(f) == inputs[0].Name)) return false;
        int rank = inputs[0].Type?.TensorType?.Shape?.Dim.Count ?? 0;
        using var first = new NpyFileItemArray(files[0]);
        return rank > 0 && (first.Shape.Length == rank - 1 || first.Shape.Length == rank && first.Shape[0] == 1);
    }

    /// <summary>
    /// A folder with images in it and no .npy file (the rule the engine's data_source follows, see EngineParser), or,
    /// with <paramref name="labelsBeside"/>, no .npy file but labels.npy.
    /// </summary>
    internal static bool IsImageFolder(string path, bool labelsBeside = false) =>
        Directory.Exists(path)
        && !Directory.EnumerateFiles(path, "*.npy").Any(f => !labelsBeside || Path.GetFileNameWithoutExtension(f) != NpyDataset.LabelsName)
        && Directory.EnumerateFiles(path).Any(f => ImageDataset.DefaultExtensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase));
}
