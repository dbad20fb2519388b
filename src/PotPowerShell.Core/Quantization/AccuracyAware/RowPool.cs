namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// The memory stores capture rows into (<see cref="StoredRows"/>), recycled: the chunks of a store that is released go
/// back here and the next capture copies into them. Into memory the process has not touched, a capture also pays for
/// the kernel clearing every new page and, with an array per row, for the collector copying the surviving arrays from
/// generation to generation. PaddleOCR's classifier on 1000 items (23 captures of about 650 KB per item): search stage
/// 21.6-23.0 s -> 14.7-14.8 s, system time 12.5-13.7 s -> 6.1-6.7 s, the same model (bench/Bench-AccuracyAware.ps1
/// NOTES). Chunks come in powers of two, so a released chunk fits a later capture.
/// </summary>
internal sealed class RowPool
{
    private readonly Dictionary<int, Stack<byte[]>> _free = new();
    private long _freeBytes;

    /// <summary>Bytes of chunks allocated anew, and of chunks handed out again.</summary>
    public long FreshBytes { get; private set; }
    public long ReusedBytes { get; private set; }

    /// <summary>Bytes of released chunks waiting for a capture.</summary>
    public long FreeBytes
    {
        get
        {
            lock (_free) return _freeBytes;
        }
    }

    /// <summary>A chunk of <paramref name="size"/> bytes (a size <see cref="ChunkSize"/> gave), released or new, its content undefined.</summary>
    public byte[] Rent(int size)
    {
        lock (_free)
        {
            if (_free.TryGetValue(size, out var stack) && stack.Count > 0)
            {
                _freeBytes -= size;
                ReusedBytes += size;
                return stack.Pop();
            }
            FreshBytes += size;
        }
        return GC.AllocateUninitializedArray<byte>(size);
    }

    /// <summary>Takes back chunks no store reads any more.</summary>
    public void Return(IEnumerable<byte[]> chunks)
    {
        lock (_free)
            foreach (var chunk in chunks)
            {
                if (!_free.TryGetValue(chunk.Length, out var stack)) _free[chunk.Length] = stack = new Stack<byte[]>();
                stack.Push(chunk);
                _freeBytes += chunk.Length;
            }
    }

    /// <summary>Leaves released chunks to the collector until at most <paramref name="maxBytes"/> remain, so the pool and the stores together stay within the budget.</summary>
    public void Trim(long maxBytes)
    {
        lock (_free)
            foreach (var stack in _free.Values)
                while (_freeBytes > maxBytes && stack.Count > 0)
                    _freeBytes -= stack.Pop().Length;
    }

    /// <summary>
    /// The chunk for rows of <paramref name="rowBytes"/>: sixteen rows rounded up to a power of two, from 64 KB (few
    /// chunks for small tensors) to 64 MB (a partly filled last chunk wastes little of a large store), and never less
    /// than one row.
    /// </summary>
    public static int ChunkSize(int rowBytes)
    {
        long size = 64 << 10;
        while (size < 16L * rowBytes && size < 64 << 20) size <<= 1;
        while (size < rowBytes && size < 1 << 30) size <<= 1;
        return (int)Math.Max(size, rowBytes);
    }
}
