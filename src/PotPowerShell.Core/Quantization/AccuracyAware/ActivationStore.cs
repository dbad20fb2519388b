using Onnx;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// The cut tensors (<see cref="SuffixCut.CutTensors"/>) of one evaluated candidate for every item of the validation
/// set, so that a candidate one layer away runs only the part of the model its layer changes (<see cref="ActivationReuse"/>).
/// </summary>
internal sealed class ActivationStore
{
    private readonly Dictionary<string, (ReadOnlyMemory<byte> Bytes, long[] Shape, StoredRows Rows)>[] _items;
    /// <summary>Per tensor, the rows this store captured itself.</summary>
    private readonly Dictionary<string, StoredRows> _captured = new(StringComparer.Ordinal);
    /// <summary>The rows of other stores that <see cref="Complete"/> took entries from.</summary>
    private readonly HashSet<StoredRows> _taken = new();
    private readonly RowPool? _pool;
    /// <summary>Holders of this store (see <see cref="Hold"/>): its creator until released, the list of kept stores, plans reading it.</summary>
    private int _holds = 1;
    /// <summary>Per tensor, its shape as ONNX Runtime inferred it where it was captured (see <see cref="IActivationStore.Keep"/>).</summary>
    private readonly Dictionary<string, IReadOnlyList<string>> _declared = new(StringComparer.Ordinal);
    private long _bytes;
    private long _limit;
    private volatile bool _overflowed;
    /// <summary>Bytes of the tensors <see cref="Complete"/> took from <see cref="Base"/>, counted there while it is kept.</summary>
    private long _takenBytes;

    /// <summary>True when the captures passed the limit: the store is incomplete and must not be used.</summary>
    public bool Overflowed => _overflowed;

    /// <param name="limit">Bytes this store may capture: past them it keeps nothing more and is <see cref="Overflowed"/>.
    /// <see cref="ActivationReuse.MakeRoom"/> sets it again before the capture starts.</param>
    /// <param name="pool">Where captured rows are copied to (null: an array per row).</param>
    public ActivationStore(ModelCandidate candidate, ModelProto model, int items, long limit, RowPool? pool = null)
    {
        Candidate = candidate;
        Model = model;
        _limit = limit;
        _pool = pool;
        _items = new Dictionary<string, (ReadOnlyMemory<byte>, long[], StoredRows)>[items];
        for (int i = 0; i < items; i++) _items[i] = new(StringComparer.Ordinal);
    }

    public ModelCandidate Candidate { get; }

    /// <summary>The candidate's whole model, which suffixes are cut from.</summary>
    public ModelProto Model { get; }

    /// <summary>Tensors held for every item (set by <see cref="Complete"/>).</summary>
    public IReadOnlySet<string> Names { get; private set; } = new HashSet<string>();

    /// <summary>Bytes of the tensors this store captured itself (those taken from its base are counted there, see <see cref="Adopt"/>).</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>The store <see cref="Complete"/> took the tensors its model shares from (null: none, or adopted).</summary>
    public ActivationStore? Base { get; private set; }

    /// <summary>Sets the bytes this store may capture (before the capture starts).</summary>
    public void Allow(long bytes) => Interlocked.Exchange(ref _limit, bytes);

    /// <summary>
    /// Counts the tensors taken from <see cref="Base"/> as this store's own: the base is dropped, and the tensors stay
    /// held for as long as this store is.
    /// </summary>
    public void Adopt()
    {
        Interlocked.Add(ref _bytes, _takenBytes);
        _takenBytes = 0;
        Base = null;
    }

    /// <summary>Bytes this store holds of the named tensors, over every item (what a store cut from it captures anew).</summary>
    public long BytesOf(IReadOnlySet<string> names)
    {
        long sum = 0;
        foreach (var held in _items)
            lock (held)
                foreach (var (name, entry) in held)
                    if (names.Contains(name)) sum += entry.Bytes.Length;
        return sum;
    }

    public bool TryGet(int item, string name, out ReadOnlyMemory<byte> bytes, out long[] shape)
    {
        var held = _items[item];
        lock (held)
        {
            if (held.TryGetValue(name, out var entry))
            {
                bytes = entry.Bytes;
                shape = entry.Shape;
                return true;
            }
        }
        bytes = default;
        shape = Array.Empty<long>();
        return false;
    }

    /// <summary>The shape ONNX Runtime inferred for a stored tensor, or null.</summary>
    public IReadOnlyList<string>? Declared(string name)
    {
        lock (_declared) return _declared.GetValueOrDefault(name);
    }

    public void Keep(int item, string name, ReadOnlySpan<byte> row, long[] shape, IReadOnlyList<string> declared)
    {
        if (_overflowed) return;
        StoredRows rows;
        lock (_declared)
        {
            _declared.TryAdd(name, declared);
            if (!_captured.TryGetValue(name, out rows!)) _captured[name] = rows = new StoredRows(_pool);
        }
        var copy = rows.Add(row);
        var held = _items[item];
        lock (held)
            if (!held.TryAdd(name, (copy, shape, rows))) return;
        if (Interlocked.Add(ref _bytes, row.Length) > Interlocked.Read(ref _limit)) _overflowed = true;
    }

    /// <summary>
    /// After a complete evaluation: takes from <paramref name="baseStore"/> (the store a suffix read, or null) what the
    /// suffix did not compute (unchanged, so the same), and fixes <see cref="Names"/> to the tensors every item has.
    /// </summary>
    public void Complete(ActivationStore? baseStore, IReadOnlySet<string>? produced)
    {
        Base = baseStore;
        if (baseStore != null)
            for (int i = 0; i < _items.Length; i++)
                foreach (var (name, entry) in baseStore._items[i])
                    if (baseStore.Names.Contains(name) && !produced!.Contains(name) && _items[i].TryAdd(name, entry))
                    {
                        _takenBytes += entry.Bytes.Length;
                        if (_taken.Add(entry.Rows)) entry.Rows.Retain();
                    }
        if (baseStore != null)
            foreach (var name in baseStore.Names)
                if (!produced!.Contains(name) && baseStore.Declared(name) is { } declared) _declared.TryAdd(name, declared);
        var names = new HashSet<string>(_items.Length == 0 ? Array.Empty<string>() : _items[0].Keys, StringComparer.Ordinal);
        foreach (var held in _items) names.IntersectWith(held.Keys);
        // A tensor the base held that this model no longer computes is never a cut of it.
        names.IntersectWith(SuffixCut.CutTensors(Model.Graph));
        Names = names;
    }

    /// <summary>One more holder: the store's rows stay until every holder has released it.</summary>
    public void Hold()
    {
        if (Interlocked.Increment(ref _holds) <= 1) throw new InvalidOperationException("A released activation store cannot be held again.");
    }

    /// <summary>
    /// A holder is done with the store. After the last one its rows, and the rows it took from other stores, are
    /// released, and it holds no entry any more: a read after that fails rather than see memory a later capture reuses.
    /// </summary>
    public void Release()
    {
        int left = Interlocked.Decrement(ref _holds);
        if (left < 0) throw new InvalidOperationException("An activation store was released more often than it was held.");
        if (left > 0) return;
        foreach (var held in _items)
            lock (held) held.Clear();
        lock (_declared)
        {
            foreach (var rows in _captured.Values) rows.Release();
            _captured.Clear();
        }
        foreach (var rows in _taken) rows.Release();
        _taken.Clear();
    }

    /// <summary>What one evaluation reads from and gives to: a base store's tensors in, a new store's captures out.</summary>
    public static IActivationStore Exchange(ActivationStore? source, ActivationStore? target) => new Exchanged(source, target);

    private sealed class Exchanged(ActivationStore? source, ActivationStore? target) : IActivationStore
    {
        public bool TryGet(int item, string name, out ReadOnlyMemory<byte> bytes, out long[] shape)
        {
            if (source != null) return source.TryGet(item, name, out bytes, out shape);
            bytes = default;
            shape = Array.Empty<long>();
            return false;
        }

        public void Keep(int item, string name, ReadOnlySpan<byte> row, long[] shape, IReadOnlyList<string> declared) => target?.Keep(item, name, row, shape, declared);
    }
}
