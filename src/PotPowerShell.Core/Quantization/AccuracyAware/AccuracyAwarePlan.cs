using PotPowerShell.Core.Results;
using PotPowerShell.Core.Config;
using System.Globalization;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// What a run will cost, before it runs: inferences (items inferred) of the baseline, of one ranking and of one search
/// step, and the worst case (every layer reverted, a ranking before each step). POT cannot say this in advance
/// (the issues in docs about AAQ running for hours); the search then usually stops far below the worst case.
/// </summary>
/// <param name="Layers">Quantizable layers.</param>
/// <param name="Items">Validation items.</param>
/// <param name="RankingItems">Items of a ranking set.</param>
/// <param name="BaselineInferences">FP32 and the fully quantized model on every item.</param>
/// <param name="RankingInferences">One ranking: every layer reverted alone, plus the current model, on the ranking set.</param>
/// <param name="StepInferences">One search step at most: the confirmed layers (Signal) or one layer, on every item.</param>
/// <param name="WorstCaseInferences">Baseline, then for every layer a ranking and a step.</param>
public sealed record AccuracyAwarePlan(int Layers, int Items, int RankingItems, long BaselineInferences, long RankingInferences, long StepInferences, long WorstCaseInferences)
{
    /// <summary>
    /// True when a backward pass follows the search (backward_pass): in ranking order one try per float layer, each up to
    /// every item, and again for a layer after another is quantized again; smallest increase first about one per float
    /// layer after an estimate of each (<see cref="AccuracyAware.BackwardPass"/>). Not in <see cref="WorstCaseInferences"/>: how often a
    /// layer is tried again depends on what the tries find.
    /// </summary>
    public bool BackwardPass { get; init; }

    public static AccuracyAwarePlan For(AccuracyAwareOptions options, int layers, int items)
    {
        if (options.RankingMethod == RankingMethod.Auto)
        {
            // Chosen once the fully quantized model is measured (RankingChoice): the dearer of the two may be.
            var signal = For(options with { RankingMethod = RankingMethod.Signal }, layers, items);
            var metric = For(options with { RankingMethod = RankingMethod.Metric }, layers, items);
            return metric.WorstCaseInferences > signal.WorstCaseInferences ? metric : signal;
        }
        int rankingItems = Math.Min(options.RankingSubsetSize ?? SearchRankings.DefaultSubsetSize(options.RankingMethod), items);
        bool outputError = options.RankingMethod == RankingMethod.OutputError;
        // output_error: an instrumented pass (FP32 and the current model on the ranking set, in one session), then the
        // confirmed layers and the current model; otherwise every layer and the current model.
        long rankingEvaluations = outputError ? Math.Min(options.ConfirmTopLayers, layers) + 2L : layers + 1L;
        long ranking = (outputError ? rankingEvaluations + 1 : rankingEvaluations) * rankingItems;
        long stepEvaluations = options.RankingMethod == RankingMethod.Signal ? Math.Min(Math.Max(1, options.ConfirmOnFullSet), Math.Max(1, layers)) : 1L;
        int steps = Math.Min(layers, options.MaxIterations ?? layers);
        long baseline = 2L * items;
        return new AccuracyAwarePlan(layers, items, rankingItems, baseline, ranking, stepEvaluations * items, baseline + steps * (ranking + stepEvaluations * items))
        {
            BackwardPass = options.BackwardPass,
            RankingEvaluations = rankingEvaluations,
            StepEvaluations = stepEvaluations,
            WorstCaseEvaluations = 2 + steps * (rankingEvaluations + stepEvaluations),
        };
    }

    /// <summary>The plan of a job from its model and engine, without running anything (-WhatIf): layers as the model inspection counts them.</summary>
    public static AccuracyAwarePlan Estimate(AccuracyAwareJob job)
    {
        int layers = PotModelInspector.Inspect(job.ModelPath).QuantizableLayerCount;
        var engine = job.EnginePath != null ? EngineDefinition.Load(job.EnginePath, job.Options.AnnotationFree) : AccuracyAwarePipeline.EngineOf(job.Config!, job.Options.AnnotationFree);
        using var data = engine.OpenDataset();
        return For(job.Options, layers, data.Count);
    }

    /// <summary>
    /// Models evaluated: by the baseline (FP32 and the fully quantized model), by one ranking (every layer reverted alone
    /// and the current model, or for output_error the confirmed layers), by one search step, and in the worst case.
    /// Each is a model built and an ONNX Runtime session created: on a small model that costs more than its inferences
    /// (MiniLM on 50 items: about 45 ms against 40 ms, bench/Bench-AccuracyAware.ps1 NOTES).
    /// </summary>
    public int BaselineEvaluations => 2;
    public long RankingEvaluations { get; init; }
    public long StepEvaluations { get; init; }
    public long WorstCaseEvaluations { get; init; }

    /// <summary>
    /// One sentence; with the time of one inference (from the timed baseline) and of one evaluation's session (from the
    /// fully quantized model's), the times too. Both are the whole model's: a candidate run from stored activations
    /// costs less, so the times are upper estimates.
    /// </summary>
    public string Describe(TimeSpan? perInference = null, TimeSpan perEvaluation = default)
    {
        string T(long inferences, long evaluations) => perInference is { } t
            ? $" (about {Format(TimeSpan.FromTicks(t.Ticks * inferences + perEvaluation.Ticks * evaluations))})" : "";
        return $"{Layers} layers, {Items} validation items: baseline {BaselineInferences} inferences{T(BaselineInferences, BaselineEvaluations)}, each ranking "
            + $"{RankingInferences} ({Layers} layers on {RankingItems} items){T(RankingInferences, RankingEvaluations)}, each search step up to {StepInferences}{T(StepInferences, StepEvaluations)}; "
            + $"worst case (every layer, a ranking per step) {WorstCaseInferences}{T(WorstCaseInferences, WorstCaseEvaluations)}"
            + (BackwardPass ? $"; then the backward pass, up to {Items}{T(Items, 1)} per try: in ranking order a try per float layer, again after another is quantized again; "
                + $"smallest increase first about one try per float layer, after {(Items >= 2 * AccuracyAware.BackwardPass.EstimateItems ? $"an estimate of each on {AccuracyAware.BackwardPass.EstimateItems} items" : "a try of each alone")}." : ".");
    }

    private static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{t.TotalHours.ToString("0.#", CultureInfo.InvariantCulture)} h"
        : t.TotalMinutes >= 1 ? $"{t.TotalMinutes.ToString("0.#", CultureInfo.InvariantCulture)} min"
        : $"{t.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s";
}
