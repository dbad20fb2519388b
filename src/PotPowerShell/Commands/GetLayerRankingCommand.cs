using System.Management.Automation;
using PotPowerShell.Core;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Requests;
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

    /// <summary>
    /// Rank these layers only: one shard of a ranking, to run on another host (Invoke-Command, Start-Job,
    /// ForEach-Object -Parallel). Shards score their layers as a whole ranking would, so their results merge by score
    /// (Invoke-AccuracyAwareQuantization -Ranking).
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Layer { get; set; }

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
        MyInvocation.BoundParameters.ContainsKey(nameof(EnginePath)) ? EnginePath : null, engineOrDataFolder: true);

    protected override void ProcessRecord()
    {
        Run(() =>
        {
            var request = BuildRequest();
            WriteVerbose($"Ranking the layers of '{request.Job.ModelPath}' by {request.Method}.");
            // Written as they come, and kept on every rank for Export-PotReport.
            var warnings = new List<string>();
            var ranking = LayerRankingPipeline.Run(request, Progress, new WarningLog(this, warnings), CancellationToken);
            WriteVerbose($"Ranked {ranking.Layers.Count} layers on {ranking.SubsetSize} items by {ranking.Metric}: {ranking.Evaluations} evaluations, {ranking.Inferences} inferences.");
            foreach (var layer in MyInvocation.BoundParameters.ContainsKey(nameof(Top)) ? ranking.Layers.Take(Top) : ranking.Layers)
                WriteObject(layer with { Warnings = warnings });
        });
    }

    /// <summary>This input's request: its source (result, configuration or paths) and the options given as parameters.</summary>
    private LayerRankingRequest BuildRequest()
    {
        var bound = MyInvocation.BoundParameters;
        string? Given(string name, string path) => bound.ContainsKey(name) ? ResolveLiteralPath(path) : null;
        // Invoke-AccuracyAwareQuantization takes the model first, so its order given here puts the model where the engine goes.
        static bool IsModel(string path) => path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);
        if (ParameterSetName == PathSet && IsModel(EnginePath) && !IsModel(ModelPath))
            throw new PotException("ArgumentOrder", PotErrorCategory.InvalidArgument,
                $"-EnginePath '{EnginePath}' is an ONNX model and -ModelPath '{ModelPath}' is not. Get-LayerRanking takes the engine first: "
                + "Get-LayerRanking <engine.yml> <model.onnx> <calibration> (Invoke-AccuracyAwareQuantization takes <model.onnx> <calibration> <engine.yml>); "
                + "or name the parameters.", EnginePath);
        var request = ParameterSetName switch
        {
            ResultSet => LayerRankingRequest.FromQuantization(InputObject, ResolveLiteralPath(EnginePath)),
            ConfigSet => LayerRankingRequest.FromConfig(Config, Given(nameof(EnginePath), EnginePath), Given(nameof(CalibrationDataPath), CalibrationDataPath)),
            _ => LayerRankingRequest.FromPaths(ResolveLiteralPath(ModelPath), ResolveLiteralPath(CalibrationDataPath), ResolveLiteralPath(EnginePath)),
        };
        request = request.WithOverrides(
            bound.ContainsKey(nameof(RankingSubsetSize)) ? RankingSubsetSize : null,
            bound.ContainsKey(nameof(ConfirmTopLayers)) ? ConfirmTopLayers : null,
            bound.ContainsKey(nameof(Precision)) ? Enum.Parse<PrecisionMode>(Precision, ignoreCase: true) : null);
        return request.WithScriptMetrics(ScriptBlockMetric.FactoryFor(this)) with
        {
            Method = Enum.Parse<RankingMethod>(Method, ignoreCase: true),
            Layers = Layer,
        };
    }
}
