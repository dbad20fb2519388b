using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// Items of a data set whose inputs differ in shape (sentences of several lengths saved one per file, images of a few
/// sizes for a model with a dynamic height and width) cannot share a batch, so an evaluation in item order fell back to
/// one item per inference after a refused batch. This groups the items by the shapes of their inputs, where that pays,
/// so that an evaluation runs the items of one shape together; where it does not, the evaluator runs one item per
/// inference from the start. The order an evaluation measures the items in depends only on the items asked for and
/// their shapes, never on the batch size (chosen by timing) or the workers, so where a decided-early evaluation stops
/// does not depend on them either; the evaluator gives complete results back in the order asked for.
/// </summary>
internal sealed class ShapeGroups
{
    /// <summary>The first items of the data set looked at to decide whether its items differ in shape.</summary>
    public const int Sample = 16;

    /// <summary>
    /// Items are regrouped within consecutive windows of this many positions only: an evaluation that measures the
    /// items most likely to decide its outcome first (AccuracyAware's decided-early order) keeps that order roughly.
    /// </summary>
    public const int Window = 128;

    private readonly int[] _group;

    /// <summary>
    /// True where items are measured in the order asked for, batches ending where the shape changes: the metrics'
    /// aggregates (F1, mAP, retrieval) see the items as a one-item-per-batch run would.
    /// </summary>
    public bool KeepsOrder { get; }

    /// <param name="group">Each item's group: 0, 1, ... in the order of their first items.</param>
    /// <param name="keepsOrder">See <see cref="KeepsOrder"/>.</param>
    internal ShapeGroups(int[] group, bool keepsOrder = false)
    {
        _group = group;
        KeepsOrder = keepsOrder;
        var sizes = new int[group.Max() + 1];
        foreach (int g in group) sizes[g]++;
        Largest = Array.IndexOf(sizes, sizes.Max());
    }

    /// <summary>The group of the most items (the first such), whose items the batch-size probe times.</summary>
    public int Largest { get; }

    /// <summary>
    /// Grouping pays where the items of one shape within a window are at least this many on average (counted over the
    /// data set in item order): a batch of one item runs with a copy of itself (SessionRunner.Run), so where most batches
    /// would hold one or two items, one item per inference is as fast or faster. MiniLM, 200 per-item sentences
    /// (Measure-PotModel, three rounds each way, one run): of 5-16 tokens 24 batches, 1.1-1.8 s against 1.7-2.0 s one
    /// by one; of 5-30 tokens 52 batches, 1.7-2.3 s against 1.7-2.5; of 5-60 89 batches, 2.4-3.1 s against 2.4-3.1;
    /// of 5-120 131 batches, 4.8-6.0 s against 4.1-4.6.
    /// </summary>
    public const int ItemsPerBatch = 3;

    /// <summary>
    /// The groups of <paramref name="data"/>'s items, or null when they need none or do not pay: the first
    /// <see cref="Sample"/> items share their shapes (a set of one shape), or all differ (every image its own size:
    /// grouping would read every item once more for nothing), or the items of one shape in a window are fewer than
    /// <see cref="ItemsPerBatch"/> on average, or <paramref name="group"/> is false. Otherwise every item is read once
    /// here (the cache keeps what its budget allows).
    /// </summary>
    /// <param name="differ">True when items are known to differ in shape (a batch of several was refused for it,
    /// though the first items share one): every item is read, whatever the first ones show.</param>
    /// <param name="scattered">Where the items differ in shape and are not grouped, why (the items run one per
    /// inference: a batch of several would be refused); else null.</param>
    public static ShapeGroups? Find(CachedDataset data, bool group, bool differ, IProgress<PotProgress>? progress, CancellationToken cancellationToken, out string? scattered)
    {
        scattered = null;
        // Each item's group, numbered in the order of their first items, one key per group kept.
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var groups = new List<int>(data.Count);
        // The first items are read without a word: most data sets are of one shape.
        void ReadTo(int count, bool report)
        {
            for (int i = groups.Count, first = i; i < count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (report && progress != null && (i == first || i % 64 == 0))
                    progress.Report(new PotProgress("Reading the items' sizes", $"{i} of {data.Count} items (they differ in size: items of one size share a batch)", PotProgress.Percent(i, data.Count)));
                string key = data.ShapeKey(data.Fetch(i));
                if (!ids.TryGetValue(key, out int id)) ids[key] = id = ids.Count;
                groups.Add(id);
            }
        }
        ReadTo(differ ? data.Count : Math.Min(Sample, data.Count), report: differ);
        if (ids.Count <= 1) return null;
        string differs = Difference(data, groups.IndexOf(1)) + ": items of different sizes cannot share a batch";
        if (!group)
        {
            // Not regrouped (an aggregate sees the items in the order asked for): batches end where the size changes,
            // where runs of one size are long enough to pay (squad_emb's contexts, then its questions).
            ReadTo(data.Count, report: true);
            int runs = 1;
            for (int i = 1; i < groups.Count; i++)
                if (groups[i] != groups[i - 1]) runs++;
            if (runs * ItemsPerBatch <= groups.Count) return new ShapeGroups(groups.ToArray(), keepsOrder: true);
            scattered = differs + $", and in the order the metrics see them ({runs} runs of one size in {groups.Count} items) too few of one size follow each other for batches to pay.";
            return null;
        }
        if (ids.Count == groups.Count && !differ)
        {
            scattered = differs + $", and the first {groups.Count} items all differ in size.";
            return null;
        }
        ReadTo(data.Count, report: true);
        var all = groups.ToArray();
        // Batches of an evaluation of every item in index order, however large.
        int batches = 0;
        for (int start = 0; start < all.Length; start += Window) batches += new ArraySegment<int>(all, start, Math.Min(Window, all.Length - start)).Distinct().Count();
        if (batches * ItemsPerBatch <= all.Length) return new ShapeGroups(all);
        scattered = differs + $", and the {all.Length} items come in {ids.Count} sizes, too few of each for batches of one size to pay.";
        return null;
    }

    /// <summary>
    /// "Item k has the shape [...] but item 0 [...]": the first input (named where there are several) in which item
    /// <paramref name="k"/> differs from item 0.
    /// </summary>
    private static string Difference(CachedDataset data, int k)
    {
        var first = data.Shapes(data.Fetch(0)).ToList();
        var other = data.Shapes(data.Fetch(k)).ToList();
        int input = Enumerable.Range(0, first.Count).First(i => first[i].Kind != other[i].Kind || !(first[i].Shape ?? []).SequenceEqual(other[i].Shape ?? []));
        bool kinds = first[input].Kind != other[input].Kind;
        string Of((string Name, TensorElementKind? Kind, long[]? Shape) s) =>
            s.Shape == null ? "none" : $"{(kinds ? $"{s.Kind} values of shape " : "")}[{string.Join(",", s.Shape)}]";
        string whose = first.Count > 1 ? $"'s '{first[input].Name}'" : "";
        return $"Item {k}{whose} has {(kinds ? "" : "the shape ")}{Of(other[input])} but item 0{whose} {Of(first[input])}";
    }

    /// <summary>The first <paramref name="count"/> items of the <see cref="Largest"/> group, in index order.</summary>
    public IReadOnlyList<int> LargestItems(int count) => Enumerable.Range(0, _group.Length).Where(i => _group[i] == Largest).Take(count).ToArray();

    /// <summary>
    /// The positions of <paramref name="items"/> in the order to measure them: within each <see cref="Window"/>, the
    /// items of one shape together, groups in the order of their first item, items of a group in their own order
    /// (not for groups that keep the order: see <see cref="KeepsOrder"/>).
    /// </summary>
    public int[] Order(IReadOnlyList<int> items)
    {
        var order = new int[items.Count];
        int next = 0;
        for (int start = 0; start < items.Count; start += Window)
        {
            int end = Math.Min(start + Window, items.Count);
            var groups = new List<int>();
            for (int k = start; k < end; k++)
                if (!groups.Contains(_group[items[k]])) groups.Add(_group[items[k]]);
            foreach (int g in groups)
                for (int k = start; k < end; k++)
                    if (_group[items[k]] == g) order[next++] = k;
        }
        return order;
    }

    /// <summary>
    /// Batches of at most <paramref name="batchSize"/> consecutive items of <paramref name="ordered"/>, none holding
    /// items of two shapes (without groups: every <paramref name="batchSize"/> items).
    /// </summary>
    public static List<(int Start, int Count)> Batches(IReadOnlyList<int> ordered, ShapeGroups? groups, int batchSize)
    {
        var batches = new List<(int Start, int Count)>();
        for (int start = 0; start < ordered.Count;)
        {
            int end = Math.Min(start + batchSize, ordered.Count);
            if (groups != null)
                for (int k = start + 1; k < end; k++)
                    if (groups._group[ordered[k]] != groups._group[ordered[start]])
                    {
                        end = k;
                        break;
                    }
            batches.Add((start, end - start));
            start = end;
        }
        return batches;
    }

    /// <summary>
    /// <paramref name="batches"/> up to <paramref name="first"/>, then the rest split wherever an item's shape differs
    /// from the one before it (<paramref name="shapeAt"/>, by position; a batch of two shapes was refused), in the same
    /// order, so that the evaluation goes on in batches instead of one item per inference.
    /// </summary>
    public static List<(int Start, int Count)> ByShapeRuns(List<(int Start, int Count)> batches, int first, Func<int, string> shapeAt)
    {
        var result = batches.Take(first).ToList();
        foreach (var (start, count) in batches.Skip(first))
        {
            int from = start;
            string shape = shapeAt(start);
            for (int k = start + 1; k < start + count; k++)
            {
                string next = shapeAt(k);
                if (next == shape) continue;
                result.Add((from, k - from));
                from = k;
                shape = next;
            }
            result.Add((from, start + count - from));
        }
        return result;
    }

    /// <summary><paramref name="batches"/> up to <paramref name="first"/>, then each of their items after that alone (a batch of several was refused).</summary>
    public static List<(int Start, int Count)> OneByOne(List<(int Start, int Count)> batches, int first)
    {
        int end = batches[^1].Start + batches[^1].Count;
        return batches.Take(first).Concat(Enumerable.Range(batches[first].Start, end - batches[first].Start).Select(k => (k, 1))).ToList();
    }
}
