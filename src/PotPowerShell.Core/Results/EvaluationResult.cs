namespace PotPowerShell.Core.Results;

/// <summary>Metric values of one evaluation.</summary>
/// <param name="Values">Aggregate value per metric name.</param>
/// <param name="PerItem">Per-item value per metric name, aligned with <paramref name="Items"/> (NaN where a metric has none).</param>
/// <param name="Items">Data-set indices that were evaluated.</param>
/// <param name="Elapsed">Wall time of the evaluation.</param>
public sealed record EvaluationResult(
    IReadOnlyDictionary<string, double> Values,
    IReadOnlyDictionary<string, double[]> PerItem,
    IReadOnlyList<int> Items,
    TimeSpan Elapsed)
{
    /// <summary>Items per inference (1 after a <see cref="BatchFallback"/>).</summary>
    public int BatchSize { get; init; }

    /// <summary>
    /// True when a batch of several items could not run although the model's batch axis is dynamic and a batch size
    /// above one was set: ONNX Runtime refused it (as a graph that hard-codes batch 1 behind it does), and that batch and
    /// the rest of the evaluation ran one item per inference; or the data set's items differ in size and are not
    /// batched by size (Evaluation/ShapeGroups.cs), and every item ran alone.
    /// </summary>
    public bool BatchFallback { get; init; }

    /// <summary>Why (ONNX Runtime's message, or which items differ in shape); null without a <see cref="BatchFallback"/>.</summary>
    public string? BatchFallbackReason { get; init; }

    /// <summary>Timed inferences (session runs), warm-up runs excluded.</summary>
    public int Inferences { get; init; }

    /// <summary>Untimed runs of the first batch before the timed ones.</summary>
    public int WarmupRuns { get; init; }

    /// <summary>Time to create the ONNX Runtime session for the model.</summary>
    public TimeSpan SessionCreation { get; init; }

    /// <summary>Wall time of each timed inference in milliseconds, in batch order.</summary>
    public IReadOnlyList<double> BatchMilliseconds { get; init; } = Array.Empty<double>();

    /// <summary>Items in each timed inference (the last batch may hold fewer).</summary>
    public IReadOnlyList<int> BatchItems { get; init; } = Array.Empty<int>();

    /// <summary>Per item (aligned with Items), when requested: the adapter's prediction (top-1 class as long, decoded text, or null).</summary>
    public IReadOnlyList<object?>? Predictions { get; init; }

    /// <summary>Per item (aligned with Items), when requested: the annotation.</summary>
    public IReadOnlyList<object?>? Annotations { get; init; }

    /// <summary>Items whose outputs held NaN or ±Inf; every metric scored them at its worst value.</summary>
    public int NonFiniteItems { get; init; }

    /// <summary>The first such item (data-set index), or null.</summary>
    public int? FirstNonFiniteItem { get; init; }

    /// <summary>
    /// True when the evaluation stopped before its last item because the caller's stop rule said so: Items, PerItem and
    /// Values then cover the items measured first only, in the order measured (see EvaluationRequest.StopWhen).
    /// </summary>
    public bool StoppedEarly { get; init; }

    /// <summary>
    /// Per metric name, a continuous per-item score tied to the metric, higher = better, aligned with Items (the label's
    /// margin for accuracy, 1 / (1 + edit distance) for exact text match, the value itself otherwise). Empty when
    /// the evaluator gives none; layer ranking then uses <see cref="PerItem"/>.
    /// </summary>
    public IReadOnlyDictionary<string, double[]> Signals { get; init; } = new Dictionary<string, double[]>();

    /// <summary>
    /// Per metric name, how close each item is to another per-item value, smaller = closer, aligned with Items (the
    /// label's margin for accuracy; for a right line read by CTC decoding, its smallest margin over the time steps).
    /// Decided-early evaluations order items at the same value by it. Empty when the evaluator gives none.
    /// </summary>
    public IReadOnlyDictionary<string, double[]> Fragility { get; init; } = new Dictionary<string, double[]>();

    /// <summary>
    /// Per metric name, for metrics over the whole data set that can be computed again with weighted items (F1 and the
    /// like over a confusion matrix, the segmentation metrics, map): their per-item parts, for the paired bootstrap.
    /// Kept with <see cref="Predictions"/> only.
    /// </summary>
    internal IReadOnlyDictionary<string, IWeightedAggregate> Weighted { get; init; } = new Dictionary<string, IWeightedAggregate>();
}
