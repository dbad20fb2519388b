using System.Globalization;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// The services and fixed inputs of one accuracy-aware run, set once and shared by its stages: options, the calibrated
/// builder, the evaluation session, the layer ranker, the clocks, the log and progress. What a stage finds out is not
/// kept here: the baseline stage returns a <see cref="RunBaseline"/>, the later ones their outcomes
/// (<see cref="StageOutcome"/>, <see cref="SearchOutcome"/>), which <see cref="AccuracyAwareQuantizer"/> passes on.
/// </summary>
internal sealed class SearchContext
{
    public const string Activity = "Accuracy-aware quantization";

    private readonly List<string> _log = new();
    private readonly IProgress<string>? _logSink;
    private readonly IProgress<PotProgress>? _progress;
    private readonly Func<ILayerOutputProbe> _probe;

    /// <param name="activationBudget">Memory the stored activations may hold; null = <see cref="ActivationReuse.DefaultBudget"/>.</param>
    /// <param name="givenRanking">Rankings the caller measured (Invoke-AccuracyAwareQuantization -Ranking): the search's first ranking, instead of measuring one.</param>
    public SearchContext(AccuracyAwareOptions options, IEvaluator evaluator, IQuantizedModelBuilder builder, ILayerOutputProbe? probe,
        IProgress<PotProgress>? progress, IProgress<string>? log, Func<TimeSpan> clock, CancellationToken cancellation, SearchCheckpoint? checkpoint = null,
        bool prefetch = true, IReadOnlyList<LayerRank>? givenRanking = null, long? activationBudget = null)
    {
        Options = options;
        Builder = builder;
        Clock = clock;
        Stages = new StageClock(clock);
        GivenRanking = givenRanking;
        _progress = progress;
        _logSink = log;
        // Found on the fully quantized model: what every candidate carries unchanged besides the quantized weights of the
        // layers it reverts.
        var shared = evaluator.ShareInitializers(builder.Build(new HashSet<string>()));
        Session = new EvaluationSession(evaluator, options, clock, progress, cancellation)
        {
            Log = Log, Checkpoint = checkpoint, Prefetching = prefetch, Shared = shared,
            Reuse = options.ReuseActivations && evaluator is Evaluator ? new ActivationReuse(evaluator.Data.Count, activationBudget ?? ActivationReuse.DefaultBudget()) : null,
        };
        if (shared != null)
            Log($"Initializers shared by every candidate's ONNX Runtime session instead of loaded with each ({F(shared.Bytes / 1e6)} MB): "
                + $"lookup tables {(shared.Lookups.Count == 0 ? "none" : string.Join(", ", shared.Lookups))}; quantized weights {shared.Names.Count - shared.Lookups.Count}.");
        FloatBytes = LayerRanker.FloatBytes(builder);
        ILayerOutputProbe? created = probe;
        _probe = () => created ??= new OrtLayerOutputProbe(evaluator.Data, options.Quantization.Threads);
        Ranker = new LayerRanker(Session, options, _probe, FloatBytes,
            (status, done, total) => Report(status, PotProgress.Percent(done, total)));
    }

    public AccuracyAwareOptions Options { get; private set; }

    /// <summary>Fixes ranking_method auto to the method <see cref="RankingChoice"/> chose, before any ranking.</summary>
    public void UseRanking(RankingMethod method) => Options = Options with { RankingMethod = method };
    public IQuantizedModelBuilder Builder { get; }
    public EvaluationSession Session { get; }
    public LayerRanker Ranker { get; }
    public Func<byte[]> FloatBytes { get; }
    public Func<TimeSpan> Clock { get; }
    public StageClock Stages { get; }
    public int Seed => Options.Quantization.Seed;
    public IReadOnlyList<string> LogLines => _log;

    /// <summary>Rankings the caller measured (Invoke-AccuracyAwareQuantization -Ranking): the search's first ranking, instead of measuring one.</summary>
    public IReadOnlyList<LayerRank>? GivenRanking { get; }

    /// <summary>The instrumented pass comparing layer outputs with FP32, created on first use.</summary>
    public ILayerOutputProbe Probe() => _probe();

    public void Log(string line)
    {
        _log.Add(line);
        _logSink?.Report(line);
    }

    /// <summary>Warnings of the search for the result (and the verbose stream).</summary>
    public List<string> Warnings { get; } = new();

    public void Warn(string line)
    {
        Warnings.Add(line);
        _logSink?.Report(line);
    }

    /// <summary>A line for the verbose stream only, not the result's log (which stays reproducible): measured times.</summary>
    public void Notice(string line) => _logSink?.Report(line);

    public void Report(string status, int percent = -1) => _progress?.Report(new PotProgress(Activity, status, percent));

    /// <summary>Invariant, compact number formatting for the log (no culture, no time: the log is reproducible).</summary>
    public static string F(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
