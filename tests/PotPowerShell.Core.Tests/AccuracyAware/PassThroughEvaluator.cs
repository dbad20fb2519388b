using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>
/// Passes evaluations, bounds and prepared sessions on to a real evaluator, and nothing else: no batch-size probe and
/// no shared tables (<see cref="IEvaluator.ShareInitializers"/>), so every model is serialized whole.
/// </summary>
internal class PassThroughEvaluator(Evaluator inner) : IEvaluator
{
    protected Evaluator Inner => inner;
    public IReadOnlyList<MetricDefinition> Metrics => inner.Metrics;
    public IDataset Data => inner.Data;
    public IReadOnlyDictionary<string, (double Min, double Max)> MeanItemBounds => inner.MeanItemBounds;
    public virtual EvaluationResult Evaluate(byte[] model, IReadOnlyList<int>? items, CancellationToken cancellationToken, IProgress<PotProgress>? progress = null) =>
        inner.Evaluate(model, items, cancellationToken, progress);
    public virtual EvaluationResult Evaluate(byte[] model, IReadOnlyList<int>? items, Func<int, IReadOnlyDictionary<string, double[]>, bool>? stopWhen,
        CancellationToken cancellationToken, IProgress<PotProgress>? progress = null) => inner.Evaluate(model, items, stopWhen, cancellationToken, progress);
    public virtual void PrepareSession(byte[] model) => inner.PrepareSession(model);
}
