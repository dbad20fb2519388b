using System.Management.Automation;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Infrastructure;

/// <summary>
/// The DefaultQuantization parameters that Invoke-DefaultQuantization and Invoke-AccuracyAwareQuantization share (the
/// latter for its base model), declared and applied to <see cref="DefaultQuantizationOptions"/> in one place. Only
/// parameters the user gave override the configuration (or the defaults).
/// </summary>
// Preset, TargetDevice and the other choices are strings, not the core's enums: an enum-typed field would make the CLR
// load the core assembly while PowerShell inspects this type at import, before the module's resolver is registered.
public abstract class QuantizingCmdlet : PotCmdlet
{
    [Parameter]
    [ValidateSet("Performance", "Mixed", "Accuracy")]
    public string Preset { get; set; } = "Performance";

    [Parameter]
    [ValidateSet("Any", "CPU", "GPU", "NPU")]
    public string TargetDevice { get; set; } = "Any";

    /// <summary>Layers (node names, or /regular expressions/) that stay float, added to the config's ignored scope.</summary>
    [Parameter]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(NodeNameCompleter))]
    public string[] IgnoredScope { get; set; } = Array.Empty<string>();

    /// <summary>Op types, optionally with attributes ('Type' or 'Type:name=value;...'), that stay float.</summary>
    [Parameter]
    [ValidateNotNull]
    [ArgumentCompleter(typeof(OpTypeCompleter))]
    public string[] IgnoredOpType { get; set; } = Array.Empty<string>();

    /// <summary>
    /// POT's model_type: Transformer quantizes the inputs of activation-by-activation MatMuls symmetrically (on Any, CPU
    /// and GPU). Auto (the default) detects transformer graphs; None opts out.
    /// </summary>
    [Parameter]
    [ValidateSet("Auto", "None", "Transformer")]
    public string ModelType { get; set; } = "Auto";

    [Parameter]
    public int Seed { get; set; }

    /// <summary>
    /// Fastest (default): on target devices Any and CPU, layers that run faster in float on this CPU (measured, with
    /// the conversions to their neighbours) stay float, and so do those that make it no faster (whole models within
    /// 3 % count as equally fast, and the one with fewer INT8 layers is kept). AllInt8: every layer INT8, as POT does.
    /// </summary>
    [Parameter]
    [ValidateSet("Fastest", "AllInt8")]
    public string Precision { get; set; } = "Fastest";

    /// <summary>The batch size the layer timings and the final latency check use (default 1).</summary>
    [Parameter]
    [ValidateRange(1, 4096)]
    public int BatchSize { get; set; } = 1;

    /// <summary>Skips timing the output against the FP32 model at the end.</summary>
    [Parameter]
    public SwitchParameter SkipLatencyCheck { get; set; }

    /// <summary>Leaves NaN and Inf out of the calibration statistics, with a warning that counts them, instead of failing with NonFiniteCalibrationData.</summary>
    [Parameter]
    public SwitchParameter SkipNonFiniteValues { get; set; }

    /// <summary>The shared parameters the user gave, applied over <paramref name="options"/>.</summary>
    protected DefaultQuantizationOptions ApplyQuantizationParameters(DefaultQuantizationOptions options)
    {
        var bound = MyInvocation.BoundParameters;
        if (bound.ContainsKey(nameof(Preset))) options = options with { Preset = Enum.Parse<QuantizationPreset>(Preset, ignoreCase: true) };
        if (bound.ContainsKey(nameof(TargetDevice))) options = options with { TargetDevice = Enum.Parse<TargetDevice>(TargetDevice, ignoreCase: true) };
        if (bound.ContainsKey(nameof(IgnoredScope))) options = options with { IgnoredNodes = options.IgnoredNodes.Concat(IgnoredScope).ToList() };
        if (bound.ContainsKey(nameof(IgnoredOpType)))
            options = options with { IgnoredOperations = options.IgnoredOperations.Concat(IgnoredOpType.Select(IgnoredOperationSyntax.Parse)).ToList() };
        if (bound.ContainsKey(nameof(ModelType))) options = options with { ModelType = TransformerModelType.FromParameter(ModelType) };
        if (bound.ContainsKey(nameof(Seed))) options = options with { Seed = Seed };
        if (bound.ContainsKey(nameof(Precision))) options = options with { Precision = Enum.Parse<PrecisionMode>(Precision, ignoreCase: true) };
        if (bound.ContainsKey(nameof(BatchSize))) options = options with { BatchSize = BatchSize };
        if (bound.ContainsKey(nameof(SkipLatencyCheck))) options = options with { SkipLatencyCheck = SkipLatencyCheck.IsPresent };
        if (bound.ContainsKey(nameof(SkipNonFiniteValues))) options = options with { SkipNonFiniteValues = SkipNonFiniteValues.IsPresent };
        return options;
    }
}
