using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Evaluation;

/// <summary>What a per-sample custom metric sees for one item.</summary>
/// <param name="Index">The item's index in the evaluator's data set.</param>
/// <param name="Outputs">Every model output for this item, by output name, as float32 of shape [1, ...].</param>
/// <param name="Annotation">The item's label: a long, double, string or <see cref="TensorData"/>, or null.</param>
/// <param name="Prediction">The adapter's prediction: the top-1 class (long) for classification, the decoded text for
/// ctc_greedy, null for identity.</param>
public sealed record SampleMetricInput(int Index, IReadOnlyDictionary<string, TensorData> Outputs, object? Annotation, object? Prediction);

/// <summary>
/// A custom metric computed per sample; the aggregate is the mean over samples (NaN values are skipped). Called on
/// the thread that called Evaluate, one sample at a time.
/// </summary>
public interface ISampleMetric
{
    double Measure(SampleMetricInput sample);
}

/// <summary>A custom metric handed to an <see cref="Evaluator"/> in code (the cmdlet layer wraps PowerShell scriptblocks this way).</summary>
public sealed class CustomMetric
{
    public CustomMetric(string name, MetricDirection direction, ISampleMetric metric, bool requiresAnnotation = true)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A metric needs a name.", nameof(name));
        Name = name;
        Direction = direction;
        Metric = metric;
        RequiresAnnotation = requiresAnnotation;
    }

    public string Name { get; }
    public MetricDirection Direction { get; }
    public ISampleMetric Metric { get; }
    public bool RequiresAnnotation { get; }

    public static CustomMetric FromFunction(string name, MetricDirection direction, Func<SampleMetricInput, double> measure, bool requiresAnnotation = true) =>
        new(name, direction, new FunctionMetric(measure), requiresAnnotation);

    private sealed class FunctionMetric(Func<SampleMetricInput, double> measure) : ISampleMetric
    {
        public double Measure(SampleMetricInput sample) => measure(sample);
    }
}

/// <summary>A metric the engine file names as 'type: script' that the host must turn into code.</summary>
/// <param name="KeyPath">Where the engine declares it, for messages.</param>
public sealed record ScriptMetricRequest(string Name, string ScriptPath, MetricDirection Direction, bool RequiresAnnotation, string KeyPath);

/// <summary>
/// Supplied by the host (the PowerShell layer) to run 'type: script' metrics: the core cannot run PowerShell.
/// </summary>
public delegate ISampleMetric ScriptMetricFactory(ScriptMetricRequest request);
