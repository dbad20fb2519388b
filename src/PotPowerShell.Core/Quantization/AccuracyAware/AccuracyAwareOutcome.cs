using Onnx;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>The result of a run and the model it chose (the best one evaluated), not yet written.</summary>
public sealed class AccuracyAwareOutcome(AccuracyAwareResult result, ModelProto model)
{
    public AccuracyAwareResult Result { get; } = result;
    public ModelProto Model { get; } = model;

    /// <summary>The report written next to a model: '&lt;name&gt;.report.json'.</summary>
    public static string ReportPathFor(string outputPath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outputPath))!, Path.GetFileNameWithoutExtension(outputPath) + ".report.json");

    /// <summary>
    /// Writes the model (through a temporary file) and then its JSON report, also when the target was missed.
    /// Returns the result with the paths filled in.
    /// </summary>
    public AccuracyAwareResult Save(string outputPath, string? modelPath, CancellationToken cancellationToken = default)
    {
        string full = Path.GetFullPath(outputPath);
        string report = ReportPathFor(full);
        var result = Result with { ModelPath = modelPath, OutputPath = full, ReportPath = report };
        OnnxModelFile.Save(Model, full, cancellationToken);
        AccuracyAwareReport.Write(result, report);
        return result;
    }
}
