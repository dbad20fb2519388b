using Onnx;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>The result of a run and the model it chose (the best one evaluated), not yet written.</summary>
public sealed class AccuracyAwareOutcome(AccuracyAwareResult result, ModelProto model)
{
    public AccuracyAwareResult Result { get; } = result;
    public ModelProto Model { get; } = model;

    /// <summary>
    /// Builds the returned model with no layer reverted: the same settings (preset, tuned range estimator and bias
    /// correction), fully quantized. Null when unknown.
    /// </summary>
    public Func<ModelProto>? FullyQuantized { get; init; }

    /// <summary>
    /// The intermediate model written with compression.dump_intermediate_model (-DumpIntermediateModel) next to
    /// <paramref name="outputPath"/>: &lt;stem&gt;.int8-full.onnx, the fully quantized model before any layer was reverted
    /// (&lt;stem&gt; is the output's file name without .onnx).
    /// </summary>
    public static IReadOnlyList<string> IntermediatePaths(string outputPath)
    {
        string full = Path.GetFullPath(outputPath);
        string stem = full.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? Path.GetFileNameWithoutExtension(full) : Path.GetFileName(full);
        return new[] { Path.Combine(Path.GetDirectoryName(full)!, stem + ".int8-full.onnx") };
    }

    /// <summary>The report written next to a model: '&lt;name&gt;.report.json'.</summary>
    public static string ReportPathFor(string outputPath) => Reports.ReportJson.PathFor(outputPath);

    /// <summary>
    /// Writes the model (through a temporary file) and then its JSON report, also when the target was missed.
    /// Returns the result with the paths filled in.
    /// </summary>
    /// <param name="dumpIntermediateModels">Also write <see cref="IntermediatePaths"/> (first, so the report can list it).</param>
    /// <param name="overwrite">False: an existing file is OutputExists, also when it appears while the run was going on.</param>
    public AccuracyAwareResult Save(string outputPath, string? modelPath, CancellationToken cancellationToken = default, bool dumpIntermediateModels = false,
        bool overwrite = true)
    {
        string full = Path.GetFullPath(outputPath);
        string report = ReportPathFor(full);
        var result = Result with { ModelPath = modelPath, OutputPath = full, ReportPath = report };
        if (dumpIntermediateModels)
        {
            if (FullyQuantized == null) throw new InvalidOperationException("This outcome cannot build its fully quantized model.");
            var paths = IntermediatePaths(full);
            OnnxModelFile.Save(FullyQuantized(), paths[0], cancellationToken, overwrite);
            result = result with { IntermediateModels = paths };
        }
        OnnxModelFile.Save(Model, full, cancellationToken, overwrite);
        AccuracyAwareReport.Write(result, report, overwrite);
        return result;
    }
}
