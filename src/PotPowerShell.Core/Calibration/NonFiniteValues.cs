using System.Globalization;
using Onnx;

namespace PotPowerShell.Core.Calibration;

/// <summary>
/// NaN and ±Inf among the values calibration sees, per model input and per layer output. A non-finite value would
/// turn a range into [0, Inf] or [0, 0] and the quantized model into noise, so by default the first one is an error
/// (NonFiniteCalibrationData) that names the tensor, the node that produced it and the item; with
/// <see cref="CalibrationRequest.SkipNonFiniteValues"/> the values are left out of the statistics and counted here for
/// a warning.
/// </summary>
internal sealed class NonFiniteValues
{
    private sealed class Tally
    {
        public long Values;
        public int Items;
        public int FirstItem;
    }

    private readonly ModelProto _model;
    private readonly bool _skip;
    private readonly SortedDictionary<string, Tally> _tallies = new(StringComparer.Ordinal);

    public NonFiniteValues(ModelProto model, bool skip)
    {
        _model = model;
        _skip = skip;
    }

    /// <summary>
    /// Checks <paramref name="values"/>, <paramref name="items"/> items of equal length whose dataset indices are
    /// <paramref name="itemIndices"/>. Returns true when all are finite; otherwise throws, or (when skipping) counts the
    /// non-finite values and returns false.
    /// </summary>
    public bool Check(string tensor, ReadOnlySpan<float> values, int items, IReadOnlyList<int> itemIndices)
    {
        int first = SpanMath.FirstNonFinite(values);
        if (first < 0) return true;
        int length = RangeStatistics.ItemLength(values.Length, items);
        if (!_skip)
        {
            int item = length == 0 ? 0 : first / length;
            throw Error(tensor, itemIndices[item], values[first], first - item * length);
        }
        if (!_tallies.TryGetValue(tensor, out var tally))
            _tallies[tensor] = tally = new Tally { FirstItem = int.MaxValue };
        for (int i = 0; i < items; i++)
        {
            int count = Count(values.Slice(i * length, length));
            if (count == 0) continue;
            tally.Values += count;
            tally.Items++;
            tally.FirstItem = Math.Min(tally.FirstItem, itemIndices[i]);
        }
        return false;
    }

    /// <summary>Number of NaN and ±Inf values.</summary>
    public static int Count(ReadOnlySpan<float> values)
    {
        int count = 0;
        foreach (float v in values) if (!float.IsFinite(v)) count++;
        return count;
    }

    /// <summary>A tensor whose every value was skipped has nothing to calibrate on: that is an error even when skipping.</summary>
    public PotException NothingFinite(string tensor) => new("NonFiniteCalibrationData", PotErrorCategory.InvalidData,
        $"Every calibration value of {Describe(tensor)} is NaN or infinite, so it has no range to quantize with. " +
        "Check the calibration data and that the model computes finite values on it.", tensor);

    /// <summary>One warning naming every tensor whose non-finite values were skipped; null when there were none.</summary>
    public string? Warning()
    {
        if (_tallies.Count == 0) return null;
        long total = _tallies.Values.Sum(t => t.Values);
        var listed = _tallies.OrderBy(kv => kv.Value.FirstItem).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(5)
            .Select(kv => string.Format(CultureInfo.InvariantCulture, "{0}: {1} values in {2} item(s), first item {3}",
                Describe(kv.Key), kv.Value.Values, kv.Value.Items, kv.Value.FirstItem));
        string more = _tallies.Count > 5 ? $"; and {_tallies.Count - 5} more tensors" : "";
        return string.Format(CultureInfo.InvariantCulture,
            "Calibration skipped {0} non-finite values (NaN or Inf) in {1} tensors: {2}{3}. Their ranges come from the finite values only.",
            total, _tallies.Count, string.Join("; ", listed), more);
    }

    private PotException Error(string tensor, int item, float value, int element) => new("NonFiniteCalibrationData", PotErrorCategory.InvalidData,
        string.Format(CultureInfo.InvariantCulture,
            "Calibration item {0} gives {1} in {2} (element {3}). A non-finite value would make its quantization range useless. {4} " +
            "To calibrate on the finite values only, use -SkipNonFiniteValues (config: skip_non_finite_values: true in the algorithm's params).",
            item, value, Describe(tensor), element,
            IsGraphInput(tensor) ? "Fix or remove that item of the calibration data." : "The model overflows on that item: check the item and the model."),
        tensor);

    private bool IsGraphInput(string tensor) => _model.Graph.Input.Any(i => i.Name == tensor);

    /// <summary>"model input 'x'" or "tensor 'y' (output of node 'conv1', Conv)".</summary>
    private string Describe(string tensor)
    {
        if (IsGraphInput(tensor)) return $"model input '{tensor}'";
        var producer = _model.Graph.Node.FirstOrDefault(n => n.Output.Contains(tensor));
        return producer == null ? $"tensor '{tensor}'" : $"tensor '{tensor}' (output of node '{producer.Name}', {producer.OpType})";
    }
}
