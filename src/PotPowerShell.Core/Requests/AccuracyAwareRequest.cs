using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Requests;

/// <summary>
/// One AccuracyAwareQuantization input, resolved once from a piped DefaultQuantization result, a <see cref="PotConfig"/>
/// or paths plus parameter overrides: the <see cref="AccuracyAwareJob"/> that <see cref="AccuracyAwarePipeline"/> runs
/// and the files it writes. Invoke-AccuracyAwareQuantization runs it; Get-LayerRanking's <see cref="LayerRankingRequest"/>
/// is one of these plus the ranking's method and layers, so both cmdlets resolve their input the one way.
/// </summary>
public sealed record AccuracyAwareRequest
{
    /// <summary>The model, calibration data, engine and options (AccuracyAwarePipeline opens them).</summary>
    public required AccuracyAwareJob Job { get; init; }

    /// <summary>The model written; by default &lt;model&gt;.aaq.onnx next to the model (see <see cref="WithOutput"/>).</summary>
    public required string OutputPath { get; init; }

    /// <summary>The JSON report written next to <see cref="OutputPath"/>.</summary>
    public string ReportPath => AccuracyAwareOutcome.ReportPathFor(OutputPath);

    /// <summary>The fully quantized model written before any revert (compression.dump_intermediate_model); empty when off.</summary>
    public IReadOnlyList<string> IntermediatePaths =>
        Job.DumpIntermediateModel ? AccuracyAwareOutcome.IntermediatePaths(OutputPath) : Array.Empty<string>();

    /// <summary>What the run aims for, for messages (-WhatIf, the verbose log).</summary>
    public string Target => $"maximal_drop {Job.Options.MaximalDrop} {Job.Options.DropType.ToString().ToLowerInvariant()}, ranking {Job.Options.RankingMethod}";

    /// <summary>
    /// An Invoke-DefaultQuantization result: its model, calibration data and options are quantized again the same way
    /// (see <see cref="AccuracyAwareJob.FromQuantization"/>), evaluated with <paramref name="enginePath"/>.
    /// </summary>
    public static AccuracyAwareRequest FromQuantization(QuantizationResult result, string enginePath)
    {
        ArgumentNullException.ThrowIfNull(result);
        return Of(AccuracyAwareJob.FromQuantization(result, enginePath));
    }

    /// <summary>
    /// A configuration: its model, its engine (replaced by <paramref name="enginePath"/> when given) and its
    /// AccuracyAwareQuantization options (see <see cref="AccuracyAwareJob.FromConfig"/> for
    /// <paramref name="defaultQuantizationSuffices"/>). <paramref name="calibrationDataPath"/> replaces the engine's data
    /// as calibration data.
    /// </summary>
    public static AccuracyAwareRequest FromConfig(PotConfig config, string? enginePath, string? calibrationDataPath, bool defaultQuantizationSuffices = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Of(AccuracyAwareJob.FromConfig(config, defaultQuantizationSuffices) with { EnginePath = enginePath, CalibrationDataPath = calibrationDataPath });
    }

    /// <summary>A model, its calibration data and an engine, with the default options.</summary>
    public static AccuracyAwareRequest FromPaths(string modelPath, string calibrationDataPath, string enginePath) => Of(new AccuracyAwareJob
    {
        ModelPath = modelPath,
        CalibrationDataPath = calibrationDataPath,
        EnginePath = enginePath,
        Options = new AccuracyAwareOptions(),
    });

    /// <summary>The request with the options the user gave (see <see cref="AccuracyAwareOverrides"/>).</summary>
    public AccuracyAwareRequest WithOverrides(AccuracyAwareOverrides overrides)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        return this with { Job = Job with { Options = overrides.ApplyTo(Job.Options) } };
    }

    /// <summary>
    /// The request that writes <paramref name="outputPath"/> (null: &lt;model&gt;.aaq.onnx), replacing existing outputs only
    /// with <paramref name="overwrite"/>, and the fully quantized model too when <paramref name="dumpIntermediateModel"/>
    /// says so (null: the configuration's compression.dump_intermediate_model, else off).
    /// </summary>
    public AccuracyAwareRequest WithOutput(string? outputPath, bool overwrite, bool? dumpIntermediateModel = null) => this with
    {
        OutputPath = outputPath ?? DefaultOutputPath(Job.ModelPath),
        Job = Job with { Overwrite = overwrite, DumpIntermediateModel = dumpIntermediateModel ?? Job.DumpIntermediateModel },
    };

    /// <summary>The request whose search starts from <paramref name="ranking"/> (rankings measured beforehand); null: it measures one.</summary>
    public AccuracyAwareRequest WithRanking(IReadOnlyList<LayerRank>? ranking) => this with { Job = Job with { Ranking = ranking } };

    /// <summary>The request whose engine runs 'type: script' metrics with <paramref name="factory"/>.</summary>
    public AccuracyAwareRequest WithScriptMetrics(ScriptMetricFactory? factory) => this with { Job = Job with { ScriptMetrics = factory } };

    /// <summary>The request whose engine's warnings go to <paramref name="warnings"/>.</summary>
    public AccuracyAwareRequest WithWarnings(IProgress<string>? warnings) => this with { Job = Job with { Warnings = warnings } };

    /// <summary>&lt;model&gt;.aaq.onnx next to the model (its report: &lt;model&gt;.aaq.report.json).</summary>
    public static string DefaultOutputPath(string model) =>
        Path.Combine(Path.GetDirectoryName(model) ?? ".", Path.GetFileNameWithoutExtension(model) + ".aaq.onnx");

    private static AccuracyAwareRequest Of(AccuracyAwareJob job) => new() { Job = job, OutputPath = DefaultOutputPath(job.ModelPath) };
}
