using PotPowerShell.Core.Data;
using PotPowerShell.Core.Results;

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

/// <summary>
/// A custom metric computed once over the whole set (mAP-like: not a mean of per-item values): it receives every
/// item's outputs, annotation and prediction, in item order, and returns the value. Items have no per-item value, so
/// AccuracyAwareQuantization ranks and decides on whole-set evaluations of its subsets.
/// </summary>
public interface IDatasetMetric
{
    double Measure(IReadOnlyList<SampleMetricInput> samples);
}

/// <summary>A custom metric handed to an <see cref="Evaluator"/> in code (the cmdlet layer wraps PowerShell scriptblocks this way).</summary>
public sealed class CustomMetric
{
    public CustomMetric(string name, MetricDirection direction, ISampleMetric metric, bool requiresAnnotation = true)
        : this(name, direction, requiresAnnotation) => Metric = metric;

    /// <summary>A dataset-level metric: <paramref name="metric"/> sees every item at once.</summary>
    public CustomMetric(string name, MetricDirection direction, IDatasetMetric metric, bool requiresAnnotation = true)
        : this(name, direction, requiresAnnotation) => DatasetMetric = metric;

    private CustomMetric(string name, MetricDirection direction, bool requiresAnnotation)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A metric needs a name.", nameof(name));
        Name = name;
        Direction = direction;
        RequiresAnnotation = requiresAnnotation;
    }

    public string Name { get; }
    public MetricDirection Direction { get; }
    /// <summary>The per-item code, or null for a dataset-level metric.</summary>
    public ISampleMetric? Metric { get; }

    /// <summary>The dataset-level code, or null for a per-item metric.</summary>
    public IDatasetMetric? DatasetMetric { get; }
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
public sealed record ScriptMetricRequest(string Name, string ScriptPath, MetricDirection Direction, bool RequiresAnnotation, string KeyPath)
{
    /// <summary>Dataset: the script is called once with every item and must come back as an <see cref="IDatasetMetric"/>.</summary>
    public MetricLevel Level { get; init; } = MetricLevel.Item;
}

/// <summary>
/// Supplied by the host (the PowerShell layer) to run 'type: script' metrics: the core cannot run PowerShell.
/// </summary>
public delegate ISampleMetric ScriptMetricFactory(ScriptMetricRequest request);
