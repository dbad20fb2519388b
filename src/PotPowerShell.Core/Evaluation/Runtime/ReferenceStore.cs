namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// The FP32 model's outputs per item, computed once: rows of the outputs similarity metrics compare (float32, one row
/// per item and output), and, for detection and segmentation metrics, the FP32 prediction its adapter makes of the
/// item (its detections, its class map), which is all they read and far smaller than the outputs it came from (class
/// scores of every pixel). Rows are held in memory up to <paramref name="memoryBytes"/>, the rest in a file of the
/// process's temporary folder, read back when compared: a YOLOv8 head's [84, 8400] is 2.8 MB per item, 14 GB for
/// COCO's 5000 validation images.
/// </summary>
internal sealed class ReferenceStore(int count, long memoryBytes = ReferenceStore.DefaultMemoryBytes) : IDisposable
{
    /// <summary>Rows held in memory before the rest go to disk.</summary>
    public const long DefaultMemoryBytes = 1L << 30;

    /// <summary>A stored row: its values in memory, or where they are in the spill file.</summary>
    private sealed record Kept(float[]? Values, long Offset, int Length);

    private readonly Dictionary<string, Kept?[]> _rows = new(StringComparer.Ordinal);
    private long _heldBytes;
    private FileStream? _spill;
    private readonly object _spillGate = new();
    private readonly HashSet<string> _predictedFrom = new(StringComparer.Ordinal);
    private object?[]? _predictions;

    /// <summary>The outputs a reference run fetches: those whose rows are kept, and those the predictions are made from.</summary>
    public IReadOnlyCollection<string> Outputs => _rows.Keys.Union(_predictedFrom, StringComparer.Ordinal).ToList();

    /// <summary>The outputs whose rows are kept.</summary>
    public IReadOnlyCollection<string> Rows => _rows.Keys;

    /// <summary>The outputs the adapters make the FP32 predictions from; empty when no metric compares predictions.</summary>
    public IReadOnlyCollection<string> PredictedFrom => _predictedFrom;

    public void AddOutput(string output)
    {
        if (!_rows.ContainsKey(output)) _rows[output] = new Kept?[count];
    }

    /// <summary>Keeps the FP32 prediction of every item, made from <paramref name="output"/> among others.</summary>
    public void AddPredictionSource(string output)
    {
        _predictedFrom.Add(output);
        _predictions ??= new object?[count];
    }

    public bool Has(int item) => _rows.Values.All(r => r[item] != null) && (_predictions == null || _predictions[item] != null);

    /// <summary>True when some output of <paramref name="item"/> has its reference already.</summary>
    public bool HasAny(int item) => _rows.Values.Any(r => r[item] != null) || _predictions?[item] != null;

    private readonly SortedSet<int> _nonFinite = new();

    /// <summary>Items whose reference holds NaN or Inf: every metric compared with it scores them at its worst, for every model.</summary>
    public (int Count, int? First) NonFinite
    {
        get
        {
            lock (_nonFinite) return (_nonFinite.Count, _nonFinite.Count > 0 ? _nonFinite.Min : null);
        }
    }

    /// <summary>Stores a row: in memory while the budget lasts, else at the end of the spill file.</summary>
    public void Set(string output, int item, float[] row)
    {
        if (Calibration.SpanMath.FirstNonFinite(row) >= 0) MarkNonFinite(item);
        long bytes = (long)row.Length * sizeof(float);
        lock (_spillGate)
        {
            if (_heldBytes + bytes <= memoryBytes)
            {
                _heldBytes += bytes;
                _rows[output][item] = new Kept(row, 0, row.Length);
                return;
            }
            var spill = _spill ??= OpenSpill();
            long offset = spill.Length;
            try
            {
                RandomAccess.Write(spill.SafeFileHandle, System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.AsSpan()), offset);
            }
            catch (IOException e)
            {
                throw SpillFailed(e);
            }
            _rows[output][item] = new Kept(null, offset, row.Length);
        }
    }

    private FileStream OpenSpill()
    {
        string path = Path.Combine(Data.ProcessTempFolder.Path, $"fp32-references-{Guid.NewGuid():N}.bin");
        try
        {
            return new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 4096, FileOptions.DeleteOnClose | FileOptions.RandomAccess);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw SpillFailed(e);
        }
    }

    private PotException SpillFailed(Exception e) => new("ReferenceSpillFailed", PotErrorCategory.WriteError,
        $"The FP32 reference outputs beyond {memoryBytes >> 20} MB go to a file in '{Data.ProcessTempFolder.Root}', which failed: {e.Message} " +
        "Free space there (or set TMPDIR / TEMP to a folder with space), or compare a smaller output (output:) or fewer items.", Data.ProcessTempFolder.Root, e);

    /// <summary>Stores the FP32 prediction of an item, and whether the outputs it was made from are finite.</summary>
    public void SetPrediction(int item, object prediction, bool finite)
    {
        _predictions![item] = prediction;
        if (!finite) MarkNonFinite(item);
    }

    private void MarkNonFinite(int item)
    {
        lock (_nonFinite) _nonFinite.Add(item);
    }

    public ReadOnlySpan<float> Row(string output, int item)
    {
        if (!_rows.TryGetValue(output, out var rows) || rows[item] is not { } kept)
            throw new InvalidOperationException($"No FP32 reference for output '{output}', item {item}.");
        if (kept.Values != null) return kept.Values;
        var values = new float[kept.Length];
        lock (_spillGate)
        {
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan());
            if (RandomAccess.Read(_spill!.SafeFileHandle, bytes, kept.Offset) != bytes.Length)
                throw new IOException($"The FP32 reference file ended before item {item}'s row of '{output}'.");
        }
        return values;
    }

    /// <summary>Closes (and so deletes) the spill file.</summary>
    public void Dispose()
    {
        lock (_spillGate)
        {
            _spill?.Dispose();
            _spill = null;
        }
    }

    /// <summary>The FP32 prediction of <paramref name="item"/> (see <see cref="AddPredictionSource"/>).</summary>
    public object Prediction(int item) =>
        _predictions?[item] ?? throw new InvalidOperationException($"No FP32 prediction for item {item}.");
}
