using System.Diagnostics;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// AccuracyAwareQuantization with POT's semantics (every parameter of its documentation) on top of a calibrated
/// DefaultQuantization: baseline, fully quantized evaluation, optional mixed preset and hyperparameter tuning, then
/// the greedy revert search and our backward pass. It always ends with a model: the best one evaluated.
/// </summary>
public sealed class AccuracyAwareQuantizer
{
    private readonly AccuracyAwareOptions _options;
    private readonly BuilderCatalogue _catalogue;

    public AccuracyAwareQuantizer(AccuracyAwareOptions options)
    {
        OptionsValidation.Validate(options);
        _options = options;
        _catalogue = new BuilderCatalogue(options);
    }

    /// <summary>
    /// Builds a DefaultQuantization of the same model with other settings (mixed preset, tuned range estimator or bias
    /// correction), reusing calibration statistics where it can. Needed for convert_to_mixed_preset and tune_hyperparams.
    /// </summary>
    public Func<DefaultQuantizationOptions, IQuantizedModelBuilder>? BuilderFactory { get; init; }

    /// <summary>The instrumented pass for OutputError ranking; null = ONNX Runtime on the evaluator's data.</summary>
    public ILayerOutputProbe? OutputProbe { get; init; }

    public IProgress<PotProgress>? Progress { get; init; }

    /// <summary>Receives each log line as it is written (the cmdlet forwards them to -Verbose).</summary>
    public IProgress<string>? Log { get; init; }

    /// <summary>
    /// Rankings measured beforehand (Get-LayerRanking, possibly in shards on other hosts, -Layer): the search starts
    /// from them instead of measuring its first ranking. Every layer must be one of the model's quantized layers.
    /// </summary>
    public IReadOnlyList<LayerRank>? Ranking { get; init; }

    /// <summary>
    /// Build the next candidate and create its session while the current one is evaluated (see
    /// <see cref="EvaluationSession.Evaluate"/>); false = one thing at a time (tests compare both: same results).
    /// </summary>
    internal bool PrefetchCandidates { get; init; } = true;

    /// <summary>Memory the stored activations may hold (see <see cref="ActivationReuse"/>); null = its default. Tests set a small one.</summary>
    internal long? ActivationBudget { get; init; }

    /// <summary>Elapsed time since the run started; null = a stopwatch. Tests inject a fake clock to exercise TimeLimit.</summary>
    public Func<TimeSpan>? Clock { get; init; }

    /// <param name="builder">The calibrated DefaultQuantization of the model (its options are <see cref="AccuracyAwareOptions.Quantization"/>).</param>
    /// <param name="evaluator">The validation set and metrics.</param>
    public AccuracyAwareOutcome Run(IQuantizedModelBuilder builder, IEvaluator evaluator, CancellationToken cancellationToken = default)
    {
        if (Ranking != null) CheckLayers(builder, Ranking.Select(r => r.Layer), "RankingLayerUnknown", "-Ranking");
        var ctx = CreateContext(builder, evaluator, cancellationToken);
        try
        {
            return Run(ctx, builder);
        }
        finally
        {
            ctx.Session.Settle();
        }
    }

    /// <summary>
    /// The stages in order, each handing its outcome to the next: baseline, fully quantized, mixed preset, tuning, the
    /// revert search, the backward pass. The run owns the best-model tracker, which every full-set evaluation feeds.
    /// </summary>
    private AccuracyAwareOutcome Run(SearchContext ctx, IQuantizedModelBuilder builder)
    {
        var source = new QuantizationSource(_options.Quantization.Preset.ToString().ToLowerInvariant(), _options.Quantization, builder);
        var fullyQuantized = ModelCandidate.FullyQuantized(source);

        // The batch size is measured before the fully quantized model is evaluated, which then runs at the chosen size
        // too: on a large set that saves more than the probe costs (OcrRec, 1000 lines: the evaluation took 8.0 s at 32
        // items per batch and 6.1 s at the chosen 2, the probe 1.7 s; bench/Bench-AccuracyAware.ps1 NOTES). A model that
        // meets the target fully quantized pays the probe for nothing.
        var (baseline, batchSize) = BaselineAndBatchSize(ctx, fullyQuantized);
        var best = new BestModelTracker(baseline.Criteria);
        // Every full-set evaluation competes for the returned model, including ranking runs when the subset is the whole set.
        ctx.Session.FullSetEvaluated = (candidate, result) => best.Consider(candidate, result.Values);
        EvaluationResult quantizedResult;
        using (ctx.Stages.Stage("Quantized"))
        {
            ctx.Report("Evaluating the fully quantized model");
            quantizedResult = ctx.Session.Evaluate(fullyQuantized, null, mandatory: true);
        }
        ctx.Log($"Fully quantized ({builder.Layers.Count} INT8 layers): {baseline.Describe(quantizedResult.Values)}.");
        if (ctx.Options.RankingMethod == RankingMethod.Auto)
        {
            var (method, why) = RankingChoice.Choose(ctx, baseline, quantizedResult);
            ctx.UseRanking(method);
            ctx.Log($"Ranking: {why}");
        }

        // No search: nothing reverted, nothing recorded.
        var search = new SearchOutcome(fullyQuantized);
        bool searched = false;
        if (!baseline.Criteria.AllMet(quantizedResult.Values))
        {
            LogPlan(ctx, builder, quantizedResult, batchSize);
            var start = new StageOutcome(source, fullyQuantized);
            try
            {
                start = ConvertToMixed(ctx, baseline, start);
                if (!best.Met && _options.TuneHyperparameters)
                    start = HyperparameterTuner.Run(ctx, baseline, _catalogue, start.Source, ctx.Session.Evaluate(start.Model, null), RequireFactory("tune_hyperparams"));
                if (!best.Met)
                {
                    searched = true;
                    search = ctx.Options.RankingMethod == RankingMethod.Signal ? ConfirmedSearch.Run(ctx, baseline, start.Model) : GreedySearch.Run(ctx, baseline, start.Model);
                    if (search.Stop == null && _options.BackwardPass) search = BackwardPass.Run(ctx, baseline, search);
                }
                if (best.Met && !search.BudgetExhausted) search = DynamicPass.Run(ctx, baseline, search, best.Candidate!);
            }
            catch (BudgetExhaustedException e)
            {
                // Used up by the mixed preset or tuning: the search (which ends on a used-up budget itself) has not begun.
                search = search.Exhausted(e);
            }
            if (search.BudgetExhausted) ctx.Log($"Stopped: {search.Stop}; returning the best model so far.");
        }

        var model = best.Candidate!;
        string reason = Reason(baseline, best, search.Stop, searched, builder.Layers.Count);
        ctx.Log(reason);
        var result = BuildResult(ctx, baseline, best, search, quantizedResult, reason);
        return new AccuracyAwareOutcome(result, model.Build()) { FullyQuantized = () => ModelCandidate.FullyQuantized(model.Source).Build() };
    }

    /// <summary>
    /// The baseline stage, then the evaluator measures the batch size of the evaluations to come on the fully quantized
    /// model (the kind of model each of them runs), unless an item's outputs may depend on its batch-mates
    /// (<see cref="DecidedEarly.BatchIndependent"/>); with a batch size given it only checks whether the model mixes the
    /// items of a batch. A timing, so the verbose stream shows it and the result's log does not. A model that mixes them
    /// is evaluated one item at a time when no batch size is given, the baseline again: rankings and decided-early
    /// evaluations run some of the items or another order, so in other batches than a complete evaluation, and would
    /// not give its values.
    /// </summary>
    private static (RunBaseline Baseline, BatchSizeChoice? Choice) BaselineAndBatchSize(SearchContext ctx, ModelCandidate fullyQuantized)
    {
        var baseline = RunBaseline.Evaluate(ctx);
        // A dynamic form's values depend on the batch size (see DynamicPass): it is given, not chosen by timing.
        if (!DecidedEarly.BatchIndependent(ctx) || ctx.Builder.DynamicCapable.Count > 0) return (baseline, null);
        BatchSizeChoice? choice;
        using (ctx.Stages.Stage("BatchSize"))
        {
            ctx.Report("Measuring the evaluation batch size");
            choice = ctx.Session.ChooseBatchSize(fullyQuantized);
        }
        if (choice != null) ctx.Notice(choice.Describe() + ".");
        if (choice?.MixesItems != true) return (baseline, choice);
        string found = FormattableString.Invariant($"An item's outputs change with the other items of its batch (by up to {choice.LargestDifference:0.###%} of their largest value at batch sizes {BatchSizeProbe.Sizes[0]} and {choice.DifferingSize}): the model mixes the items of a batch, e.g. a BatchNormalization in training mode, or a reduction or control flow over the batch axis. ");
        if (choice.Chosen != 1)
        {
            ctx.Warn(found + "Rankings and evaluations decided early run some of the items, or in another order, so in other batches than a complete evaluation, and their values are not the ones it gives: run with -EvaluationBatchSize 1 (batch_size: 1 in the engine), or export the model in inference mode.");
            return (baseline, choice);
        }
        ctx.Warn(found + "So every evaluation runs one item at a time (batch size 1): rankings and evaluations decided early run some of the items, or in another order, so in other batches than a complete evaluation. Export the model in inference mode to evaluate in batches.");
        ctx.Log("Evaluating the FP32 baseline again, one item at a time.");
        return (RunBaseline.Evaluate(ctx), choice);
    }

    /// <summary>
    /// Cost up front, timed on the fully quantized model: at the batch size measured for the evaluations to come, else
    /// from its evaluation.
    /// </summary>
    private void LogPlan(SearchContext ctx, IQuantizedModelBuilder builder, EvaluationResult quantizedResult, BatchSizeChoice? batch)
    {
        var plan = AccuracyAwarePlan.For(ctx.Options, builder.Layers.Count, ctx.Session.ItemCount);
        var timed = batch?.Timings.FirstOrDefault(t => t.BatchSize == batch.Chosen);
        var (perInference, batchSize) = timed != null
            ? (TimeSpan.FromMilliseconds(timed.MillisecondsPerItem), timed.BatchSize)
            : (TimeSpan.FromTicks(quantizedResult.Elapsed.Ticks / Math.Max(1, quantizedResult.Items.Count)), ctx.Session.BatchSize);
        ctx.Log($"Plan: {plan.Describe()}");
        // Each evaluation also builds a model and creates its session: timed by the fully quantized model's.
        var perEvaluation = quantizedResult.SessionCreation;
        ctx.Notice($"Time estimate at {SearchContext.F(perInference.TotalMilliseconds)} ms per inference and {SearchContext.F(perEvaluation.TotalMilliseconds)} ms per evaluation's session "
            + $"(the fully quantized model, batch size {batchSize}; less for a candidate run from stored activations): {plan.Describe(perInference, perEvaluation)}");
        ctx.Report($"Planned: each ranking {plan.RankingInferences} inferences, each step up to {plan.StepInferences}, worst case {plan.WorstCaseInferences}");
    }

    /// <summary>
    /// Ranks the layers of the fully quantized model without reverting anything (Get-LayerRanking): baseline and
    /// quantized evaluations pick the ranking subset, then each layer is scored by <paramref name="method"/>.
    /// </summary>
    /// <param name="layers">Rank these layers only (a shard of the model's quantized layers); null = all of them.</param>
    public LayerRanking RankLayers(IQuantizedModelBuilder builder, IEvaluator evaluator, RankingMethod method, CancellationToken cancellationToken = default,
        IReadOnlyCollection<string>? layers = null)
    {
        if (layers != null) CheckLayers(builder, layers, "LayerUnknown", "-Layer");
        var ctx = CreateContext(builder, evaluator, cancellationToken, _options with { RankingMethod = method, MaxEvaluations = null, TimeLimit = null, CheckpointPath = null });
        var quantized = ModelCandidate.FullyQuantized(new QuantizationSource("base", _options.Quantization, builder));
        var (baseline, _) = BaselineAndBatchSize(ctx, quantized);
        var result = ctx.Session.Evaluate(quantized, null, mandatory: true);
        var metric = baseline.Criteria.MostViolated(result.Values);
        // Each candidate is the fully quantized model with one layer reverted, on the same seeded subset, so a shard's
        // scores are the ones a ranking of every layer gives them: shards ranked apart merge by score.
        try
        {
            return new SearchRankings(ctx, baseline).Rank(quantized, quantized, result, metric, layers) with { Warnings = ctx.Warnings.ToList() };
        }
        finally
        {
            ctx.Session.Settle();
        }
    }

    /// <summary>Refuses layer names that are not quantized layers of the model, naming them and the parameter.</summary>
    private static void CheckLayers(IQuantizedModelBuilder builder, IEnumerable<string> names, string errorId, string parameter)
    {
        var known = builder.Layers.Select(l => l.Node).ToHashSet(StringComparer.Ordinal);
        var unknown = names.Where(n => !known.Contains(n)).Distinct(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
            throw new PotException(errorId, PotErrorCategory.InvalidArgument,
                $"{parameter} names {(unknown.Count == 1 ? "a layer" : "layers")} the model does not quantize: {string.Join(", ", unknown)}. "
                + $"Its quantized layers are: {string.Join(", ", builder.Layers.Select(l => l.Node))}.", unknown[0]);
    }

    private SearchContext CreateContext(IQuantizedModelBuilder builder, IEvaluator evaluator, CancellationToken ct, AccuracyAwareOptions? options = null)
    {
        var clock = Clock;
        if (clock == null)
        {
            var watch = Stopwatch.StartNew();
            clock = () => watch.Elapsed;
        }
        if (evaluator.Data.Count == 0)
            throw new PotException("ValidationSetEmpty", PotErrorCategory.InvalidData,
                $"The validation set '{evaluator.Data.Source}' has no items; AccuracyAwareQuantization needs labelled validation data.", evaluator.Data.Source);
        options ??= _options;
        var checkpoint = options.CheckpointPath is { } path ? SearchCheckpoint.Open(path, SearchCheckpoint.Fingerprint(builder, evaluator, options, Ranking)) : null;
        if (checkpoint is { } c && (c.Resumed > 0 || c.DroppedTornRecord))
            Log?.Report($"Resuming from the checkpoint '{c.Path}': {c.Resumed} evaluations recorded are replayed, not inferred"
                + (c.DroppedTornRecord ? "; the next one was cut short when the run stopped, and runs again." : "."));
        return new SearchContext(options, evaluator, builder, OutputProbe, Progress, Log, clock, ct, checkpoint, PrefetchCandidates, Ranking, ActivationBudget);
    }

    /// <summary>
    /// convert_to_mixed_preset: when the performance (symmetric) preset misses the target, quantize again with the mixed
    /// preset (asymmetric activations); met = done, else the mixed model becomes the base of the search, as in POT.
    /// </summary>
    private StageOutcome ConvertToMixed(SearchContext ctx, RunBaseline baseline, StageOutcome start)
    {
        if (!_options.ConvertToMixedPreset) return start;
        if (_catalogue.Mixed is not { } options)
        {
            ctx.Log($"convert_to_mixed_preset applies to the performance preset only; the preset is already {start.Source.Options.Preset}.");
            return start;
        }
        using var _ = ctx.Stages.Stage("MixedPreset");
        ctx.Session.CheckBudget();
        ctx.Report("Quantizing with the mixed preset");
        var mixed = new QuantizationSource("mixed", options, RequireFactory("convert_to_mixed_preset")(options));
        var candidate = ModelCandidate.FullyQuantized(mixed);
        var result = ctx.Session.Evaluate(candidate, null);
        ctx.Log($"Mixed preset: {baseline.Describe(result.Values)}" + (baseline.Criteria.AllMet(result.Values) ? "; target met." : "; the search continues from the mixed model."));
        return new StageOutcome(mixed, candidate);
    }

    private Func<DefaultQuantizationOptions, IQuantizedModelBuilder> RequireFactory(string key) =>
        BuilderFactory ?? throw new PotException("BuilderFactoryMissing", PotErrorCategory.InvalidOperation,
            $"{key} needs to quantize the model again with other settings, but no DefaultQuantization pipeline was given to AccuracyAwareQuantization.", key);

    private static string Reason(RunBaseline baseline, BestModelTracker tracker, string? stop, bool searched, int layers)
    {
        var best = tracker.Candidate!;
        if (tracker.Met)
        {
            if (best.Reverted.Count == 0)
                return best.Source.Tag == "mixed" ? "Target met by the mixed preset without reverting any layer."
                    : best.Source.TunedSettings != null ? $"Target met by tuned settings ({best.Source.TunedSettings}) without reverting any layer."
                    : searched ? "Target met without reverting any layer." : "The fully quantized model meets the target.";
            return $"Target met with {best.Reverted.Count} of {layers} layers in float: {string.Join(", ", best.Reverted)}.";
        }
        string why = stop ?? "The search ended";
        return $"Target missed: {why}. Returning the best model seen ({best.Reverted.Count} of {layers} layers in float, "
            + $"worst excess {SearchContext.F(baseline.Criteria.WorstExcess(tracker.Values!))} of the baseline over maximal_drop).";
    }

    private static string Megabytes(long bytes) => SearchContext.F(Math.Round(bytes / 1e6, 1));

    private AccuracyAwareResult BuildResult(SearchContext ctx, RunBaseline baseline, BestModelTracker tracker, SearchOutcome search, EvaluationResult quantized, string reason)
    {
        var best = tracker.Candidate!;
        var final = tracker.Values!;
        var layers = best.Source.Builder.Layers.ToDictionary(l => l.Node, l => l.OpType, StringComparer.Ordinal);
        // Verbose only: whether a plan made ahead saw the store of the evaluation before it depends on timing.
        if (ctx.Session.Reuse is { Suffixes: > 0 } reuse)
            ctx.Notice($"Evaluations run from stored activations: {reuse.Suffixes} of {ctx.Session.Evaluations}, each on average {SearchContext.F(Math.Round(100 * reuse.ShareSum / reuse.Suffixes, 1))} % of the model's nodes; "
                + $"the stores held at most {Megabytes(reuse.PeakBytes)} of {Megabytes(reuse.BudgetBytes)} MB; captures reused {Megabytes(reuse.Pool.ReusedBytes)} MB that dropped stores had held.");
        return new AccuracyAwareResult
        {
            Warnings = ctx.Warnings,
            Met = tracker.Met,
            Reason = reason,
            MaximalDrop = _options.MaximalDrop,
            DropType = _options.DropType,
            RankingMethod = ctx.Options.RankingMethod,
            Seed = ctx.Seed,
            Preset = best.Source.Options.Preset,
            TunedSettings = best.Source.TunedSettings,
            Metrics = baseline.Criteria.Metrics.Select(m => new AccuracyAwareMetric(m.Name, m.Direction, m.Baseline, m.BaselineGiven,
                quantized.Values[m.Name], final[m.Name], m.Drop(quantized.Values[m.Name]), m.Drop(final[m.Name]), m.MaxDrop, m.IsMet(final[m.Name]))).ToList(),
            QuantizedLayerCount = ctx.Builder.Layers.Count,
            RevertedLayers = best.Reverted
                .Select(l => search.Picks.TryGetValue(l, out var p) ? p
                    : search.Scores.TryGetValue(l, out var s) ? new RevertedLayer(l, s.OpType, s.Score, s.Method, 0)
                    : new RevertedLayer(l, layers.GetValueOrDefault(l, "?"), double.NaN, ctx.Options.RankingMethod, 0))
                .Select(r => best.Dynamic.Contains(r.Layer) ? r with { Precision = "Dynamic" } : r)
                .OrderBy(r => r.Iteration).ThenBy(r => r.Layer, StringComparer.Ordinal).ToList(),
            Iterations = search.Iterations.ToList(),
            Evaluations = ctx.Session.Evaluations,
            Inferences = ctx.Session.Inferences,
            RankingEvaluations = ctx.Session.RankingEvaluations,
            RankingInferences = ctx.Session.RankingInferences,
            Rankings = search.Rankings,
            RankTrials = search.RankTrials,
            RankHits = search.RankHits,
            DecidedEarlyEvaluations = ctx.Session.DecidedEarly,
            InferencesSaved = ctx.Session.InferencesSaved,
            EvaluationWorkers = ctx.Session.Workers,
            EvaluationBatchSize = ctx.Session.BatchSize,
            ResumedEvaluations = ctx.Session.Checkpoint?.Resumed ?? 0,
            EvaluationTimes = new[]
            {
                new StageTime("Building candidates", ctx.Session.BuildTime),
                new StageTime("Creating sessions", ctx.Session.SessionTime),
                new StageTime("Inference and metrics", ctx.Session.InferenceTime),
            },
            StageTimes = ctx.Stages.Times,
            TotalTime = ctx.Clock(),
            Log = ctx.LogLines.ToList(),
        };
    }
}
