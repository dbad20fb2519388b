using PotPowerShell.Core.Data;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Evaluation;

/// <summary>A metric an evaluator computes, by the name AAQ's metrics[] refer to.</summary>
public sealed record MetricDefinition(string Name, MetricDirection Direction)
{
    /// <summary>The engine's type word for it (accuracy, cosine_similarity, script ...); null when unknown.</summary>
    public string? Type { get; init; }
}

/// <summary>
/// Evaluates models on a labelled validation set (the Accuracy Checker's role in POT). Implementations cache what
/// does not depend on the model (decoded inputs, FP32 reference outputs for similarity metrics).
/// </summary>
public interface IEvaluator
{
    IReadOnlyList<MetricDefinition> Metrics { get; }

    /// <summary>Why <paramref name="metric"/> has no value (NaN) on <paramref name="items"/> items (<see cref="MetricSpec.NoValue"/>).</summary>
    string NoValue(string metric, int items) => MetricSpec.NoValueOf(metric, items);

    /// <summary>The validation items, model-ready (preprocessed, by input name).</summary>
    IDataset Data { get; }

    /// <summary>Evaluates a serialized model on all items, or on <paramref name="items"/> only.</summary>
    EvaluationResult Evaluate(byte[] model, IReadOnlyList<int>? items, CancellationToken cancellationToken, IProgress<PotProgress>? progress = null);

    /// <summary>
    /// As <see cref="Evaluate(byte[], IReadOnlyList{int}?, CancellationToken, IProgress{PotProgress}?)"/>, but
    /// <paramref name="stopWhen"/> may stop it after any item (see <see cref="EvaluationRequest.StopWhen"/>). An
    /// evaluator that cannot stop early evaluates every item.
    /// </summary>
    EvaluationResult Evaluate(byte[] model, IReadOnlyList<int>? items, Func<int, IReadOnlyDictionary<string, double[]>, bool>? stopWhen,
        CancellationToken cancellationToken, IProgress<PotProgress>? progress = null) => Evaluate(model, items, cancellationToken, progress);

    /// <summary>
    /// Per-item value bounds of metrics whose value is the mean of their per-item values (NaN items skipped), by metric
    /// name: what lets an evaluation stop once its outcome is decided. Metrics not listed are not such means.
    /// </summary>
    IReadOnlyDictionary<string, (double Min, double Max)> MeanItemBounds => new Dictionary<string, (double, double)>();

    /// <summary>
    /// Gets ready to evaluate <paramref name="model"/> next (called on another thread while the current model is being
    /// evaluated, so the work overlaps): the next evaluation of the same array may use what this prepared. Results must
    /// be the same as without it. An evaluator that prepares nothing ignores it.
    /// </summary>
    void PrepareSession(byte[] model) { }

    /// <summary>
    /// Measures the fastest batch size for models like <paramref name="model"/> and uses it from now on, when nothing
    /// fixes it; results must be the same whichever size is used. Null = nothing measured or changed.
    /// </summary>
    BatchSizeChoice? ChooseBatchSize(byte[] model, CancellationToken cancellationToken) => null;

    /// <summary>
    /// Holds the large initializers of <paramref name="model"/> that every candidate carries (lookup tables, quantized
    /// weights) once for the sessions of the models serialized by the returned <see cref="SharedInitializers"/> (the
    /// candidates of one run), and frees them at the next call or when the evaluator is disposed. Null = nothing
    /// shared: the caller serializes models whole.
    /// </summary>
    SharedInitializers? ShareInitializers(global::Onnx.ModelProto model) => null;
}
