using System.IO.Compression;

namespace PotPowerShell.Core.Data;

/// <summary>
/// The arrays of an .npz archive (a zip of .npy files), each opened on request. Before any byte of a member is
/// unpacked, its .npy header is read and checked against the size the zip declares, against
/// <see cref="MaxUnpackBytes"/> and against the free space of the temporary folder. An array up to
/// <see cref="DefaultInMemoryBytes"/> is then read into memory; a larger one is unpacked once into a temporary .npy
/// file in <see cref="ProcessTempFolder"/> that is read item by item like any .npy file, so memory does not grow with the
/// archive, and deleted when the array is disposed (or, if the process is killed, at the next start).
/// (Compressed zip entries cannot be read at an offset, hence the unpacking.)
/// </summary>
internal sealed class NpzArchive : IDisposable
{
    public const long DefaultInMemoryBytes = 256L << 20;

    /// <summary>The largest member unpacked to disk (32 GiB); larger arrays are read from a folder of .npy files.</summary>
    public const long MaxUnpackBytes = 32L << 30;

    private readonly string _path;
    private readonly long _inMemoryBytes;
    private readonly long _unpackBudget;
    private readonly CancellationToken _cancellationToken;
    private readonly ZipArchive _zip;
    private readonly Dictionary<string, ZipArchiveEntry> _entries = new(StringComparer.Ordinal);

    private NpzArchive(string path, long inMemoryBytes, long unpackBudget, ZipArchive zip, CancellationToken cancellationToken)
    {
        _path = path;
        _inMemoryBytes = inMemoryBytes;
        _unpackBudget = unpackBudget;
        _cancellationToken = cancellationToken;
        _zip = zip;
        // A name zipped twice counts once (its first copy).
        foreach (var entry in zip.Entries.Where(e => e.FullName.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)))
            if (_entries.TryAdd(entry.FullName[..^4], entry)) Names.Add(entry.FullName[..^4]);
    }

    /// <param name="cancellationToken">Stops unpacking a large member (within 1 MB), leaving no temporary file.</param>
    /// <param name="unpackBudget">The largest member unpacked to disk (tests lower it).</param>
    public static NpzArchive Open(string path, long inMemoryBytes = DefaultInMemoryBytes, CancellationToken cancellationToken = default,
        long unpackBudget = MaxUnpackBytes)
    {
        if (!File.Exists(path))
            throw new PotException("DataFileNotFound", PotErrorCategory.ObjectNotFound, $"The data file '{path}' does not exist.", path);
        try
        {
            return new NpzArchive(path, inMemoryBytes, unpackBudget, ZipFile.OpenRead(path), cancellationToken);
        }
        catch (InvalidDataException e)
        {
            throw NpyReader.Bad(path, "it is not a valid .npz (zip) archive", e);
        }
    }

    /// <summary>Array names (member names without .npy), in archive order.</summary>
    public List<string> Names { get; } = new();

    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>Opens one array; the caller disposes it (which deletes its temporary file, if any).</summary>
    public IItemArray Take(string name)
    {
        var entry = _entries[name];
        string source = $"{_path}:{entry.FullName}";
        try
        {
            NpyHeader header;
            using (var s = entry.Open())
            {
                header = Header(s, entry, source);
                if (header.DataOffset + header.DataBytes <= _inMemoryBytes) return new MemoryItemArray(NpyReader.ReadData(s, header, source));
            }
            return Unpack(entry, source, header.DataOffset + header.DataBytes);
        }
        catch (InvalidDataException e)
        {
            throw NpyReader.Bad(_path, $"its member '{entry.FullName}' cannot be decompressed", e);
        }
    }

    /// <summary>One array read whole into memory (an item of a folder of .npz items); one over the in-memory limit is refused.</summary>
    public TensorData Read(string name)
    {
        var entry = _entries[name];
        string source = $"{_path}:{entry.FullName}";
        try
        {
            using var s = entry.Open();
            var header = Header(s, entry, source);
            long bytes = header.DataOffset + header.DataBytes;
            if (bytes > _inMemoryBytes)
                throw new PotException("NpzMemberTooLarge", PotErrorCategory.InvalidData,
                    $"'{source}' holds {bytes} bytes, more than the {_inMemoryBytes} bytes an array of one item may hold. Give such data as a folder of .npy files (one per input, items along the first axis).", source);
            return NpyReader.ReadData(s, header, source);
        }
        catch (InvalidDataException e)
        {
            throw NpyReader.Bad(_path, $"its member '{entry.FullName}' cannot be decompressed", e);
        }
    }

    /// <summary>The member's .npy header, checked against the size the archive declares for it.</summary>
    private static NpyHeader Header(Stream s, ZipArchiveEntry entry, string source)
    {
        var header = NpyReader.ReadHeader(s, source);
        long needed = header.DataOffset + header.DataBytes;
        if (entry.Length < needed)
            throw NpyReader.Bad(source, $"the archive declares {entry.Length} bytes for it, but its header needs {needed} ({header.ElementCount} elements)", null);
        return header;
    }

    // Copies the member's first `bytes` bytes (header and elements) into a temporary .npy file.
    private IItemArray Unpack(ZipArchiveEntry entry, string source, long bytes)
    {
        if (bytes > _unpackBudget)
            throw new PotException("NpzMemberTooLarge", PotErrorCategory.InvalidData,
                $"'{source}' holds {bytes} bytes, more than the {_unpackBudget} bytes a member of an .npz archive may unpack to. " +
                "Extract the archive into a folder of .npy files (one per array) and give that folder: folders are read in place, without unpacking.", source);
        string temp = "";
        try
        {
            string folder = ProcessTempFolder.Path;
            long free = new DriveInfo(folder).AvailableFreeSpace;
            if (free < bytes)
                throw new PotException("NpzDiskFull", PotErrorCategory.WriteError,
                    $"Unpacking '{source}' needs {bytes} bytes in the temporary folder '{folder}', which has {free} free. " +
                    "Free space there (or point TMPDIR/TEMP elsewhere), or extract the archive into a folder of .npy files and give that folder.", source);
            temp = Path.Combine(folder, $"{Guid.NewGuid():N}.npy");
            using (var input = entry.Open())
            using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                var buffer = new byte[1 << 20];
                long left = bytes;
                while (left > 0)
                {
                    _cancellationToken.ThrowIfCancellationRequested();
                    int read = input.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                    if (read == 0) throw NpyReader.Bad(source, $"it ends after {bytes - left} of its {bytes} bytes", null);
                    output.Write(buffer, 0, read);
                    left -= read;
                }
            }
            return new NpyFileItemArray(temp, source, deleteOnDispose: true);
        }
        catch (Exception e)
        {
            if (temp.Length > 0)
                try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            if (e is IOException or UnauthorizedAccessException)
                throw new PotException("NpzUnpackFailed", PotErrorCategory.WriteError,
                    $"Unpacking the {bytes} bytes of '{source}' into the temporary file '{temp}' failed: {e.Message} " +
                    "Free space in the temporary folder, or unpack the archive into a folder of .npy files and give that folder.", source, e);
            throw;
        }
    }

    public void Dispose() => _zip.Dispose();
}
