using System.Management.Automation;
using PotPowerShell.Core;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Requests;
using PotPowerShell.Core.Results;
using PotPowerShell.Infrastructure;

namespace PotPowerShell.Commands;

/// <summary>
/// POT's AccuracyAwareQuantization: DefaultQuantization, then layers reverted to float until every metric is within
/// maximal_drop. Always writes a model and a JSON report (the best model seen, also when the target is missed) and
/// returns an AccuracyAwareResult. The per-iteration log goes to the verbose stream.
/// </summary>
// Config is the default set so that a piped PotConfig binds to -Config: PowerShell tries the default set first, and
// in the Path set the config's own Path property would bind to -ModelPath (alias Path, there for PotModel input).
[Cmdlet(VerbsLifecycle.Invoke, "AccuracyAwareQuantization", SupportsShouldProcess = true, DefaultParameterSetName = ConfigSet)]
[OutputType(typeof(AccuracyAwareResult))]
public sealed class InvokeAccuracyAwareQuantizationCommand : QuantizingCmdlet
{
    private const string PathSet = "Path";
    private const string ConfigSet = "Config";

    /// <summary>A POT configuration (Import-PotConfig) with an AccuracyAwareQuantization entry and an engine.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ConfigSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public PotConfig Config { get; set; } = null!;

    /// <summary>The float ONNX model. Binds from a path string, a PotModel (its Path) or a file (PSPath/FullName) in the pipeline.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "FullName", "Path")]
    [ValidateNotNullOrEmpty]
    public string ModelPath { get; set; } = "";

    /// <summary>
    /// A folder of .npy files (one per model input, named after it) or an .npz archive. With -Config it replaces the
    /// engine's data as calibration data (the engine still evaluates).
    /// </summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = ConfigSet)]
    [ValidateNotNullOrEmpty]
    public string CalibrationDataPath { get; set; } = "";

    /// <summary>The evaluation engine (YAML): validation data, labels and metrics. With -Config it replaces the config's engine.</summary>
    [Parameter(Mandatory = true, Position = 2, ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = ConfigSet)]
    [ValidateNotNullOrEmpty]
    public string EnginePath { get; set; } = "";

    [Parameter]
    [ValidateRange(0.0, double.MaxValue)]
    public double MaximalDrop { get; set; }

    // String parameters instead of the core's enums: an enum-typed member makes PowerShell load the core assembly while
    // it inspects this type at import, before the module's resolver is registered.
    [Parameter]
    [ValidateSet("Absolute", "Relative")]
    public string DropType { get; set; } = "Absolute";

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int RankingSubsetSize { get; set; }

    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int MaxIterations { get; set; }

    [Parameter]
    [ValidateSet("Auto", "Signal", "Metric", "OutputError")]
    public string RankingMethod { get; set; } = "Auto";

    /// <summary>OutputError ranking: how many of the top layers the real metric confirms.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int ConfirmTopLayers { get; set; }

    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int MaxEvaluations { get; set; }

    /// <summary>POT's tune_hyperparams: search the range estimators and bias correction before reverting layers.</summary>
    [Parameter]
    public SwitchParameter TuneHyperparams { get; set; }

    /// <summary>POT's convert_to_mixed_preset: try the mixed preset before reverting layers (performance preset only).</summary>
    [Parameter]
    public SwitchParameter ConvertToMixedPreset { get; set; }

    /// <summary>Signal ranking: how many top layers are evaluated on the full validation set before the best is kept (default 3).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int ConfirmOnFullSet { get; set; }

    /// <summary>Workers that evaluate side by side on one ONNX Runtime session (POT's eval_requests_number); default 2 where two threads are allowed.</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int EvaluationWorkers { get; set; }

    /// <summary>Items each evaluation infers at once; default: the engine's batch_size, else measured before the search.</summary>
    [Parameter]
    [ValidateRange(1, 4096)]
    public int EvaluationBatchSize { get; set; }

    /// <summary>Stop evaluations whose outcome is decided (on by default; -DecideEarly:$false evaluates every item).</summary>
    [Parameter]
    public SwitchParameter DecideEarly { get; set; }

    /// <summary>
    /// Run each candidate from the stored activations of the model one layer away, only from its changed layer on (on by
    /// default; -ReuseActivations:$false infers every candidate whole). The results are the same.
    /// </summary>
    [Parameter]
    public SwitchParameter ReuseActivations { get; set; }

    [Parameter]
    public TimeSpan TimeLimit { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? OutputPath { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>
    /// Rankings measured beforehand with Get-LayerRanking (one run, or shards of -Layer run elsewhere, also as the
    /// deserialized objects remoting and jobs return): the search starts from them instead of measuring its first ranking.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public PSObject[]? Ranking { get; set; }

    /// <summary>
    /// Where the search state is written after every evaluation (config: checkpoint_path). The same command run again
    /// after an interruption resumes from it and ends with the same model; it is deleted once the outputs are written.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CheckpointPath { get; set; }

    /// <summary>
    /// What a reverted layer gives back (config: restore_mode, NNCF's RestoreMode). ActivationsAndWeights (default, POT):
    /// it runs in float. OnlyActivations: a reverted MatMul or Gemm keeps INT8 weights and ONNX Runtime quantizes its
    /// activation at run time, where this CPU's layer timings say that is faster than float.
    /// </summary>
    [Parameter]
    [ValidateSet("ActivationsAndWeights", "OnlyActivations")]
    public string RestoreMode { get; set; } = "ActivationsAndWeights";

    /// <summary>
    /// Also writes the fully quantized model, before any layer is reverted, next to the output as
    /// &lt;output&gt;.int8-full.onnx. Default: the config's compression.dump_intermediate_model, else off.
    /// </summary>
    [Parameter]
    public SwitchParameter DumpIntermediateModel { get; set; }

    // -CalibrationDataPath and -EnginePath serve every input: checked once (the error rule).
    protected override void BeginProcessing() => RequireSharedFiles(
        MyInvocation.BoundParameters.ContainsKey(nameof(CalibrationDataPath)) ? CalibrationDataPath : null,
        MyInvocation.BoundParameters.ContainsKey(nameof(EnginePath)) ? EnginePath : null, engineOrDataFolder: true);

    protected override void ProcessRecord()
    {
        AccuracyAwareRequest? request = null;
        if (!Run(() => request = BuildRequest())) return;
        var job = request!.Job;
        string model = job.ModelPath;
        string output = request.OutputPath;
        if (!CheckOutputIsNotInput(output, model)) return;
        if (!CheckNotWrittenBefore(output) || !CheckOutputPath(output, Force) || !CheckOutputPath(request.ReportPath, Force) || !request.IntermediatePaths.All(d => CheckOutputPath(d, Force))) return;
        string what = $"Quantize '{model}' with AccuracyAwareQuantization ({request.Target}) and write the model and its report";
        // -WhatIf says what the run would cost, from layer and item counts only (nothing is inferred).
        if (MyInvocation.BoundParameters.ContainsKey("WhatIf") && !Run(() => what += $" (planned: {AccuracyAwarePlan.Estimate(job).Describe()})")) return;
        if (!ShouldProcess(output, job.DumpIntermediateModel ? what + ", and the fully quantized model before any revert" : what)) return;

        WriteVerbose($"AccuracyAwareQuantization of '{model}' into '{output}' ({request.Target}).");
        Run(() =>
        {
            var result = AccuracyAwarePipeline.Run(job, output, Progress, new VerboseLog(this), CancellationToken);
            RememberWritten(output);
            if (!result.Met) WriteWarning(result.Reason);
            // Met is not enough for a runbook: a model with every layer float is no quantization at all.
            if (result.QuantizedLayerCount > 0 && result.RevertedLayerCount >= result.QuantizedLayerCount)
                WriteWarning($"No INT8 layer is left: all {result.QuantizedLayerCount} quantized layers were reverted to float, so '{result.OutputPath}' runs as the FP32 model does. Raise -MaximalDrop, or check the metric and the validation data.");
            foreach (var warning in result.Warnings) WriteWarning(warning);
            WriteObject(result);
        });
    }

    /// <summary>This input's request: its source (configuration or paths), the options and outputs given as parameters.</summary>
    private AccuracyAwareRequest BuildRequest()
    {
        var bound = MyInvocation.BoundParameters;
        string? Given(string name, string path) => bound.ContainsKey(name) ? ResolveLiteralPath(path) : null;
        var request = ParameterSetName == ConfigSet
            ? AccuracyAwareRequest.FromConfig(Config, Given(nameof(EnginePath), EnginePath), Given(nameof(CalibrationDataPath), CalibrationDataPath))
            : AccuracyAwareRequest.FromPaths(ResolveLiteralPath(ModelPath), ResolveLiteralPath(CalibrationDataPath), ResolveLiteralPath(EnginePath));
        request = request
            .WithOutput(OutputPath != null ? ResolveLiteralPath(OutputPath) : null, Force, bound.ContainsKey(nameof(DumpIntermediateModel)) ? DumpIntermediateModel.IsPresent : null)
            .WithRanking(Ranking?.Select(LayerRankOf).ToList());
        if (request.Job.CalibrationDataPath != null) RequestFiles.RequireCalibrationData(request.Job.CalibrationDataPath);
        request = request.WithOverrides(Overrides());
        // A bare number converts to ticks in PowerShell: -TimeLimit 600 would mean 60 microseconds. Checked after the
        // quantization parameters are applied, so that of several bad parameters the same one is named first.
        if (bound.ContainsKey(nameof(TimeLimit)) && TimeLimit < TimeSpan.FromSeconds(1))
            throw new PotException("InvalidTimeLimit", PotErrorCategory.InvalidArgument,
                $"-TimeLimit {TimeLimit} is shorter than a second. Write it as a time span, e.g. '00:10:00' or (New-TimeSpan -Minutes 10).", TimeLimit);
        return request.WithScriptMetrics(ScriptBlockMetric.FactoryFor(this)).WithWarnings(new WarningLog(this));
    }

    /// <summary>Only parameters the user gave override the configuration (or the defaults).</summary>
    private AccuracyAwareOverrides Overrides()
    {
        var bound = MyInvocation.BoundParameters;
        T? Given<T>(string name, T value) where T : struct => bound.ContainsKey(name) ? value : null;
        return new AccuracyAwareOverrides
        {
            Quantization = ApplyQuantizationParameters,
            MaximalDrop = Given(nameof(MaximalDrop), MaximalDrop),
            DropType = bound.ContainsKey(nameof(DropType)) ? Enum.Parse<DropType>(DropType, ignoreCase: true) : null,
            RankingSubsetSize = Given(nameof(RankingSubsetSize), RankingSubsetSize),
            MaxIterations = Given(nameof(MaxIterations), MaxIterations),
            RankingMethod = bound.ContainsKey(nameof(RankingMethod)) ? Enum.Parse<RankingMethod>(RankingMethod, ignoreCase: true) : null,
            ConfirmTopLayers = Given(nameof(ConfirmTopLayers), ConfirmTopLayers),
            MaxEvaluations = Given(nameof(MaxEvaluations), MaxEvaluations),
            TuneHyperparameters = Given(nameof(TuneHyperparams), TuneHyperparams.IsPresent),
            ConvertToMixedPreset = Given(nameof(ConvertToMixedPreset), ConvertToMixedPreset.IsPresent),
            ConfirmOnFullSet = Given(nameof(ConfirmOnFullSet), ConfirmOnFullSet),
            EvaluationWorkers = Given(nameof(EvaluationWorkers), EvaluationWorkers),
            EvaluationBatchSize = Given(nameof(EvaluationBatchSize), EvaluationBatchSize),
            DecideEarly = Given(nameof(DecideEarly), DecideEarly.IsPresent),
            ReuseActivations = Given(nameof(ReuseActivations), ReuseActivations.IsPresent),
            TimeLimit = Given(nameof(TimeLimit), TimeLimit),
            CheckpointPath = bound.ContainsKey(nameof(CheckpointPath)) ? ResolveLiteralPath(CheckpointPath!) : null,
            RestoreMode = bound.ContainsKey(nameof(RestoreMode)) ? Enum.Parse<Core.Config.RestoreMode>(RestoreMode, ignoreCase: true) : null,
        };
    }

    /// <summary>A LayerRank, or what remoting and jobs turn one into (a property bag with the same names).</summary>
    private static LayerRank LayerRankOf(PSObject item, int index)
    {
        if (item.BaseObject is LayerRank rank) return rank;
        object? Value(string name) => item.Properties[name]?.Value;
        string? layer = Value(nameof(LayerRank.Layer))?.ToString();
        if (string.IsNullOrEmpty(layer))
            throw new PotException("RankingInvalid", PotErrorCategory.InvalidArgument,
                $"-Ranking item {index + 1} ('{item}') has no Layer property. Give the objects Get-LayerRanking returns, also deserialized ones from Invoke-Command or Receive-Job.", item.ToString());
        double score = Value(nameof(LayerRank.Score)) is { } s ? LanguagePrimitives.ConvertTo<double>(s) : double.NaN;
        var method = Enum.TryParse<RankingMethod>(Value(nameof(LayerRank.Method))?.ToString(), ignoreCase: true, out var m) ? m : Core.Config.RankingMethod.Signal;
        int position = Value(nameof(LayerRank.Rank)) is { } r ? LanguagePrimitives.ConvertTo<int>(r) : index + 1;
        double outputError = Value(nameof(LayerRank.OutputError)) is { } e ? LanguagePrimitives.ConvertTo<double>(e) : double.NaN;
        return new LayerRank(position, layer, Value(nameof(LayerRank.OpType))?.ToString() ?? "", score, method,
            new MetricValues(), outputError);
    }

    /// <summary>The core logs from the pipeline thread, so each line can go straight to Write-Verbose.</summary>
    private sealed class VerboseLog(PSCmdlet owner) : IProgress<string>
    {
        public void Report(string value) => owner.WriteVerbose(value);
    }
}
