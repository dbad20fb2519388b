namespace PotPowerShell.Core.Runtime;

/// <summary>
/// Times models with ONNX Runtime as they are deployed (ORT_ENABLE_ALL, sequential, no spinning) on one intra-op
/// thread: one thread keeps the figures comparable on a shared machine and measures the kernels, not the thread pool.
/// Rounds run every model once, alternating the order each round (<see cref="InterleavedRounds"/>, as
/// Compare-PotModel's <see cref="LatencyComparer"/> does), so that drift and noise hit all of them alike.
/// </summary>
public sealed class OrtModelTimer : IModelTimer
{
    public const int WarmupRounds = 2;
    public const int MinRounds = 5;
    public const int MaxRounds = 101;

    public static OrtModelTimer Instance { get; } = new();

    public IReadOnlyList<Timing> Time(IReadOnlyList<byte[]> models, ModelInput? input, TimeSpan budget, CancellationToken cancellationToken, bool untilDecided = false)
    {
        OnnxRuntimeLoader.Ensure(); // before any ORT object exists
        var runners = new List<(Func<double> Run, IDisposable Session)>();
        try
        {
            for (int m = 0; m < models.Count; m++)
            {
                var model = models[m];
                string source = input?.Sources?[m] ?? "timed model";
                if (input == null)
                {
                    var synthetic = TimedSession.Synthetic(model, source, threads: 1);
                    runners.Add((synthetic.Time, synthetic));
                    continue;
                }
                // Data items go through the same binding as everywhere else (see TimedSession).
                var session = new TimedSession(model, source, input.Data, threads: 1);
                var items = session.CanBatch ? input.Items : input.Items.Take(1).ToList();
                runners.Add((() => session.Time(items), session));
            }
            return InterleavedRounds.Time(runners.Select(r => r.Run).ToList(), WarmupRounds, MinRounds, MaxRounds, budget, cancellationToken, untilDecided);
        }
        finally
        {
            foreach (var r in runners) r.Session.Dispose();
        }
    }
}
