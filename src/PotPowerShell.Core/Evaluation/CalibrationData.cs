using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// The data behind -CalibrationDataPath: NumPy data (a folder of .npy files, an .npz or .npy file) as it is, or a
/// folder of images read as POT's simplified engine reads a data_source (BGR, resized to the model input by
/// <see cref="SimplifiedImageFit"/>), so that POT's '--engine simplified --data-source images/' has a direct form.
/// </summary>
public static class CalibrationData
{
    public static IDataset Open(string path, string modelPath, CancellationToken cancellationToken)
    {
        if (!IsImageFolder(path)) return NpyDataset.Open(path, cancellationToken);
        return SimplifiedImageFit.ToModel(EngineDefinition.Simplified(path, "CalibrationDataPath"), modelPath).OpenDataset();
    }

    /// <summary>A folder with images in it and no .npy file (the rule the engine's data_source follows, see EngineParser).</summary>
    private static bool IsImageFolder(string path) =>
        Directory.Exists(path) && !Directory.EnumerateFiles(path, "*.npy").Any() &&
        Directory.EnumerateFiles(path).Any(f => ImageDataset.DefaultExtensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase));
}
