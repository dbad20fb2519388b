namespace PotPowerShell.Core.Data;

/// <summary>
/// A data set from NumPy arrays whose first axis is the item index: a folder of '&lt;input name&gt;.npy' files or one
/// .npz archive with one array per input. Optional labels come from 'labels.npy' (or an array named 'labels').
/// </summary>
public sealed class NpyDataset : IDataset
{
    public const string LabelsName = "labels";

    private readonly Dictionary<string, TensorData> _arrays;
    private readonly TensorData? _labels;

    public NpyDataset(string source, IReadOnlyDictionary<string, TensorData> arrays, TensorData? labels)
    {
        Source = source;
        if (arrays.Count == 0)
            throw new PotException("DatasetEmpty", PotErrorCategory.InvalidData,
                $"'{source}' holds no input arrays. Put one '<input name>.npy' file per model input there.", source);
        _arrays = new Dictionary<string, TensorData>(arrays, StringComparer.Ordinal);
        var counts = _arrays.Select(kv => (kv.Key, Count: kv.Value.Shape.Length == 0 ? 0 : kv.Value.Shape[0])).ToList();
        Count = checked((int)counts[0].Count);
        var odd = counts.FirstOrDefault(c => c.Count != Count);
        if (odd.Key != null)
            throw new PotException("DatasetCountMismatch", PotErrorCategory.InvalidData,
                $"In '{source}', array '{odd.Key}' has {odd.Count} items but '{counts[0].Key}' has {Count}: every input needs the same number of items along the first axis.", source);
        if (labels != null && (labels.Shape.Length == 0 || labels.Shape[0] != Count))
            throw new PotException("DatasetCountMismatch", PotErrorCategory.InvalidData,
                $"In '{source}', the labels hold {(labels.Shape.Length == 0 ? 0 : labels.Shape[0])} items but the inputs hold {Count}.", source);
        _labels = labels;
        InputNames = _arrays.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
    }

    /// <summary>Opens a folder of .npy files or an .npz archive.</summary>
    public static NpyDataset Open(string path)
    {
        var arrays = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        if (Directory.Exists(path))
        {
            foreach (var file in Directory.EnumerateFiles(path, "*.npy").OrderBy(f => f, StringComparer.Ordinal))
                arrays[Path.GetFileNameWithoutExtension(file)] = NpyReader.ReadFile(file);
        }
        else if (File.Exists(path) && path.EndsWith(".npz", StringComparison.OrdinalIgnoreCase))
        {
            foreach (var (name, array) in NpyReader.ReadArchive(path)) arrays[name] = array;
        }
        else if (File.Exists(path) && path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            arrays[Path.GetFileNameWithoutExtension(path)] = NpyReader.ReadFile(path);
        }
        else
        {
            throw new PotException("DataPathNotFound", PotErrorCategory.ObjectNotFound,
                $"'{path}' is neither a folder of .npy files nor an .npz or .npy file.", path);
        }
        arrays.Remove(LabelsName, out var labels);
        return new NpyDataset(path, arrays, labels);
    }

    public string Source { get; }
    public int Count { get; }
    public IReadOnlyList<string> InputNames { get; }
    public bool HasAnnotations => _labels != null;

    public DataItem Get(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
        var inputs = _arrays.ToDictionary(kv => kv.Key, kv => kv.Value.SliceFirstAxis(index, 1), StringComparer.Ordinal);
        object? label = _labels == null ? null : _labels.Shape.Length == 1 ? _labels.Data.GetValue(index) : _labels.SliceFirstAxis(index, 1);
        return new DataItem(index, inputs, label);
    }
}
