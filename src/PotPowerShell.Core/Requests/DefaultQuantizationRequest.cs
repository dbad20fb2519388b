using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Reports;

namespace PotPowerShell.Core.Requests;

/// <summary>
/// One DefaultQuantization to run, resolved once from paths or a <see cref="PotConfig"/> plus parameter overrides:
/// the model, where the calibration data comes from (a path, or the config's engine), the options, the output, its
/// report and intermediate models. <see cref="DefaultQuantizationPipeline"/> runs it.
/// </summary>
public sealed record DefaultQuantizationRequest
{
    public required string ModelPath { get; init; }

    /// <summary>A folder of .npy files or an .npz archive; null: the data of <see cref="Config"/>'s engine.</summary>
    public string? CalibrationDataPath { get; init; }

    public PotConfig? Config { get; init; }
    public required DefaultQuantizationOptions Options { get; init; }
    public required string OutputPath { get; init; }

    /// <summary>POT's compression.dump_intermediate_model: also write <see cref="IntermediatePaths"/>.</summary>
    public bool DumpIntermediateModels { get; init; }

    /// <summary>Replace existing output files (-Force).</summary>
    public bool Overwrite { get; init; }

    public string ReportPath => ReportJson.PathFor(OutputPath);

    public IReadOnlyList<string> IntermediatePaths => DumpIntermediateModels ? DefaultQuantization.IntermediatePaths(OutputPath) : Array.Empty<string>();

    /// <summary>Every file the run writes: the model, its report and the intermediate models.</summary>
    public IReadOnlyList<string> Outputs => new[] { OutputPath, ReportPath }.Concat(IntermediatePaths).ToList();

    /// <summary>Where the calibration data comes from, for messages.</summary>
    public string DataDescription => CalibrationDataPath ?? Config?.Engine.ToString() ?? "";

    /// <summary>A model and its calibration data; the output defaults to &lt;name&gt;.int8.onnx next to the model.</summary>
    public static DefaultQuantizationRequest FromPaths(string modelPath, string calibrationDataPath, DefaultQuantizationOptions options, string? outputPath) => new()
    {
        ModelPath = modelPath,
        CalibrationDataPath = calibrationDataPath,
        Options = options,
        OutputPath = outputPath ?? DefaultOutputPath(modelPath),
    };

    /// <summary>
    /// A configuration: its own model (<paramref name="modelPath"/> null), written as &lt;model_name&gt;.int8.onnx next to
    /// it, or another model, named after its file (several models may share one config, and model_name names only the
    /// config's own). The config's engine gives the data unless <paramref name="calibrationDataPath"/> is given.
    /// </summary>
    public static DefaultQuantizationRequest FromConfig(PotConfig config, string? modelPath, string? calibrationDataPath, DefaultQuantizationOptions options,
        string? outputPath) => new()
    {
        ModelPath = modelPath ?? config.Model.ModelPath,
        CalibrationDataPath = calibrationDataPath,
        Config = config,
        Options = options,
        OutputPath = outputPath ?? (modelPath == null ? NamedOutputPath(config.Model.ModelPath, config.Model.ModelName) : DefaultOutputPath(modelPath)),
        DumpIntermediateModels = config.Compression.DumpIntermediateModel,
    };

    public static string DefaultOutputPath(string model) =>
        Path.Combine(Path.GetDirectoryName(model) ?? ".", Path.GetFileNameWithoutExtension(model) + ".int8.onnx");

    private static string NamedOutputPath(string model, string modelName)
    {
        var invalid = Path.GetInvalidFileNameChars().Append('/').Append('\\').ToHashSet();
        string name = new string(modelName.Trim().Select(c => invalid.Contains(c) ? '_' : c).ToArray());
        if (name.Length == 0 || name.All(c => c == '.')) return DefaultOutputPath(model);
        return Path.Combine(Path.GetDirectoryName(model) ?? ".", name + ".int8.onnx");
    }
}
