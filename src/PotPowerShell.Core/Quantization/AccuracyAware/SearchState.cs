using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// What the two revert searches (<see cref="GreedySearch"/>, <see cref="ConfirmedSearch"/>) carry from step to step,
/// and POT's rules they share: when to stop, when a revert is kept, and when another metric takes over. It also
/// records what the search did (iterations, picks, rank trials), which <see cref="Outcome"/> hands back.
/// </summary>
internal sealed class SearchState
{
    private readonly SearchContext _ctx;
    private readonly RunBaseline _baseline;
    private readonly int _layerCount;
    private readonly int _maxIterations;
    private readonly List<AccuracyAwareIteration> _history = new();
    private readonly Dictionary<string, RevertedLayer> _picks = new(StringComparer.Ordinal);
    private int _rankTrials;
    private int _rankHits;

    private SearchState(SearchContext ctx, RunBaseline baseline, ModelCandidate current, EvaluationResult result)
    {
        _ctx = ctx;
        _baseline = baseline;
        Current = current;
        CurrentResult = result;
        Metric = baseline.Criteria.MostViolated(result.Values);
        PreviousDrop = Metric.Drop(result.Values[Metric.Name]);
        _layerCount = current.Source.Builder.Layers.Count;
        // POT's max_iter_num default is sys.maxsize: no cap (the search still ends, every kept revert adds a float layer).
        _maxIterations = ctx.Options.MaxIterations ?? int.MaxValue;
    }

    /// <summary>The model the next revert starts from, and its full-set result.</summary>
    public ModelCandidate Current { get; private set; }
    public EvaluationResult CurrentResult { get; private set; }

    /// <summary>The metric being optimized (POT's metric_to_optimize) and its drop on <see cref="Current"/> (or the model a roll-back restored).</summary>
    public MetricCriterion Metric { get; private set; }
    public double PreviousDrop { get; set; }

    /// <summary>True right after a roll-back: the next revert is kept even if worse (POT's step back).</summary>
    public bool StepBack { get; set; }

    public int Iterations { get; set; }

    public int LayerCount => _layerCount;

    public MetricCriteria Criteria => _baseline.Criteria;

    /// <summary>Evaluates the starting model on the full set and logs what the search optimizes.</summary>
    /// <param name="how">What this search does besides POT's loop, for the log line (may be empty).</param>
    public static SearchState Start(SearchContext ctx, RunBaseline baseline, ModelCandidate current, string how)
    {
        var state = new SearchState(ctx, baseline, current, ctx.Session.Evaluate(current, null, mandatory: true));
        ctx.Log($"Search: {state._layerCount} quantized layers, {current.Reverted.Count} already float; optimizing {state.Metric.Name}; "
            + how + $"max_iter_num {(ctx.Options.MaxIterations?.ToString() ?? "none")}.");
        return state;
    }

    /// <summary>Why the search must stop before another step (null = go on).</summary>
    public string? StopReason() =>
        Current.Reverted.Count >= _layerCount ? "Every quantized layer has been reverted"
        : Iterations >= _maxIterations ? $"Reached max_iter_num ({_maxIterations} iterations)"
        : null;

    /// <summary>
    /// POT's rule: a revert is kept when every metric is met, the driving metric is within its limit, the drop did not
    /// grow, the previous step was a roll-back, or use_prev_if_drop_increase is off.
    /// </summary>
    public bool Keeps(EvaluationResult result, double drop) =>
        Criteria.AllMet(result.Values) || Metric.WithinLimit(drop) || drop <= PreviousDrop || StepBack || !_ctx.Options.UsePreviousIfDropIncrease;

    /// <summary>True when <see cref="Keeps"/> holds only because of the step back: the revert makes the drop larger.</summary>
    public bool StepsBackTo(EvaluationResult result, double drop) =>
        StepBack && _ctx.Options.UsePreviousIfDropIncrease && !Criteria.AllMet(result.Values) && !Metric.WithinLimit(drop) && drop > PreviousDrop;

    /// <summary>
    /// Makes a kept revert the current model. When the driving metric is now within its limit but the target is not met,
    /// the metric furthest past its limit takes over (true: the caller ranks again for it); else its drop is the one to beat.
    /// </summary>
    public bool Accept(ModelCandidate candidate, EvaluationResult result, double drop)
    {
        Current = candidate;
        CurrentResult = result;
        StepBack = false;
        if (Criteria.AllMet(result.Values)) return false;
        if (!Metric.WithinLimit(drop))
        {
            PreviousDrop = drop;
            return false;
        }
        var satisfied = Metric;
        Metric = Criteria.MostViolated(result.Values);
        _ctx.Log($"  {satisfied.Name} is within its limit; now optimizing {Metric.Name}.");
        PreviousDrop = Metric.Drop(result.Values[Metric.Name]);
        return true;
    }

    /// <summary>Remembers how <paramref name="pick"/> scored when it was picked for reverting, numbered as the iteration recorded next.</summary>
    public void Picked(LayerRank pick) =>
        _picks[pick.Layer] = new RevertedLayer(pick.Layer, pick.OpType, pick.Score, pick.Method, _history.Count + 1);

    /// <summary>Counts a top-ranked revert whose full-set drop was measured, and whether it lowered the drop.</summary>
    public void Trial(bool hit)
    {
        _rankTrials++;
        if (hit) _rankHits++;
    }

    /// <summary>Records one search step in the result and the log.</summary>
    public void Record(string layer, double after, EvaluationResult result, IterationAction action, int reverted)
    {
        bool met = !result.StoppedEarly && Criteria.AllMet(result.Values);
        var iteration = new AccuracyAwareIteration(_history.Count + 1, "Search", layer, Metric.Name, PreviousDrop, after, met, action, reverted)
        {
            DecidedEarly = result.StoppedEarly,
            Items = result.Items.Count,
        };
        _history.Add(iteration);
        string verb = action switch { IterationAction.Reverted => "kept", IterationAction.Outranked => "outranked", _ => "rolled back" };
        string what = result.StoppedEarly
            ? $"decided after {result.Items.Count} of {_ctx.Session.ItemCount} items ({Metric.Name} drop at least {SearchContext.F(after)}), {verb}."
            : $"{Metric.Name} drop {SearchContext.F(PreviousDrop)} -> {SearchContext.F(after)}, {verb}; {_baseline.Describe(result.Values)}.";
        _ctx.Log($"Iteration {iteration.Index}: reverted {layer}: {what}");
    }

    /// <summary>What the search did, ending on <see cref="Current"/>.</summary>
    /// <param name="stop">Why it stopped (null when the target was met).</param>
    public SearchOutcome Outcome(string? stop, SearchRankings rankings) => new(Current)
    {
        Iterations = _history.ToList(),
        Picks = new Dictionary<string, RevertedLayer>(_picks, StringComparer.Ordinal),
        Scores = new Dictionary<string, LayerRank>(rankings.Scores, StringComparer.Ordinal),
        Rankings = rankings.Count,
        RankTrials = _rankTrials,
        RankHits = _rankHits,
        Stop = stop,
    };
}
