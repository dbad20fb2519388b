using System.Management.Automation;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Requests;
using PotPowerShell.Infrastructure;

namespace PotPowerShell.Commands;

/// <summary>
/// POT's DefaultQuantization for an ONNX model: calibrates with ONNX Runtime, applies bias correction and writes an
/// INT8 QDQ model that ONNX Runtime runs with INT8 kernels. Returns a QuantizationResult.
/// </summary>
// Three parameter sets: Path (model + calibration data), Config (a piped or given PotConfig: its model, engine data and
// options) and ConfigModel (-Config with models from the pipeline or -ModelPath: each model with the config's engine and
// options). ModelPath is not in the Config set, so a piped PotConfig never binds its own Path (the .json file) to it.
[Cmdlet(VerbsLifecycle.Invoke, "DefaultQuantization", SupportsShouldProcess = true, DefaultParameterSetName = PathSet)]
[OutputType(typeof(QuantizationResult))]
public sealed class InvokeDefaultQuantizationCommand : QuantizingCmdlet
{
    private const string PathSet = "Path";
    private const string ConfigSet = "Config";
    private const string ConfigModelSet = "ConfigModel";

    /// <summary>The float ONNX model. Binds from a path string, a PotModel (its Path) or a file (PSPath/FullName) in the pipeline.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ConfigModelSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "FullName", "Path")]
    [ValidateNotNullOrEmpty]
    public string ModelPath { get; set; } = "";

    /// <summary>A folder of .npy files (one per model input, named after it) or an .npz archive. With -Config it replaces the engine's data.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = ConfigModelSet)]
    [ValidateNotNullOrEmpty]
    public string CalibrationDataPath { get; set; } = "";

    /// <summary>
    /// A POT configuration (Import-PotConfig): model (Config set), engine (calibration data) and the DefaultQuantization
    /// (or AccuracyAwareQuantization) parameters. Parameters given on the command line override the config's values.
    /// </summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ConfigSet)]
    [Parameter(Mandatory = true, ParameterSetName = ConfigModelSet)]
    [ValidateNotNull]
    public PotConfig Config { get; set; } = null!;

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int StatSubsetSize { get; set; }

    [Parameter]
    [ValidateRange(1, 4096)]
    public int StatBatchSize { get; set; } = 1;

    [Parameter]
    public SwitchParameter ShuffleData { get; set; }

    [Parameter]
    [ValidateSet("Auto", "U8S8", "U8S7", "S8S8")]
    public string Types { get; set; } = "Auto";

    /// <summary>Deprecated: the same as -Precision AllInt8 (kept so that existing scripts run).</summary>
    [Parameter(DontShow = true)]
    public SwitchParameter QuantizeStemConvolutions { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? OutputPath { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>
    /// Also writes the intermediate models next to the output: the prepared FP32 model (&lt;output&gt;.prepared.onnx) and,
    /// when bias correction ran, the model before it (&lt;output&gt;.minmax.onnx). Default: the config's
    /// compression.dump_intermediate_model, else off.
    /// </summary>
    [Parameter]
    public SwitchParameter DumpIntermediateModel { get; set; }

    // -CalibrationDataPath serves every model of the pipeline: checked once (the error rule).
    protected override void BeginProcessing() =>
        RequireSharedFiles(MyInvocation.BoundParameters.ContainsKey(nameof(CalibrationDataPath)) ? CalibrationDataPath : null);

    protected override void ProcessRecord()
    {
        DefaultQuantizationRequest? request = null;
        if (!Run(() => request = BuildRequest())) return;
        string model = request!.ModelPath;
        string output = request.OutputPath;
        var options = request.Options;
        if (!CheckOutputIsNotInput(output, model)) return;
        if (!CheckNotWrittenBefore(output) || !request.Outputs.All(o => CheckOutputPath(o, Force))) return;
        string what = $"Quantize '{model}' (preset {options.Preset}, target device {options.TargetDevice}) with calibration data '{request.DataDescription}'";
        if (!ShouldProcess(output, request.DumpIntermediateModels ? what + " and write its intermediate models" : what)) return;

        WriteVerbose($"Quantizing '{model}' with '{request.DataDescription}' into '{output}'.");
        Run(() =>
        {
            var result = DefaultQuantizationPipeline.Run(request, Progress, new WarningLog(this), CancellationToken);
            RememberWritten(output);
            foreach (var warning in result.Warnings) WriteWarning(warning);
            foreach (var layer in result.Layers.Where(l => l.ReasonCode == nameof(LayerReason.FasterInFloat)))
                WriteVerbose($"Kept '{layer.Node}' float, {layer.Reason}. -Precision AllInt8 quantizes it too.");
            WriteObject(result);
        });
    }

    private DefaultQuantizationRequest BuildRequest()
    {
        var bound = MyInvocation.BoundParameters;
        string? output = OutputPath != null ? ResolveLiteralPath(OutputPath) : null;
        var request = ParameterSetName == PathSet
            ? DefaultQuantizationRequest.FromPaths(ResolveLiteralPath(ModelPath), ResolveLiteralPath(CalibrationDataPath), BuildOptions(new DefaultQuantizationOptions()), output)
            : DefaultQuantizationRequest.FromConfig(Config, ParameterSetName == ConfigSet ? null : ResolveLiteralPath(ModelPath),
                bound.ContainsKey(nameof(CalibrationDataPath)) ? ResolveLiteralPath(CalibrationDataPath) : null,
                BuildOptions(Config.ToDefaultQuantizationOptions()), output);
        if (bound.ContainsKey(nameof(DumpIntermediateModel))) request = request with { DumpIntermediateModels = DumpIntermediateModel.IsPresent };
        return request with { Overwrite = Force };
    }

    private DefaultQuantizationOptions BuildOptions(DefaultQuantizationOptions baseOptions)
    {
        var bound = MyInvocation.BoundParameters;
        var options = ApplyQuantizationParameters(baseOptions);
        if (bound.ContainsKey(nameof(StatSubsetSize))) options = options with { StatSubsetSize = StatSubsetSize };
        if (bound.ContainsKey(nameof(StatBatchSize))) options = options with { StatBatchSize = StatBatchSize };
        if (bound.ContainsKey(nameof(ShuffleData))) options = options with { ShuffleData = ShuffleData.IsPresent };
        if (bound.ContainsKey(nameof(Types))) options = options with { Types = Enum.Parse<QuantizationTypes>(Types, ignoreCase: true) };
        if (bound.ContainsKey(nameof(QuantizeStemConvolutions)))
        {
            WriteWarning("-QuantizeStemConvolutions is deprecated: it now means -Precision AllInt8 (every layer INT8). Use -Precision AllInt8 instead.");
            if (QuantizeStemConvolutions.IsPresent && !bound.ContainsKey(nameof(Precision))) options = options with { Precision = PrecisionMode.AllInt8 };
        }
        return options;
    }
}
