namespace PotPowerShell.Core.Data;

/// <summary>A data set whose annotations come from a separate label list (e.g. a text file with one label per line).</summary>
public sealed class LabeledDataset : IDataset, IDisposable
{
    private readonly IDataset _inner;
    private readonly Func<int, object?> _labelAt;

    public LabeledDataset(IDataset inner, int labelCount, Func<int, object?> labelAt, string labelsSource)
    {
        if (labelCount != inner.Count)
            throw new PotException("DatasetCountMismatch", PotErrorCategory.InvalidData,
                $"'{labelsSource}' holds {labelCount} labels but '{inner.Source}' holds {inner.Count} items: give one label per item, in item order.", labelsSource);
        _inner = inner;
        _labelAt = labelAt;
    }

    public string Source => _inner.Source;
    public int Count => _inner.Count;
    public IReadOnlyList<string> InputNames => _inner.InputNames;
    public bool HasAnnotations => true;

    public DataItem Get(int index) => _inner.Get(index) with { Annotation = _labelAt(index) };

    public void Dispose() => (_inner as IDisposable)?.Dispose();
}

/// <summary>A fixed selection of another data set's items (e.g. a seeded subsample), re-indexed from 0.</summary>
public sealed class SubsetDataset : IDataset, IDisposable
{
    private readonly IDataset _inner;
    private readonly int[] _indices;

    public SubsetDataset(IDataset inner, IReadOnlyList<int> indices)
    {
        _inner = inner;
        _indices = indices.ToArray();
    }

    /// <summary><paramref name="size"/> items drawn without replacement with a seeded generator, kept in their original order.</summary>
    public static SubsetDataset Sample(IDataset inner, int size, int seed)
    {
        var all = Enumerable.Range(0, inner.Count).ToArray();
        var random = new Random(seed);
        // Partial Fisher-Yates: the first 'size' slots become a uniform sample.
        for (int i = 0; i < Math.Min(size, all.Length); i++)
        {
            int j = random.Next(i, all.Length);
            (all[i], all[j]) = (all[j], all[i]);
        }
        return new SubsetDataset(inner, all.Take(size).OrderBy(i => i).ToArray());
    }

    /// <summary>The inner item index of each item of this subset.</summary>
    public IReadOnlyList<int> InnerIndices => _indices;

    public string Source => _inner.Source;
    public int Count => _indices.Length;
    public IReadOnlyList<string> InputNames => _inner.InputNames;
    public bool HasAnnotations => _inner.HasAnnotations;

    public DataItem Get(int index) => _inner.Get(_indices[index]) with { Index = index };

    public void Dispose() => (_inner as IDisposable)?.Dispose();
}
