using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Evaluation;

/// <summary>One batch size the probe timed, and its time per item.</summary>
public sealed record BatchSizeTiming(int BatchSize, double MillisecondsPerItem);

/// <summary>
/// What <see cref="BatchSizeProbe"/> measured: the batch size chosen, or null when an item's outputs changed with the
/// batch size (<see cref="DifferingSize"/>), so the evaluations keep their batch size, or when a given batch size was
/// only checked. 1 when a batch of several items could not run (<see cref="Refusal"/>): each evaluation would fall back
/// to it after its first batch. 1 when the model mixes the items of a batch (<see cref="MixesItems"/>) and no batch size was given.
/// <see cref="Workers"/>: the evaluation workers that ran the timed batches side by side.
/// </summary>
public sealed record BatchSizeChoice(int? Chosen, int Items, IReadOnlyList<BatchSizeTiming> Timings, int? DifferingSize = null, int Workers = 1)
{
    /// <summary>
    /// The largest difference between an item's outputs at <see cref="DifferingSize"/> and at the first size, relative
    /// to the item's largest output magnitude; 0 when none differ.
    /// </summary>
    public double LargestDifference { get; init; }

    /// <summary>
    /// Beyond the last bits a kernel path changes: the model mixes the items of a batch (a BatchNormalization in training
    /// mode, a reduction or control flow over the batch axis), so an item's outputs depend on its batch-mates.
    /// </summary>
    public bool MixesItems => LargestDifference > BatchSizeProbe.MixingDifference;

    /// <summary>
    /// Why no size was timed: a batch of several items could not run (ONNX Runtime's message, as for a graph that
    /// hard-codes batch 1, or the item whose size differs from those before it); null when the sizes ran.
    /// </summary>
    public string? Refusal { get; init; }

    /// <summary>
    /// True when the data set's items differ in shape: the sizes were timed on items of its most common shape, and the
    /// evaluations batch items of one shape together (<see cref="ShapeGroups"/>).
    /// </summary>
    public bool OfOneShape { get; init; }

    private string On => FormattableString.Invariant($"on {Items} items{(OfOneShape ? " of one shape (the items differ in shape; evaluations batch those of one shape together)" : "")}");

    /// <summary>For the verbose stream: the choice and every size's time per item.</summary>
    public string Describe() => Refusal != null
        ? $"Evaluation batch size 1: {On}, a batch of several could not run: {Refusal}"
        : MixesItems
        ? FormattableString.Invariant($"Evaluation batch size {(Chosen is int chosen ? chosen.ToString(CultureInfo.InvariantCulture) : "unchanged")}: {On}, outputs at batch size {DifferingSize} differ from those at {BatchSizeProbe.Sizes[0]} by up to {LargestDifference:0.###%} of their largest value, so the model mixes the items of a batch")
        : Chosen is int size
            ? $"Evaluation batch size {size}, measured {On} by {Workers} worker{(Workers == 1 ? "" : "s")}: " + string.Join(", ", Timings.Select(t => FormattableString.Invariant($"{t.BatchSize} -> {t.MillisecondsPerItem:0.00} ms per item")))
            : $"Evaluation batch size unchanged: {On}, outputs at batch size {DifferingSize} differ from those at {BatchSizeProbe.Sizes[0]} in the last bits, so a measured choice could change results";
}

/// <summary>
/// Chooses how many items an AccuracyAware run's evaluations infer at once, when nothing fixes it (no engine
/// batch_size, no -EvaluationBatchSize). Which size is fastest depends on the model: on a 2-core machine a text
/// recognizer ran 10.3 ms per item at batch 8 and 12.9 at 32, a sentence encoder 2.1 at 32 and 3.1 at 4
/// (bench/Bench-AccuracyAware.ps1, NOTES). Smaller batches also let a decided-early evaluation stop sooner. The choice
/// depends on timing, so it may only be made where it cannot change a result: every size tried, and the odd size of
/// <see cref="CheckedSizes"/> (a ragged last batch, and a lone last item, which runs with a copy of itself: see
/// SessionRunner.Run), must give each item's outputs bit for bit. Where one does not, nothing is chosen.
/// </summary>
internal static class BatchSizeProbe
{
    /// <summary>
    /// The sizes timed, largest first; the first is the reference of every size's outputs. 2 is the smallest: a lone
    /// item runs as a pair (SessionRunner.Run), and alone it would take another kernel path. The PaddleOCR recognizer
    /// runs fastest at 2 (bench/Bench-AccuracyAware.ps1, NOTES).
    /// </summary>
    public static readonly int[] Sizes = { 16, 8, 4, 2 };

    /// <summary>Sizes whose outputs are compared but not timed.</summary>
    public static readonly int[] CheckedSizes = { 3 };

    /// <summary>Items each size infers per pass (the first items of the data, or of its most common shape: <see cref="ShapeGroups"/>).</summary>
    public const int Items = 16;

    /// <summary>
    /// A relative difference between the outputs of one item at two batch sizes above which the model mixes items:
    /// another kernel path changes the last bits (about 1e-7 relative), not the third digit.
    /// </summary>
    public const double MixingDifference = 1e-3;

    /// <summary>A smaller size is preferred while it is at most this much slower than the fastest (it stops sooner).</summary>
    public const double Tolerance = 1.05;

    /// <summary>Timed rounds per size, alternating the order (<see cref="InterleavedRounds"/>); the fastest round counts.</summary>
    private const int Rounds = 2;

    /// <summary>
    /// Times <paramref name="items"/> through <paramref name="lanes"/> (runners on one session, as the evaluation's
    /// workers run it: lane w runs batches w, w + lanes, ...) at each of <see cref="Sizes"/> that fits; null when fewer
    /// than two fit; 1, with the <see cref="BatchSizeChoice.Refusal"/>, when a batch of several items cannot run. With
    /// several lanes a large batch leaves a lane idle, as it would in an evaluation of few items.
    /// </summary>
    /// <param name="time">False: only compare the outputs at the largest and the smallest size (a batch size is given), choosing nothing.</param>
    /// <param name="shared">Outputs read as the batch's (<see cref="Adapter.SharedOutputs"/>): never compared item by item.</param>
    public static BatchSizeChoice? Measure(IReadOnlyList<SessionRunner> lanes, IReadOnlyList<CachedDataset.Entry> items, IReadOnlyList<CachedDataset.Slot>? layout,
        CancellationToken cancellationToken, bool time = true, IReadOnlySet<string>? shared = null)
    {
        var sizes = Sizes.Where(s => s <= items.Count).ToArray();
        if (sizes.Length < 2) return null;
        var outputs = lanes.Select(l => l.NewOutputs()).ToArray();
        try
        {
            // The first pass of each size is untimed (ORT plans memory for a new shape on its first run) and keeps its outputs.
            var reference = Pass(lanes, items, layout, outputs, sizes[0], keep: true, cancellationToken).Kept!;
            // Only checking: the smallest size against the largest shows a model that mixes items.
            var passes = (time ? sizes.Skip(1).Concat(CheckedSizes) : sizes.TakeLast(1))
                .Select(size => (Size: size, Kept: Pass(lanes, items, layout, outputs, size, keep: true, cancellationToken).Kept!)).ToList();
            var perItem = PerItem(passes.Select(p => p.Kept).Prepend(reference), outputs[0].Names, shared);
            foreach (var (size, kept) in passes)
                if (!Same(kept, reference, perItem))
                    return new BatchSizeChoice(null, items.Count, Array.Empty<BatchSizeTiming>(), size, lanes.Count) { LargestDifference = LargestDifference(kept, reference, perItem) };
            if (!time) return new BatchSizeChoice(null, items.Count, Array.Empty<BatchSizeTiming>(), Workers: lanes.Count);
            var runs = sizes.Select(size => (Func<double>)(() => Pass(lanes, items, layout, outputs, size, keep: false, cancellationToken).Milliseconds)).ToList();
            var times = InterleavedRounds.Time(runs, warmup: 0, minRounds: Rounds, maxRounds: Rounds, TimeSpan.Zero, cancellationToken);
            var timings = sizes.Select((size, k) => new BatchSizeTiming(size, times[k].MinMs / items.Count)).ToList();
            return new BatchSizeChoice(Choose(timings), items.Count, timings, Workers: lanes.Count);
        }
        catch (PotException e) when (SessionRunner.RefusedBatch(e) && !cancellationToken.IsCancellationRequested)
        {
            // An evaluation would fall back to one item per inference after its first batch: it gives the same values.
            return new BatchSizeChoice(1, items.Count, Array.Empty<BatchSizeTiming>(), Workers: lanes.Count) { Refusal = e.Message };
        }
    }

    /// <summary>The smallest size whose time per item is within <see cref="Tolerance"/> of the fastest.</summary>
    internal static int Choose(IReadOnlyList<BatchSizeTiming> timings)
    {
        double best = timings.Min(t => t.MillisecondsPerItem);
        return timings.Where(t => t.MillisecondsPerItem <= best * Tolerance).Min(t => t.BatchSize);
    }

    /// <summary>
    /// Runs every item in batches of <paramref name="size"/>, the batches spread over the lanes; the milliseconds, and
    /// each item's outputs when asked.
    /// </summary>
    private static (double Milliseconds, byte[]?[][]? Kept) Pass(IReadOnlyList<SessionRunner> lanes, IReadOnlyList<CachedDataset.Entry> items,
        IReadOnlyList<CachedDataset.Slot>? layout, BatchOutputs[] outputs, int size, bool keep, CancellationToken cancellationToken)
    {
        var kept = keep ? new byte[]?[items.Count][] : null;
        int batches = (items.Count + size - 1) / size;
        int used = Math.Min(lanes.Count, batches);
        long start = Stopwatch.GetTimestamp();
        var tasks = Enumerable.Range(0, used).Select(lane => Task.Run(() =>
        {
            var batch = new List<CachedDataset.Entry>(size);
            for (int b = lane; b < batches; b += used)
            {
                int first = b * size;
                batch.Clear();
                for (int k = first; k < Math.Min(first + size, items.Count); k++) batch.Add(items[k]);
                lanes[lane].Run(batch, layout, outputs[lane], cancellationToken);
                if (kept == null) continue;
                // Per item, each output it has its own row of; an output the batch shares (the selected indices of a
                // model's NonMaxSuppression, [M, 3] with the image in the batch in a column) holds other items' values.
                var o = outputs[lane];
                for (int row = 0; row < batch.Count; row++)
                    kept[first + row] = Enumerable.Range(0, o.Names.Length).Select(k => o.BatchFirst(k) ? MemoryMarshal.AsBytes(o.Row(k, row)).ToArray() : null).ToArray();
            }
        }, cancellationToken)).ToArray();
        try
        {
            Task.WaitAll(tasks);
        }
        catch (AggregateException e)
        {
            // The lane's own exception (a refused run, a cancellation), as a sequential pass would throw it.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        return (Stopwatch.GetElapsedTime(start).TotalMilliseconds, kept);
    }

    /// <summary>
    /// Per output, whether it is each item's own: not <paramref name="shared"/>, and every pass gave each item a row of
    /// it (an output whose first axis is not the batch at some size is the batch's).
    /// </summary>
    private static bool[] PerItem(IEnumerable<byte[]?[][]> passes, string[] names, IReadOnlySet<string>? shared)
    {
        var perItem = names.Select(n => shared?.Contains(n) != true).ToArray();
        foreach (var pass in passes)
            foreach (var item in pass)
                for (int o = 0; o < item.Length; o++) perItem[o] &= item[o] != null;
        return perItem;
    }

    /// <summary>One item's outputs of its own in two passes, in pairs.</summary>
    private static IEnumerable<(byte[] Kept, byte[] Reference)> Pairs(byte[]?[] kept, byte[]?[] reference, bool[] perItem) =>
        Enumerable.Range(0, kept.Length).Where(o => perItem[o]).Select(o => (kept[o]!, reference[o]!));

    private static bool Same(byte[]?[][] a, byte[]?[][] b, bool[] perItem) =>
        a.Zip(b).All(item => Pairs(item.First, item.Second, perItem).All(p => p.Kept.AsSpan().SequenceEqual(p.Reference)));

    /// <summary>The largest difference of one item's outputs (float bytes) relative to its largest magnitude in <paramref name="reference"/>.</summary>
    private static double LargestDifference(byte[]?[][] kept, byte[]?[][] reference, bool[] perItem)
    {
        double largest = 0;
        for (int i = 0; i < kept.Length; i++)
        {
            double scale = 0, difference = 0;
            foreach (var (x, y) in Pairs(kept[i], reference[i], perItem))
            {
                var a = MemoryMarshal.Cast<byte, float>(x);
                var b = MemoryMarshal.Cast<byte, float>(y);
                // Non-finite outputs are reported where they are scored (EvaluationResult.NonFiniteItems), not here.
                for (int k = 0; k < Math.Min(a.Length, b.Length); k++)
                {
                    if (!float.IsFinite(a[k]) || !float.IsFinite(b[k])) continue;
                    scale = Math.Max(scale, Math.Abs((double)b[k]));
                    difference = Math.Max(difference, Math.Abs((double)a[k] - b[k]));
                }
            }
            largest = Math.Max(largest, difference / Math.Max(scale, 1e-12));
        }
        return largest;
    }
}
