namespace PotPowerShell.Core.Data;

/// <summary>
/// Keeps items of another data set in memory after their first read, up to a byte budget; items beyond the budget
/// are read (decoded, preprocessed) again each time. Memory is therefore bounded by the budget, not by the number of
/// items (plus one reference per item).
/// </summary>
public sealed class CachedDataset : IDataset, IDisposable
{
    private readonly IDataset _inner;
    private readonly DataItem?[] _items;
    private readonly object _gate = new();

    public CachedDataset(IDataset inner, long budgetBytes)
    {
        _inner = inner;
        BudgetBytes = Math.Max(0, budgetBytes);
        _items = new DataItem?[inner.Count];
    }

    public IDataset Inner => _inner;
    public long BudgetBytes { get; }
    public long CachedBytes { get; private set; }
    public int CachedItems { get; private set; }

    public string Source => _inner.Source;
    public int Count => _inner.Count;
    public IReadOnlyList<string> InputNames => _inner.InputNames;
    public bool HasAnnotations => _inner.HasAnnotations;

    public DataItem Get(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
        lock (_gate)
        {
            if (_items[index] is { } hit) return hit;
        }
        var item = _inner.Get(index);
        if (BudgetBytes == 0) return item;
        long size = SizeOf(item);
        lock (_gate)
        {
            if (_items[index] == null && CachedBytes + size <= BudgetBytes)
            {
                _items[index] = item;
                CachedBytes += size;
                CachedItems++;
            }
        }
        return item;
    }

    /// <summary>Approximate memory of an item: its tensors plus object overhead.</summary>
    public static long SizeOf(DataItem item)
    {
        long size = 96;
        foreach (var t in item.Inputs.Values) size += 64 + Bytes(t);
        if (item.Annotation is TensorData a) size += 64 + Bytes(a);
        else if (item.Annotation is string s) size += 32 + 2L * s.Length;
        return size;
    }

    private static long Bytes(TensorData t) => t.Kind == TensorElementKind.String ? 64 * t.Length : t.Length * TensorBytes.ElementSize(t.Kind);

    public void Dispose() => (_inner as IDisposable)?.Dispose();
}
