namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// One cut tensor's rows as one store captured them, packed into chunks of a <see cref="RowPool"/>. The store that
/// captured them holds a reference, and so does each store that took them from it (<see cref="ActivationStore.Complete"/>);
/// the last one released gives the chunks back to the pool, so no store ever reads memory another capture reuses.
/// </summary>
internal sealed class StoredRows(RowPool? pool)
{
    private readonly List<byte[]> _chunks = new();
    private byte[]? _current;
    private int _used;
    private int _references = 1;

    /// <summary>A copy of <paramref name="row"/> (in a chunk of the pool, or its own array without one). May be called from several threads.</summary>
    public ReadOnlyMemory<byte> Add(ReadOnlySpan<byte> row)
    {
        if (pool == null) return row.ToArray();
        byte[] chunk;
        int offset;
        lock (_chunks)
        {
            if (_current == null || _used + row.Length > _current.Length)
            {
                _current = pool.Rent(RowPool.ChunkSize(row.Length));
                _chunks.Add(_current);
                _used = 0;
            }
            chunk = _current;
            offset = _used;
            _used += row.Length;
        }
        // Outside the lock: each worker copies into the place it reserved.
        row.CopyTo(chunk.AsSpan(offset, row.Length));
        return new ReadOnlyMemory<byte>(chunk, offset, row.Length);
    }

    /// <summary>One more store reads these rows.</summary>
    public void Retain() => Interlocked.Increment(ref _references);

    /// <summary>A store no longer reads these rows; after the last one the chunks go back to the pool.</summary>
    public void Release()
    {
        int left = Interlocked.Decrement(ref _references);
        if (left < 0) throw new InvalidOperationException("Stored rows released more often than they were held.");
        if (left > 0 || pool == null) return;
        lock (_chunks)
        {
            pool.Return(_chunks);
            _chunks.Clear();
            _current = null;
        }
    }
}
