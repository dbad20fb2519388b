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
        cancellationToken.ThrowIfCancellationRequested();
        // The sessions are created side by side, before any round: creating one is mostly one thread's work (the precision
        // choice times up to six whole models), and timing starts only once all exist.
        var creating = models.Select((model, m) => Task.Run(() => Runner(model, input, m))).ToArray();
        try
        {
            Task.WaitAll(creating);
        }
        catch (AggregateException)
        {
            foreach (var t in creating.Where(t => t.IsCompletedSuccessfully)) t.Result.Session.Dispose();
            // The first model that failed, in order, as when they were created one after the other.
            creating.First(t => !t.IsCompletedSuccessfully).GetAwaiter().GetResult();
            throw;
        }
        var runners = creating.Select(t => t.Result).ToList();
        try
        {
            return InterleavedRounds.Time(runners.Select(r => r.Run).ToList(), WarmupRounds, MinRounds, MaxRounds, budget, cancellationToken, untilDecided);
        }
        finally
        {
            foreach (var r in runners) r.Session.Dispose();
        }
    }

    private static (Func<double> Run, IDisposable Session) Runner(byte[] model, ModelInput? input, int m)
    {
        string source = input?.Sources?[m] ?? "timed model";
        if (input == null)
        {
            var synthetic = TimedSession.Synthetic(model, source, threads: 1);
            return (synthetic.Time, synthetic);
        }
        // Data items go through the same binding as everywhere else (see TimedSession).
        var session = new TimedSession(model, source, input.Data, threads: 1);
        var items = session.CanBatch ? input.Items : input.Items.Take(1).ToList();
        return (() => session.Time(items), session);
    }
}
