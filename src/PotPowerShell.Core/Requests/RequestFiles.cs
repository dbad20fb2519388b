using PotPowerShell.Core.Evaluation;

namespace PotPowerShell.Core.Requests;

/// <summary>
/// The existence checks of a request's input files, made once before any work starts, with one error id per kind of
/// file. Whether a failed check stops the whole command or only the current input is the cmdlets' error rule
/// (ARCHITECTURE.md, "Errors"): a file named by a parameter serves every input and stops the command.
/// </summary>
public static class RequestFiles
{
    /// <summary>
    /// Calibration data is a folder (of .npy files or images), a file (.npz, .npy, a .txt list of images, an engine file), or a pattern
    /// in the file name of an existing folder (images/*.png, as POT's --data-source takes one): CalibrationDataNotFound
    /// when none of these exists.
    /// </summary>
    public static string RequireCalibrationData(string path)
    {
        bool pattern = Config.ConfigPaths.HasWildcards(Path.GetFileName(path)) && Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(path)));
        if (!Directory.Exists(path) && !File.Exists(path) && !pattern)
            throw new PotException("CalibrationDataNotFound", PotErrorCategory.ObjectNotFound,
                $"The calibration data '{path}' does not exist. Give a folder of .npy files (one per model input, named after it), an .npz archive, a folder of images, a .txt file listing images, a pattern such as images/*.png, or an engine file whose data set it is.", path);
        return path;
    }

    /// <summary>An engine file: EngineNotFound when it does not exist.</summary>
    /// <param name="orDataFolder">A folder of validation data serves as well (AccuracyAwareQuantization and layer ranking read it as a data path).</param>
    public static string RequireEngine(string path, bool orDataFolder = false)
    {
        string full = Path.GetFullPath(path);
        if (!File.Exists(full) && !(orDataFolder && Directory.Exists(full))) throw EngineDefinition.NotFound(full);
        return path;
    }
}
