namespace PotPowerShell.Core.Data;

/// <summary>
/// A data set from NumPy arrays whose first axis is the item index: a folder of '&lt;input name&gt;.npy' files or one
/// .npz archive with one array per input. Optional labels come from 'labels.npy' (or an array named 'labels').
/// .npy files are read lazily, item by item (memory does not grow with the file); so are the large arrays of an .npz
/// archive, unpacked into temporary .npy files first (see <see cref="NpzArchive"/>).
/// </summary>
public sealed class NpyDataset : IDataset, IDisposable
{
    public const string LabelsName = "labels";

    private readonly Dictionary<string, IItemArray> _arrays;
    private readonly IItemArray? _labels;

    public NpyDataset(string source, IReadOnlyDictionary<string, TensorData> arrays, TensorData? labels)
        : this(source, arrays.ToDictionary(kv => kv.Key, kv => (IItemArray)new MemoryItemArray(kv.Value), StringComparer.Ordinal),
            labels == null ? null : new MemoryItemArray(labels))
    {
    }

    internal NpyDataset(string source, Dictionary<string, IItemArray> arrays, IItemArray? labels)
    {
        Source = source;
        if (arrays.Count == 0)
            throw new PotException("DatasetEmpty", PotErrorCategory.InvalidData,
                $"'{source}' holds no input arrays. Put one '<input name>.npy' file per model input there.{ImageDataset.NoDataHint(source)}", source);
        _arrays = new Dictionary<string, IItemArray>(arrays, StringComparer.Ordinal);
        var counts = _arrays.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, Count: kv.Value.Count)).ToList();
        // An array with a zero-sized axis holds no bytes whatever its first axis says, so only the count can be too large.
        if (counts.FirstOrDefault(c => c.Count > int.MaxValue) is { Key: not null } huge)
            throw new PotException("DatasetTooLarge", PotErrorCategory.InvalidData,
                $"In '{source}', array '{huge.Key}' declares {huge.Count} items along its first axis, more than a data set can hold ({int.MaxValue}).", source);
        Count = (int)counts[0].Count;
        // Several files that disagree may be one item each, which an engine reads when told so.
        string perItem = _arrays.Count > 1 ? " If each .npy file holds one item without the batch axis, give an engine file with 'format: npy_files' in its dataset." : "";
        var odd = counts.FirstOrDefault(c => c.Count != Count);
        if (odd.Key != null)
            throw new PotException("DatasetCountMismatch", PotErrorCategory.InvalidData,
                $"In '{source}', array '{odd.Key}' has {odd.Count} items but '{counts[0].Key}' has {Count}: every input needs the same number of items along the first axis.{perItem}", source);
        if (labels != null && (labels.Shape.Length == 0 || labels.Count != Count))
            throw new PotException("DatasetCountMismatch", PotErrorCategory.InvalidData,
                $"In '{source}', the labels hold {(labels.Shape.Length == 0 ? 0 : labels.Count)} items but the inputs hold {Count}.{perItem}", source);
        _labels = labels;
        InputNames = _arrays.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
    }

    /// <summary>Opens a folder of .npy files, an .npz archive or a single .npy file (named after the input).</summary>
    /// <param name="cancellationToken">Stops unpacking a large .npz member (see <see cref="NpzArchive"/>).</param>
    public static NpyDataset Open(string path, CancellationToken cancellationToken = default) => Open(path, NpzArchive.DefaultInMemoryBytes, cancellationToken);

    /// <param name="npzInMemoryBytes">The largest .npz member read into memory (larger ones are unpacked to temporary files).</param>
    internal static NpyDataset Open(string path, long npzInMemoryBytes, CancellationToken cancellationToken = default)
    {
        var arrays = new Dictionary<string, IItemArray>(StringComparer.Ordinal);
        path = SoleArchive(path) ?? path;
        try
        {
            if (Directory.Exists(path))
            {
                foreach (var file in Directory.EnumerateFiles(path, "*.npy").OrderBy(f => f, StringComparer.Ordinal))
                    arrays[Path.GetFileNameWithoutExtension(file)] = new NpyFileItemArray(file);
            }
            else if (File.Exists(path) && path.EndsWith(".npz", StringComparison.OrdinalIgnoreCase))
            {
                using var archive = NpzArchive.Open(path, npzInMemoryBytes, cancellationToken);
                foreach (var name in archive.Names) arrays[name] = archive.Take(name);
            }
            else if (File.Exists(path) && path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
            {
                arrays[Path.GetFileNameWithoutExtension(path)] = new NpyFileItemArray(path);
            }
            else
            {
                throw new PotException("DataPathNotFound", PotErrorCategory.ObjectNotFound,
                    $"'{path}' is neither a folder of .npy files nor an .npz or .npy file.", path);
            }
            arrays.Remove(LabelsName, out var labels);
            return new NpyDataset(path, arrays, labels);
        }
        catch
        {
            foreach (var a in arrays.Values) a.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A folder of several .npy files (labels.npy aside) whose first axes differ: they cannot be one array per input, so
    /// each holds one item (an engine's format npy_files). Reads the headers until two differ. So does a folder of .npz
    /// archives and no other .npy file than labels.npy (<see cref="HoldsNpzItems"/>).
    /// </summary>
    public static bool HoldsOneItemPerFile(string folder)
    {
        if (!Directory.Exists(folder)) return false;
        if (HoldsNpzItems(folder)) return true;
        long? first = null;
        foreach (var file in Directory.EnumerateFiles(folder, "*.npy"))
        {
            if (Path.GetFileNameWithoutExtension(file) == LabelsName) continue;
            using var array = new NpyFileItemArray(file);
            if (first == null) first = array.Count;
            else if (array.Count != first) return true;
        }
        return false;
    }

    /// <summary>
    /// A folder of several .npz archives and no .npy file but labels.npy: each archive is one item, its arrays named after
    /// the model inputs they feed (an engine's format npy_files), so the items of a model with several inputs may differ in
    /// size. One archive alone is not taken for one item: it is the arrays of every item (<see cref="SoleArchive"/>).
    /// </summary>
    public static bool HoldsNpzItems(string folder) =>
        Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*.npz").Skip(1).Any()
        && !Directory.EnumerateFiles(folder, "*.npy").Any(f => Path.GetFileNameWithoutExtension(f) != LabelsName);

    /// <summary>The one .npz archive of a folder that holds no .npy file, read as if its path were given; else null.</summary>
    public static string? SoleArchive(string folder) =>
        Directory.Exists(folder) && !Directory.EnumerateFiles(folder, "*.npy").Any() && Directory.EnumerateFiles(folder, "*.npz").ToList() is [var archive]
            ? archive : null;

    public string Source { get; }
    public int Count { get; }
    public IReadOnlyList<string> InputNames { get; }
    public bool HasAnnotations => _labels != null;

    /// <summary>Element kind and per-item shape (without the item axis) of each input.</summary>
    public IReadOnlyDictionary<string, (TensorElementKind Kind, long[] ItemShape)> Describe() =>
        _arrays.ToDictionary(kv => kv.Key, kv => (kv.Value.Kind, kv.Value.Shape.Skip(1).ToArray()), StringComparer.Ordinal);

    public DataItem Get(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
        var inputs = new Dictionary<string, TensorData>(_arrays.Count, StringComparer.Ordinal);
        foreach (var (name, array) in _arrays) inputs[name] = array.Read(index, 1);
        return new DataItem(index, inputs, _labels == null ? null : LabelAt(_labels, index));
    }

    /// <summary>A scalar label per item becomes a long (integer kinds), double (float kinds) or bool; anything larger stays a tensor.</summary>
    internal static object LabelAt(IItemArray labels, int index)
    {
        var item = labels.Read(index, 1);
        if (labels.Shape.Length > 1) return item;
        return item.Kind switch
        {
            TensorElementKind.Int64 or TensorElementKind.Int32 or TensorElementKind.UInt8 or TensorElementKind.Int8 => (long)TensorBytes.ValueAt(item.Data, 0),
            TensorElementKind.Bool => ((bool[])item.Data)[0],
            _ => TensorBytes.ValueAt(item.Data, 0),
        };
    }

    public void Dispose()
    {
        foreach (var a in _arrays.Values) a.Dispose();
        _labels?.Dispose();
    }
}
