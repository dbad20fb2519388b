using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Evaluation;

/// <summary>FP32 model outputs per item, computed once and kept for similarity metrics (float32, one row per item and output).</summary>
internal sealed class ReferenceStore(int count)
{
    private readonly Dictionary<string, float[]?[]> _rows = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long[]?[]> _shapes = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> Outputs => _rows.Keys;

    public void AddOutput(string output)
    {
        if (_rows.ContainsKey(output)) return;
        _rows[output] = new float[]?[count];
        _shapes[output] = new long[]?[count];
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

    /// <summary>Stores a row and the shape of the output in a run of the item alone (lanes store rows of different items side by side).</summary>
    public void Set(string output, int item, float[] row, long[] shape)
    {
        _rows[output][item] = row;
        _shapes[output][item] = shape;
        if (Calibration.SpanMath.FirstNonFinite(row) >= 0)
            lock (_nonFinite) _nonFinite.Add(item);
    }

    /// <summary>
    /// The references of <paramref name="item"/> as a run of it alone gives outputs, laid out as
    /// <paramref name="names"/> (an output without references stays empty): what an adapter reads to predict from them.
    /// </summary>
    public BatchOutputs ItemOutputs(int item, string[] names)
    {
        var outputs = new BatchOutputs(names) { Rows = 1, Items = 1 };
        for (int o = 0; o < names.Length; o++)
        {
            if (!_rows.TryGetValue(names[o], out var rows)) continue;
            outputs.Data[o] = rows[item] ?? throw new InvalidOperationException($"No FP32 reference for output '{names[o]}', item {item}.");
            outputs.SetShape(o, _shapes[names[o]][item]!);
        }
        return outputs;
    }

    public ReadOnlySpan<float> Row(string output, int item) =>
        _rows.TryGetValue(output, out var rows) && rows[item] is { } row
            ? row
            : throw new InvalidOperationException($"No FP32 reference for output '{output}', item {item}.");
}
