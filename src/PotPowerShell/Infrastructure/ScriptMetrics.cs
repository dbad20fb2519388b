using System.Collections;
using System.Management.Automation;
using PotPowerShell.Core;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;

namespace PotPowerShell.Infrastructure;

/// <summary>
/// Runs PowerShell code as a per-sample metric: a scriptblock (Measure-PotModel -Metric) or a .ps1 file named by an
/// engine's 'type: script' metric. The code is called once per item, on the pipeline thread, as
/// <c>param($Outputs, $Annotation, $Sample)</c>: $Outputs maps each output name to that item's values (float[]),
/// $Annotation is the label (a number, a string or a float[]), $Sample has Index, Prediction and Shapes. It returns
/// one number.
/// </summary>
internal sealed class ScriptBlockMetric(ScriptBlock script, string name, string? path) : ISampleMetric
{
    public double Measure(SampleMetricInput sample)
    {
        var outputs = new Hashtable(StringComparer.OrdinalIgnoreCase);
        var shapes = new Hashtable(StringComparer.OrdinalIgnoreCase);
        foreach (var (output, tensor) in sample.Outputs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            outputs[output] = tensor.ToFloats();
            shapes[output] = tensor.Shape;
        }
        object? annotation = sample.Annotation is TensorData t ? t.ToFloats() : sample.Annotation;
        var info = new PSObject();
        info.Properties.Add(new PSNoteProperty("Index", sample.Index));
        info.Properties.Add(new PSNoteProperty("Prediction", sample.Prediction));
        info.Properties.Add(new PSNoteProperty("Shapes", shapes));
        System.Collections.ObjectModel.Collection<PSObject> results;
        try
        {
            results = script.Invoke(outputs, annotation, info);
        }
        catch (RuntimeException e)
        {
            throw new PotException("MetricScriptFailed", PotErrorCategory.InvalidOperation,
                $"The metric '{name}'{Where} failed on item {sample.Index}: {e.Message}{Position(e)}", path ?? name, e);
        }
        var values = results.Where(r => r != null).ToList();
        if (values.Count != 1)
            throw new PotException("MetricScriptResultInvalid", PotErrorCategory.InvalidData,
                $"The metric '{name}'{Where} returned {values.Count} values for item {sample.Index}; it must return exactly one number per sample.", path ?? name);
        try
        {
            return LanguagePrimitives.ConvertTo<double>(values[0]);
        }
        catch (PSInvalidCastException e)
        {
            throw new PotException("MetricScriptResultInvalid", PotErrorCategory.InvalidData,
                $"The metric '{name}'{Where} returned '{values[0]}' for item {sample.Index}, which is not a number.", path ?? name, e);
        }
    }

    private string Where => path == null ? "" : $" ('{path}')";

    private static string Position(RuntimeException e) =>
        e.ErrorRecord?.InvocationInfo is { ScriptLineNumber: > 0 } i ? $" (line {i.ScriptLineNumber})" : "";

    /// <summary>The factory the core calls for 'type: script' metrics of an engine: loads the .ps1 as an external script.</summary>
    public static ScriptMetricFactory FactoryFor(PSCmdlet cmdlet) => request =>
    {
        var command = cmdlet.InvokeCommand.GetCommand(request.ScriptPath, CommandTypes.ExternalScript) as ExternalScriptInfo;
        if (command?.ScriptBlock == null)
            throw new PotException("MetricScriptNotLoadable", PotErrorCategory.InvalidData,
                $"{request.KeyPath}.path: the script '{request.ScriptPath}' of metric '{request.Name}' cannot be loaded as a PowerShell script.", request.ScriptPath);
        return new ScriptBlockMetric(command.ScriptBlock, request.Name, request.ScriptPath);
    };
}
