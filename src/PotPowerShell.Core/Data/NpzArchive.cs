using System.IO.Compression;

namespace PotPowerShell.Core.Data;

/// <summary>
/// The arrays of an .npz archive (a zip of .npy files), each opened on request. An array up to
/// <see cref="DefaultInMemoryBytes"/> is read into memory; a larger one is unpacked once into a temporary .npy file that
/// is then read item by item like any .npy file, so memory does not grow with the archive, and deleted when the array
/// is disposed. (Compressed zip entries cannot be read at an offset, hence the unpacking.)
/// </summary>
internal sealed class NpzArchive : IDisposable
{
    public const long DefaultInMemoryBytes = 256L << 20;

    private readonly string _path;
    private readonly long _inMemoryBytes;
    private readonly CancellationToken _cancellationToken;
    private readonly ZipArchive _zip;
    private readonly Dictionary<string, ZipArchiveEntry> _entries = new(StringComparer.Ordinal);

    private NpzArchive(string path, long inMemoryBytes, ZipArchive zip, CancellationToken cancellationToken)
    {
        _path = path;
        _inMemoryBytes = inMemoryBytes;
        _cancellationToken = cancellationToken;
        _zip = zip;
        // A name zipped twice counts once (its first copy).
        foreach (var entry in zip.Entries.Where(e => e.FullName.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)))
            if (_entries.TryAdd(entry.FullName[..^4], entry)) Names.Add(entry.FullName[..^4]);
    }

    /// <param name="cancellationToken">Stops unpacking a large member (within 1 MB), leaving no temporary file.</param>
    public static NpzArchive Open(string path, long inMemoryBytes = DefaultInMemoryBytes, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(path))
            throw new PotException("DataFileNotFound", PotErrorCategory.ObjectNotFound, $"The data file '{path}' does not exist.", path);
        try
        {
            return new NpzArchive(path, inMemoryBytes, ZipFile.OpenRead(path), cancellationToken);
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
            if (entry.Length <= _inMemoryBytes)
            {
                using var s = entry.Open();
                using var buffer = new MemoryStream(checked((int)entry.Length));
                s.CopyTo(buffer);
                buffer.Position = 0;
                return new MemoryItemArray(NpyReader.Read(buffer, source));
            }
            return Unpack(entry, source);
        }
        catch (InvalidDataException e)
        {
            throw NpyReader.Bad(_path, $"its member '{entry.FullName}' cannot be decompressed", e);
        }
    }

    private IItemArray Unpack(ZipArchiveEntry entry, string source)
    {
        string temp = Path.Combine(Path.GetTempPath(), $"potpowershell-{Guid.NewGuid():N}.npy");
        try
        {
            using (var input = entry.Open())
            using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                var buffer = new byte[1 << 20];
                int read;
                while ((read = input.Read(buffer)) > 0)
                {
                    _cancellationToken.ThrowIfCancellationRequested();
                    output.Write(buffer, 0, read);
                }
            }
            return new NpyFileItemArray(temp, source, deleteOnDispose: true);
        }
        catch (Exception e)
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            if (e is IOException or UnauthorizedAccessException)
                throw new PotException("NpzUnpackFailed", PotErrorCategory.WriteError,
                    $"Unpacking the {entry.Length} bytes of '{source}' into the temporary file '{temp}' failed: {e.Message} " +
                    "Free space in the temporary folder, or unpack the archive into a folder of .npy files and give that folder.", source, e);
            throw;
        }
    }

    public void Dispose() => _zip.Dispose();
}
