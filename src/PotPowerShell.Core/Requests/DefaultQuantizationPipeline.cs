using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Requests;

/// <summary>
/// Runs a <see cref="DefaultQuantizationRequest"/>, as <c>AccuracyAwarePipeline</c> runs an AccuracyAware job: checks
/// and opens the calibration data (a path, or the configuration's engine), quantizes, and closes the data.
/// </summary>
public static class DefaultQuantizationPipeline
{
    /// <param name="warnings">Hears the engine's warnings (unknown keys and the like) when the data comes from a configuration.</param>
    public static QuantizationResult Run(DefaultQuantizationRequest request, IProgress<PotProgress>? progress, IProgress<string>? warnings,
        CancellationToken cancellationToken)
    {
        var data = OpenData(request, warnings, cancellationToken);
        try
        {
            return DefaultQuantization.Run(request.ModelPath, data, request.Options, request.OutputPath, progress, cancellationToken,
                request.DumpIntermediateModels, request.Overwrite);
        }
        finally
        {
            // It holds open files, and the temporary files of large .npz members.
            (data as IDisposable)?.Dispose();
        }
    }

    private static IDataset OpenData(DefaultQuantizationRequest request, IProgress<string>? warnings, CancellationToken cancellationToken)
    {
        if (request.CalibrationDataPath != null)
            return CalibrationData.Open(RequestFiles.RequireCalibrationData(request.CalibrationDataPath), request.ModelPath, cancellationToken);
        var engine = EngineResolver.FromConfig(request.Config
            ?? throw new ArgumentException("A request needs calibration data or a configuration.", nameof(request)));
        foreach (var warning in engine.Warnings) warnings?.Report(warning);
        // POT's simplified engine resizes images to the model input; the model is known here, not where the engine is read.
        return EngineFit.ToModel(engine, request.ModelPath).OpenDataset();
    }
}
