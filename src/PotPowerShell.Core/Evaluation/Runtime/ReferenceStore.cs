namespace PotPowerShell.Core.Evaluation;

/// <summary>FP32 model outputs per item, computed once and kept for similarity metrics (float32, one row per item and output).</summary>
internal sealed class ReferenceStore(int count)
{
    private readonly Dictionary<string, float[]?[]> _rows = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> Outputs => _rows.Keys;

    public void AddOutput(string output)
    {
        if (!_rows.ContainsKey(output)) _rows[output] = new float[]?[count];
    }

    public bool Has(int item) => _rows.Values.All(r => r[item] != null);

    /// <summary>True when some output of <paramref name="item"/> has its reference already.</summary>
    public bool HasAny(int item) => _rows.Values.Any(r => r[item] != null);

    private readonly SortedSet<int> _nonFinite = new();

    /// <summary>Items whose reference holds NaN or Inf: every metric compared with it scores them at its worst, for every model.</summary>
    public (int Count, int? First) NonFinite
    {
        get
        {
            lock (_nonFinite) return (_nonFinite.Count, _nonFinite.Count > 0 ? _nonFinite.Min : null);
        }
    }

    /// <summary>Stores a row (lanes store rows of different items side by side).</summary>
    public void Set(string output, int item, float[] row)
    {
        _rows[output][item] = row;
        if (Calibration.SpanMath.FirstNonFinite(row) >= 0)
            lock (_nonFinite) _nonFinite.Add(item);
    }

    public ReadOnlySpan<float> Row(string output, int item) =>
        _rows.TryGetValue(output, out var rows) && rows[item] is { } row
            ? row
            : throw new InvalidOperationException($"No FP32 reference for output '{output}', item {item}.");
}
