using System.Management.Automation;
using PotPowerShell.Core;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Models;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Infrastructure;

namespace PotPowerShell.Commands;

/// <summary>
/// POT's DefaultQuantization for an ONNX model: calibrates with ONNX Runtime, applies bias correction and writes an
/// INT8 QDQ model that ONNX Runtime runs with INT8 kernels. Returns a QuantizationResult.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "DefaultQuantization", SupportsShouldProcess = true, DefaultParameterSetName = PathSet)]
[OutputType(typeof(QuantizationResult))]
public sealed class InvokeDefaultQuantizationCommand : PotCmdlet
{
    private const string PathSet = "Path";

    /// <summary>The float ONNX model. Binds from a PotModel (its Path) or a file (PSPath/FullName) in the pipeline.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "FullName", "Path")]
    [ValidateNotNullOrEmpty]
    public string ModelPath { get; set; } = "";

    /// <summary>A folder of .npy files (one per model input, named after it) or an .npz archive.</summary>
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string CalibrationDataPath { get; set; } = "";

    // Preset, TargetDevice and Types are strings, not the core's enums: an enum-typed field would make the CLR load the
    // core assembly while PowerShell inspects this type at import, before the module's resolver is registered.
    [Parameter]
    [ValidateSet("Performance", "Mixed", "Accuracy")]
    public string Preset { get; set; } = "Performance";

    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int StatSubsetSize { get; set; }

    [Parameter]
    [ValidateRange(1, 4096)]
    public int StatBatchSize { get; set; } = 1;

    [Parameter]
    public int Seed { get; set; }

    [Parameter]
    public SwitchParameter ShuffleData { get; set; }

    [Parameter]
    [ValidateSet("Any", "CPU", "GPU", "NPU")]
    public string TargetDevice { get; set; } = "Any";

    [Parameter]
    [ValidateNotNull]
    public string[] IgnoredScope { get; set; } = Array.Empty<string>();

    [Parameter]
    [ValidateNotNull]
    public string[] IgnoredOpType { get; set; } = Array.Empty<string>();

    [Parameter]
    [ValidateSet("Auto", "U8S8", "U8S7", "S8S8")]
    public string Types { get; set; } = "Auto";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? OutputPath { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        string model = ResolveLiteralPath(ModelPath);
        string data = ResolveLiteralPath(CalibrationDataPath);
        string output = OutputPath != null ? ResolveLiteralPath(OutputPath) : DefaultOutputPath(model);
        if (!Directory.Exists(data) && !File.Exists(data))
        {
            WriteError(ToErrorRecord(new PotException("CalibrationDataNotFound", PotErrorCategory.ObjectNotFound,
                $"The calibration data '{data}' does not exist. Give a folder of .npy files (one per model input, named after it) or an .npz archive.", data)));
            return;
        }
        if (string.Equals(Path.GetFullPath(output), Path.GetFullPath(model), StringComparison.Ordinal))
        {
            WriteError(ToErrorRecord(new PotException("OutputIsInput", PotErrorCategory.InvalidArgument,
                $"The output path '{output}' is the input model. Choose another -OutputPath.", output)));
            return;
        }
        DefaultQuantizationOptions? options = null;
        if (!Run(() => options = BuildOptions(new DefaultQuantizationOptions()))) return;
        if (!CheckNotWrittenBefore(output) || !CheckOutputPath(output, Force)) return;
        if (!ShouldProcess(output, $"Quantize '{model}' (preset {options!.Preset}, target device {options.TargetDevice}) with calibration data '{data}'")) return;

        WriteVerbose($"Quantizing '{model}' with '{data}' into '{output}'.");
        Run(() =>
        {
            var dataset = NpyDataset.Open(data);
            var result = DefaultQuantization.Run(model, dataset, options, output, Progress, CancellationToken);
            RememberWritten(output);
            foreach (var warning in result.Warnings) WriteWarning(warning);
            WriteObject(result);
        });
    }

    /// <summary>&lt;model&gt;.int8.onnx next to the model.</summary>
    private static string DefaultOutputPath(string model) =>
        Path.Combine(Path.GetDirectoryName(model) ?? ".", Path.GetFileNameWithoutExtension(model) + ".int8.onnx");

    /// <summary>
    /// Applies the parameters the user gave on top of <paramref name="baseOptions"/> (defaults, or a configuration's
    /// options): only bound parameters override, so a configuration keeps its own values otherwise.
    /// </summary>
    private DefaultQuantizationOptions BuildOptions(DefaultQuantizationOptions baseOptions)
    {
        var bound = MyInvocation.BoundParameters;
        var options = baseOptions;
        if (bound.ContainsKey(nameof(Preset))) options = options with { Preset = Enum.Parse<QuantizationPreset>(Preset, ignoreCase: true) };
        if (bound.ContainsKey(nameof(StatSubsetSize))) options = options with { StatSubsetSize = StatSubsetSize };
        if (bound.ContainsKey(nameof(StatBatchSize))) options = options with { StatBatchSize = StatBatchSize };
        if (bound.ContainsKey(nameof(Seed))) options = options with { Seed = Seed };
        if (bound.ContainsKey(nameof(ShuffleData))) options = options with { ShuffleData = ShuffleData.IsPresent };
        if (bound.ContainsKey(nameof(TargetDevice))) options = options with { TargetDevice = Enum.Parse<TargetDevice>(TargetDevice, ignoreCase: true) };
        if (bound.ContainsKey(nameof(Types))) options = options with { Types = Enum.Parse<QuantizationTypes>(Types, ignoreCase: true) };
        if (bound.ContainsKey(nameof(IgnoredScope)))
            options = options with { IgnoredNodes = options.IgnoredNodes.Concat(IgnoredScope).ToList() };
        if (bound.ContainsKey(nameof(IgnoredOpType)))
            options = options with { IgnoredOperations = options.IgnoredOperations.Concat(IgnoredOpType.Select(IgnoredOperationSyntax.Parse)).ToList() };
        return options;
    }
}
