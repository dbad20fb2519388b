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
/// one number. A dataset-level metric (level: dataset, -MetricLevel Dataset) is called once as <c>param($Samples)</c>:
/// one object per item, in item order, with Index, Outputs, Shapes, Annotation and Prediction; it returns one number.
/// </summary>
internal sealed class ScriptBlockMetric(ScriptBlock script, string name, string? path) : ISampleMetric, IDatasetMetric
{
    public double Measure(SampleMetricInput sample)
    {
        var (outputs, shapes) = Outputs(sample);
        var info = new PSObject();
        info.Properties.Add(new PSNoteProperty("Index", sample.Index));
        info.Properties.Add(new PSNoteProperty("Prediction", sample.Prediction));
        info.Properties.Add(new PSNoteProperty("Shapes", shapes));
        return Run($"item {sample.Index}", "per sample", outputs, Annotation(sample), info);
    }

    public double Measure(IReadOnlyList<SampleMetricInput> samples)
    {
        var items = samples.Select(sample =>
        {
            var (outputs, shapes) = Outputs(sample);
            var item = new PSObject();
            item.Properties.Add(new PSNoteProperty("Index", sample.Index));
            item.Properties.Add(new PSNoteProperty("Outputs", outputs));
            item.Properties.Add(new PSNoteProperty("Shapes", shapes));
            item.Properties.Add(new PSNoteProperty("Annotation", Annotation(sample)));
            item.Properties.Add(new PSNoteProperty("Prediction", sample.Prediction));
            return item;
        }).ToArray();
        // One argument: the array itself, not its items spread over parameters.
        return Run($"the {items.Length} items", "for the whole set", new object[] { items });
    }

    private static (Hashtable Outputs, Hashtable Shapes) Outputs(SampleMetricInput sample)
    {
        var outputs = new Hashtable(StringComparer.OrdinalIgnoreCase);
        var shapes = new Hashtable(StringComparer.OrdinalIgnoreCase);
        foreach (var (output, tensor) in sample.Outputs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            outputs[output] = tensor.ToFloats();
            shapes[output] = tensor.Shape;
        }
        return (outputs, shapes);
    }

    private static object? Annotation(SampleMetricInput sample) => sample.Annotation is TensorData t ? t.ToFloats() : sample.Annotation;

    private double Run(string what, string expected, params object?[] args)
    {
        System.Collections.ObjectModel.Collection<PSObject> results;
        try
        {
            results = script.Invoke(args);
        }
        catch (RuntimeException e)
        {
            throw new PotException("MetricScriptFailed", PotErrorCategory.InvalidOperation,
                $"The metric '{name}'{Where} failed on {what}: {e.Message}{Position(e)}", path ?? name, e);
        }
        var values = results.Where(r => r != null).ToList();
        if (values.Count != 1)
            throw new PotException("MetricScriptResultInvalid", PotErrorCategory.InvalidData,
                $"The metric '{name}'{Where} returned {values.Count} values for {what}; it must return exactly one number {expected}.", path ?? name);
        try
        {
            return LanguagePrimitives.ConvertTo<double>(values[0]);
        }
        catch (PSInvalidCastException e)
        {
            throw new PotException("MetricScriptResultInvalid", PotErrorCategory.InvalidData,
                $"The metric '{name}'{Where} returned '{values[0]}' for {what}, which is not a number.", path ?? name, e);
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
