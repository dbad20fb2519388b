using PotPowerShell.Core.Config;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// What Invoke-AccuracyAwareQuantization and Get-LayerRanking run on: a model, calibration data, an evaluation engine
/// and the options. Plain paths and core records only, so the cmdlet layer needs no ONNX or ONNX Runtime type.
/// </summary>
public sealed record AccuracyAwareJob
{
    /// <summary>The FP32 ONNX model.</summary>
    public required string ModelPath { get; init; }

    /// <summary>Calibration data (a folder of .npy files or an .npz); null = the engine's own data, as POT calibrates on its data loader.</summary>
    public string? CalibrationDataPath { get; init; }

    /// <summary>The engine YAML file; null = the engine of <see cref="Config"/>.</summary>
    public string? EnginePath { get; init; }

    /// <summary>The POT configuration the job came from, if any (its engine section is used when <see cref="EnginePath"/> is null).</summary>
    public PotConfig? Config { get; init; }

    public required AccuracyAwareOptions Options { get; init; }

    /// <summary>Rankings measured beforehand (Get-LayerRanking, in shards with -Layer): the search starts from them. Null = measure one.</summary>
    public IReadOnlyList<LayerRank>? Ranking { get; init; }

    /// <summary>compression.dump_intermediate_model: also write the fully quantized model before any revert (see <see cref="AccuracyAwareOutcome.IntermediatePaths"/>).</summary>
    public bool DumpIntermediateModel { get; init; }

    /// <summary>False: the outputs are written with create-new semantics (OutputExists if one appeared meanwhile), as without -Force.</summary>
    public bool Overwrite { get; init; } = true;

    /// <summary>Runs the engine's 'type: script' metrics (the cmdlets give one that runs .ps1 files); null = such metrics fail with ScriptMetricUnavailable.</summary>
    public Evaluation.ScriptMetricFactory? ScriptMetrics { get; init; }

    /// <summary>Receives the engine's warnings (keys of an Accuracy Checker configuration read without effect).</summary>
    public IProgress<string>? Warnings { get; init; }

    /// <summary>Wraps the opened calibration data (tests count the items read through it).</summary>
    internal Func<Data.IDataset, Data.IDataset>? CalibrationWrapper { get; init; }

    /// <summary>
    /// A job from a POT configuration: its model, its engine (also the calibration data) and its AccuracyAwareQuantization
    /// options (AlgorithmMissing when it has no such entry), or, with <paramref name="defaultQuantizationSuffices"/> (a
    /// ranking, which never reverts a layer), its DefaultQuantization options when it has no AccuracyAwareQuantization entry.
    /// </summary>
    public static AccuracyAwareJob FromConfig(PotConfig config, bool defaultQuantizationSuffices = false) => new()
    {
        ModelPath = config.Model.ModelPath,
        Config = config,
        Options = defaultQuantizationSuffices && config.FindAlgorithm(AlgorithmNames.AccuracyAware) == null
            ? new AccuracyAwareOptions { Quantization = config.ToDefaultQuantizationOptions() }
            : config.ToAccuracyAwareOptions(),
        DumpIntermediateModel = config.Compression.DumpIntermediateModel,
    };

    /// <summary>
    /// A job that ranks the layers of an Invoke-DefaultQuantization result: the same model, calibration data and options
    /// (so the same quantization is rebuilt), evaluated with <paramref name="enginePath"/>.
    /// </summary>
    public static AccuracyAwareJob FromQuantization(Results.QuantizationResult result, string enginePath)
    {
        if (result.Options == null)
            throw new PotException("QuantizationOptionsMissing", PotErrorCategory.InvalidArgument,
                $"The quantization result of '{result.ModelPath}' does not say which options it used, so it cannot be rebuilt. Run Invoke-DefaultQuantization again and pipe its result.", result.ModelPath);
        return new AccuracyAwareJob
        {
            ModelPath = result.ModelPath,
            CalibrationDataPath = result.CalibrationDataPath,
            EnginePath = enginePath,
            Options = new AccuracyAwareOptions { Quantization = result.Options },
        };
    }
}
