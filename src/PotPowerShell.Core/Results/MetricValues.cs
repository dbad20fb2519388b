using System.Collections.Specialized;
using System.Globalization;

namespace PotPowerShell.Core.Results;

/// <summary>
/// Metric name to value, in the order they were added (the engine's). Export-Csv and string expansion show a property
/// as its text, so that text is the values themselves ("accuracy@top1=0.99; cosine_similarity=0.999875", each value
/// round-trip exact) rather than the type's name; ConvertTo-Json and remoting see a dictionary, and
/// <c>$x.MetricDeltas.'accuracy@top1'</c> reads one value.
/// </summary>
public sealed class MetricValues : OrderedDictionary
{
    public MetricValues() : base(StringComparer.Ordinal) { }

    /// <summary>The values of these metrics, in their order.</summary>
    public static MetricValues From(IEnumerable<(string Metric, double Value)> values)
    {
        var result = new MetricValues();
        foreach (var (metric, value) in values) result.Add(metric, value);
        return result;
    }

    /// <summary>The value of <paramref name="metric"/> (which must be there).</summary>
    public double Of(string metric) => (double)this[metric]!;

    public override string ToString() =>
        string.Join("; ", this.Cast<System.Collections.DictionaryEntry>().Select(e => e.Key + "=" + ((double)e.Value!).ToString("R", CultureInfo.InvariantCulture)));
}
