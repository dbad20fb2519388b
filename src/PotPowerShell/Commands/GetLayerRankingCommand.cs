using System.Management.Automation;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Infrastructure;

namespace PotPowerShell.Commands;

/// <summary>
/// Ranks the quantized layers of a model by how much reverting each one to float would help, without reverting
/// anything. Emits LayerRank objects, best revert first; their names bind to Invoke-DefaultQuantization -IgnoredScope.
/// </summary>
[Cmdlet(VerbsCommon.Get, "LayerRanking", DefaultParameterSetName = ResultSet)]
[OutputType(typeof(LayerRank))]
public sealed class GetLayerRankingCommand : PotCmdlet
{
    private const string ResultSet = "Result";
    private const string ConfigSet = "Config";
    private const string PathSet = "Path";

    /// <summary>An Invoke-DefaultQuantization result: its model, calibration data and options are quantized again the same way.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ResultSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public QuantizationResult InputObject { get; set; } = null!;

    /// <summary>A POT configuration with an engine; its DefaultQuantization (or AccuracyAwareQuantization) options are used.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ConfigSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public PotConfig Config { get; set; } = null!;

    /// <summary>The float ONNX model. Binds from a path string, a PotModel (its Path) or a file (PSPath/FullName) in the pipeline.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "FullName", "Path")]
    [ValidateNotNullOrEmpty]
    public string ModelPath { get; set; } = "";

    /// <summary>Calibration data (.npy folder or .npz). With -Config it replaces the engine's data as calibration data.</summary>
    [Parameter(Mandatory = true, Position = 2, ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = ConfigSet)]
    [ValidateNotNullOrEmpty]
    public string CalibrationDataPath { get; set; } = "";

    /// <summary>
    /// The evaluation engine (YAML). Required with a quantization result or paths; with -Config it replaces the config's
    /// engine. First in both positional forms: Get-LayerRanking engine.yml, and Get-LayerRanking engine.yml model.onnx calibration.
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ResultSet)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = ConfigSet)]
    [ValidateNotNullOrEmpty]
    public string EnginePath { get; set; } = "";

    /// <summary>Emit only the best N layers.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Top { get; set; }

    [Parameter]
    [ValidateSet("Signal", "Metric", "OutputError")]
    public string Method { get; set; } = "Signal";

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int RankingSubsetSize { get; set; }

    /// <summary>Method OutputError: how many of the top layers the real metric confirms.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int ConfirmTopLayers { get; set; }

    /// <summary>
    /// The quantization to rank: Fastest (default) keeps float the layers that run faster that way on this CPU, as
    /// Invoke-DefaultQuantization does; AllInt8 ranks every layer. A piped result brings its own.
    /// </summary>
    [Parameter]
    [ValidateSet("Fastest", "AllInt8")]
    public string Precision { get; set; } = "Fastest";

    // -CalibrationDataPath and -EnginePath serve every input: checked once (the error rule).
    protected override void BeginProcessing() => RequireSharedFiles(
        MyInvocation.BoundParameters.ContainsKey(nameof(CalibrationDataPath)) ? CalibrationDataPath : null,
        MyInvocation.BoundParameters.ContainsKey(nameof(EnginePath)) ? EnginePath : null);

    protected override void ProcessRecord()
    {
        Run(() =>
        {
            var job = BuildJob();
            var method = Enum.Parse<RankingMethod>(Method, ignoreCase: true);
            WriteVerbose($"Ranking the layers of '{job.ModelPath}' by {method}.");
            var ranking = AccuracyAwarePipeline.Rank(job, method, Progress, CancellationToken);
            WriteVerbose($"Ranked {ranking.Layers.Count} layers on {ranking.SubsetSize} items by {ranking.Metric}: {ranking.Evaluations} evaluations, {ranking.Inferences} inferences.");
            if (ranking.Layers.Count > 1 && ranking.Layers.All(l => l.Score == ranking.Layers[0].Score))
                WriteWarning($"Every layer scored {ranking.Layers[0].Score} on the {ranking.SubsetSize} ranking items, so the order is by name only: the metric has no signal left on them. Use -Method Signal, a larger -RankingSubsetSize, or a metric with per-item detail.");
            foreach (var layer in MyInvocation.BoundParameters.ContainsKey(nameof(Top)) ? ranking.Layers.Take(Top) : ranking.Layers)
                WriteObject(layer);
        });
    }

    private AccuracyAwareJob BuildJob()
    {
        var bound = MyInvocation.BoundParameters;
        AccuracyAwareJob job = ParameterSetName switch
        {
            ResultSet => AccuracyAwareJob.FromQuantization(InputObject, ResolveLiteralPath(EnginePath)),
            ConfigSet => new AccuracyAwareJob
            {
                ModelPath = Config.Model.ModelPath,
                Config = Config,
                Options = Config.FindAlgorithm(AlgorithmNames.AccuracyAware) != null
                    ? Config.ToAccuracyAwareOptions()
                    : new AccuracyAwareOptions { Quantization = Config.ToDefaultQuantizationOptions() },
            },
            _ => new AccuracyAwareJob
            {
                ModelPath = ResolveLiteralPath(ModelPath),
                CalibrationDataPath = ResolveLiteralPath(CalibrationDataPath),
                EnginePath = ResolveLiteralPath(EnginePath),
                Options = new AccuracyAwareOptions(),
            },
        };
        if (ParameterSetName == ConfigSet && bound.ContainsKey(nameof(EnginePath))) job = job with { EnginePath = ResolveLiteralPath(EnginePath) };
        if (ParameterSetName == ConfigSet && bound.ContainsKey(nameof(CalibrationDataPath)))
            job = job with { CalibrationDataPath = ResolveLiteralPath(CalibrationDataPath) };
        if (bound.ContainsKey(nameof(RankingSubsetSize))) job = job with { Options = job.Options with { RankingSubsetSize = RankingSubsetSize } };
        if (bound.ContainsKey(nameof(ConfirmTopLayers))) job = job with { Options = job.Options with { ConfirmTopLayers = ConfirmTopLayers } };
        if (bound.ContainsKey(nameof(Precision)))
            job = job with { Options = job.Options with { Quantization = job.Options.Quantization with { Precision = Enum.Parse<PrecisionMode>(Precision, ignoreCase: true) } } };
        return job with { ScriptMetrics = ScriptBlockMetric.FactoryFor(this), Warnings = new WarningLog(this) };
    }
}
