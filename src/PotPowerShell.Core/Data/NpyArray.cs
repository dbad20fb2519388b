using Microsoft.Win32.SafeHandles;

namespace PotPowerShell.Core.Data;

/// <summary>An array whose first axis is the item index, read item by item.</summary>
internal interface IItemArray : IDisposable
{
    TensorElementKind Kind { get; }
    long[] Shape { get; }
    long Count { get; }
    /// <summary>Items [start, start+count) as a tensor of shape [count, ...].</summary>
    TensorData Read(long start, long count);
}

/// <summary>An array already in memory.</summary>
internal sealed class MemoryItemArray(TensorData data) : IItemArray
{
    public TensorElementKind Kind => data.Kind;
    public long[] Shape => data.Shape;
    public long Count => data.Shape.Length == 0 ? 0 : data.Shape[0];
    public TensorData Read(long start, long count) => data.SliceFirstAxis(start, count);
    public void Dispose() { }
}

/// <summary>
/// An .npy file read lazily: only the header is parsed up front, items are read on request at their byte offset,
/// so memory does not grow with the file size. The file stays open until disposed.
/// </summary>
internal sealed class NpyFileItemArray : IItemArray
{
    private readonly string _path;
    private readonly string _source;
    private readonly bool _deleteOnDispose;
    private readonly NpyHeader _header;
    private readonly long _itemBytes;
    private readonly object _gate = new();
    private SafeFileHandle? _handle;

    /// <param name="source">What messages call the file (an archive member unpacked to <paramref name="path"/>); default the path.</param>
    /// <param name="deleteOnDispose">Delete the file when disposed (a temporary file), also when this constructor fails.</param>
    public NpyFileItemArray(string path, string? source = null, bool deleteOnDispose = false)
    {
        _path = path;
        _source = source ?? path;
        _deleteOnDispose = deleteOnDispose;
        try
        {
            if (!File.Exists(path))
                throw new PotException("DataFileNotFound", PotErrorCategory.ObjectNotFound, $"The data file '{path}' does not exist.", path);
            using (var stream = File.OpenRead(path)) _header = NpyReader.ReadHeader(stream, _source);
            if (_header.Shape.Length == 0)
                throw new PotException("NpyInvalid", PotErrorCategory.InvalidData,
                    $"'{_source}' holds a scalar; data arrays need the item index as their first axis.", _source);
            _itemBytes = TensorData.ElementCount(_header.Shape.Skip(1)) * _header.ElementSize;
            long expected = _header.DataOffset + _header.DataBytes;
            long actual = new FileInfo(path).Length;
            if (actual < expected)
                throw NpyReader.Bad(_source, $"it ends before its {_header.ElementCount} elements ({actual} of {expected} bytes)", null);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public TensorElementKind Kind => _header.Kind;
    public long[] Shape => _header.Shape;
    public long Count => _header.Shape[0];

    public TensorData Read(long start, long count)
    {
        if (start < 0 || count < 0 || start + count > Count) throw new ArgumentOutOfRangeException(nameof(start));
        var shape = (long[])_header.Shape.Clone();
        shape[0] = count;
        Array data = TensorBytes.Allocate(Kind, TensorData.ElementCount(shape));
        var bytes = TensorBytes.AsBytes(data);
        SafeFileHandle handle;
        lock (_gate) handle = _handle ??= File.OpenHandle(_path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        long offset = _header.DataOffset + start * _itemBytes;
        int done = 0;
        while (done < bytes.Length)
        {
            int n = RandomAccess.Read(handle, bytes[done..], offset + done);
            if (n == 0) throw NpyReader.Bad(_source, "it was cut short while being read", null);
            done += n;
        }
        if (Kind == TensorElementKind.Bool)
        {
            // NumPy writes 0/1, but any non-zero byte means true; normalise so the bool[] holds valid values.
            foreach (ref byte b in bytes) b = b != 0 ? (byte)1 : (byte)0;
        }
        return new TensorData(Kind, shape, data);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _handle?.Dispose();
            _handle = null;
            if (!_deleteOnDispose) return;
            try { File.Delete(_path); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
