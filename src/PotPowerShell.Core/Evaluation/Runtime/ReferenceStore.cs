namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// The FP32 model's outputs per item, computed once: rows of the outputs similarity metrics compare (float32, one row
/// per item and output), and, for detection and segmentation metrics, the FP32 prediction its adapter makes of the
/// item (its detections, its class map), which is all they read and far smaller than the outputs it came from (class
/// scores of every pixel).
/// </summary>
internal sealed class ReferenceStore(int count)
{
    private readonly Dictionary<string, float[]?[]> _rows = new(StringComparer.Ordinal);
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
        if (!_rows.ContainsKey(output)) _rows[output] = new float[]?[count];
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

    /// <summary>Stores a row (lanes store rows of different items side by side).</summary>
    public void Set(string output, int item, float[] row)
    {
        _rows[output][item] = row;
        if (Calibration.SpanMath.FirstNonFinite(row) >= 0) MarkNonFinite(item);
    }

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

    public ReadOnlySpan<float> Row(string output, int item) =>
        _rows.TryGetValue(output, out var rows) && rows[item] is { } row
            ? row
            : throw new InvalidOperationException($"No FP32 reference for output '{output}', item {item}.");

    /// <summary>The FP32 prediction of <paramref name="item"/> (see <see cref="AddPredictionSource"/>).</summary>
    public object Prediction(int item) =>
        _predictions?[item] ?? throw new InvalidOperationException($"No FP32 prediction for item {item}.");
}
