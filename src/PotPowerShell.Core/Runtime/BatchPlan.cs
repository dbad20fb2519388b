using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Runtime;

/// <summary>
/// The one batch plan of the loops that run a model over data items and read every item's outputs (calibration,
/// the output-error pass): the first item runs alone (its outputs' shapes tell how a batch splits back into items,
/// and their size how many items fit in a batch); then the items shaped like the first run in batches, any other
/// item on its own. A batch that ONNX Runtime refuses, or whose outputs do not split into items (a graph that
/// hard-codes batch 1 or moves the batch axis), runs again item by item, and so does the rest.
/// </summary>
internal static class BatchPlan
{
    /// <summary>The largest batch chosen automatically from a memory budget.</summary>
    public const int MaxAutomaticBatch = 64;

    /// <summary>How many items fit in <paramref name="budget"/> bytes, from 1 to <see cref="MaxAutomaticBatch"/>.</summary>
    public static int Automatic(long itemBytes, long budget) =>
        itemBytes <= 0 ? MaxAutomaticBatch : (int)Math.Clamp(budget / itemBytes, 1, MaxAutomaticBatch);

    /// <summary>
    /// Runs <paramref name="items"/> of <paramref name="data"/> through <paramref name="run"/> (the position of the
    /// batch's first item, the batch), which returns false, having kept nothing, when a batch of several items cannot
    /// be used. <paramref name="batchSize"/> is asked once, after the first item ran (1 = item by item);
    /// <paramref name="done"/> hears how many items are done after each batch. Returns true when a batch fell back
    /// to single items.
    /// </summary>
    public static bool Run(IDataset data, IReadOnlyList<int> items, ModelInputBinder binder, Func<int> batchSize, Func<int, IReadOnlyList<DataItem>, bool> run,
        Action<int>? done, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var first = data.Get(items[0]);
        var shapes = binder.Shapes(first);
        run(0, new[] { first });
        done?.Invoke(1);
        int size = Math.Max(1, batchSize());
        int next = 1;
        bool fellBack = false;
        while (next < items.Count)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int start = next;
            var batch = new List<DataItem>();
            while (next < items.Count && batch.Count < size)
            {
                var item = data.Get(items[next]);
                if (size > 1 && !binder.SameShapes(shapes, item))
                {
                    if (batch.Count == 0) { batch.Add(item); next++; }
                    break;
                }
                batch.Add(item);
                next++;
            }
            if (!run(start, batch))
            {
                size = 1;
                fellBack = true;
                for (int k = 0; k < batch.Count; k++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    run(start + k, new[] { batch[k] });
                }
            }
            done?.Invoke(next);
        }
        return fellBack;
    }
}
