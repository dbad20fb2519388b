using System.Runtime.CompilerServices;

namespace PotPowerShell.Core.Data;

/// <summary>
/// Keeps items of another data set in memory after their first read, up to a byte budget; items beyond the budget
/// are read (decoded, preprocessed) again each time. Memory is therefore bounded by the budget, not by the number of
/// items (plus one reference per item). Items are kept packed: the bytes of all their inputs in one array, with the
/// input layout (names, element kinds, shapes) shared by every item, so a cached item costs its payload plus a few
/// dozen bytes. An item whose layout differs from the first one is kept as it came.
/// </summary>
public sealed class CachedDataset : IDataset, IDisposable
{
    /// <summary>Where one input lies in a packed item.</summary>
    internal sealed record Slot(string Name, TensorElementKind Kind, long[] Shape, int Offset, int Length);

    /// <summary>An item as the evaluator reads it: packed bytes (with the shared layout) or a plain data item.</summary>
    internal readonly record struct Entry(int Index, byte[]? Packed, DataItem? Item, object? Annotation);

    private readonly IDataset _inner;
    private readonly object?[] _entries; // byte[] (packed) or DataItem (unpackable), null when not cached
    private readonly object?[] _annotations; // annotations of packed items
    private readonly object _gate = new();
    private Slot[]? _layout;

    public CachedDataset(IDataset inner, long budgetBytes)
    {
        _inner = inner;
        BudgetBytes = Math.Max(0, budgetBytes);
        _entries = new object?[inner.Count];
        _annotations = new object?[inner.Count];
    }

    public IDataset Inner => _inner;
    public long BudgetBytes { get; }
    public long CachedBytes { get; private set; }
    public int CachedItems { get; private set; }

    public string Source => _inner.Source;
    public int Count => _inner.Count;
    public IReadOnlyList<string> InputNames => _inner.InputNames;
    public bool HasAnnotations => _inner.HasAnnotations;

    /// <summary>The layout of packed items (null until an item was packed).</summary>
    internal IReadOnlyList<Slot>? Layout => _layout;

    public DataItem Get(int index)
    {
        var e = Fetch(index);
        return e.Item ?? Unpack(e);
    }

    /// <summary>The item, from the cache or read and (budget permitting) cached.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal Entry Fetch(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
        lock (_gate)
        {
            switch (_entries[index])
            {
                case byte[] packed: return new Entry(index, packed, null, _annotations[index]);
                case DataItem item: return new Entry(index, null, item, item.Annotation);
            }
        }
        var read = _inner.Get(index);
        if (BudgetBytes == 0) return new Entry(index, null, read, read.Annotation);
        lock (_gate)
        {
            if (_entries[index] != null) return new Entry(index, null, read, read.Annotation);
            byte[]? packed = TryPack(read);
            long size = packed != null ? packed.Length + 32 + AnnotationSize(read.Annotation) : UnpackedSize(read);
            if (CachedBytes + size > BudgetBytes) return new Entry(index, null, read, read.Annotation);
            _entries[index] = (object?)packed ?? read;
            if (packed != null) _annotations[index] = read.Annotation;
            CachedBytes += size;
            CachedItems++;
            return packed != null ? new Entry(index, packed, null, read.Annotation) : new Entry(index, null, read, read.Annotation);
        }
    }

    /// <summary>
    /// The element kinds and shapes of an item's inputs, as a key: items with equal keys can share a batch (a packed
    /// item's are the layout's, whose slots follow the input names).
    /// </summary>
    internal string ShapeKey(Entry e) => string.Join(";", Shapes(e).Select(s => s.Shape == null ? "-" : $"{s.Kind}[{string.Join(",", s.Shape)}]"));

    /// <summary>The element kind and shape of each input of an item, in the order of the input names (null for one it lacks).</summary>
    internal IEnumerable<(string Name, TensorElementKind? Kind, long[]? Shape)> Shapes(Entry e) => e.Packed != null
        ? _layout!.Select(s => (s.Name, (TensorElementKind?)s.Kind, (long[]?)s.Shape))
        : _inner.InputNames.Select(n => e.Item!.Inputs.TryGetValue(n, out var t) ? (n, (TensorElementKind?)t.Kind, (long[]?)t.Shape) : (n, null, null));

    private byte[]? TryPack(DataItem item)
    {
        if (item.Inputs.Values.Any(t => t.Kind == TensorElementKind.String)) return null;
        if (_layout == null)
        {
            var slots = new List<Slot>();
            int offset = 0;
            foreach (var name in _inner.InputNames)
            {
                if (!item.Inputs.TryGetValue(name, out var t)) return null;
                int length = checked((int)(t.Length * TensorBytes.ElementSize(t.Kind)));
                slots.Add(new Slot(name, t.Kind, (long[])t.Shape.Clone(), offset, length));
                offset = checked(offset + length);
            }
            _layout = slots.ToArray();
        }
        foreach (var slot in _layout)
            if (!item.Inputs.TryGetValue(slot.Name, out var t) || t.Kind != slot.Kind || !t.Shape.AsSpan().SequenceEqual(slot.Shape)) return null;
        var packed = new byte[_layout.Sum(s => s.Length)];
        foreach (var slot in _layout) TensorBytes.AsBytes(item.Inputs[slot.Name].Data).CopyTo(packed.AsSpan(slot.Offset, slot.Length));
        return packed;
    }

    private DataItem Unpack(Entry e)
    {
        var inputs = new Dictionary<string, TensorData>(_layout!.Length, StringComparer.Ordinal);
        foreach (var slot in _layout)
        {
            Array data = TensorBytes.Allocate(slot.Kind, TensorData.ElementCount(slot.Shape));
            e.Packed.AsSpan(slot.Offset, slot.Length).CopyTo(TensorBytes.AsBytes(data));
            inputs[slot.Name] = new TensorData(slot.Kind, (long[])slot.Shape.Clone(), data);
        }
        return new DataItem(e.Index, inputs, e.Annotation);
    }

    /// <summary>Memory of an item kept as it came: its tensors plus the dictionary and object overhead.</summary>
    public static long UnpackedSize(DataItem item)
    {
        long size = 200;
        foreach (var t in item.Inputs.Values) size += 120 + (t.Kind == TensorElementKind.String ? 64 * t.Length : t.Length * TensorBytes.ElementSize(t.Kind));
        return size + AnnotationSize(item.Annotation);
    }

    private static long AnnotationSize(object? annotation) => annotation switch
    {
        null => 0,
        TensorData a => 80 + a.Length * (a.Kind == TensorElementKind.String ? 64 : TensorBytes.ElementSize(a.Kind)),
        string s => 32 + 2L * s.Length,
        DetectionAnnotation d => 64 + 64L * d.Boxes.Count,
        SegmentationAnnotation m => 96 + AnnotationSize(m.Mask),
        _ => 24,
    };

    public void Dispose() => (_inner as IDisposable)?.Dispose();
}
