namespace PotPowerShell.Core.Results;

/// <summary>
/// A metric over the whole data set (not a mean of per-item values) that keeps each item's part, so that its value can
/// be computed again with the items weighted: the paired bootstrap of Compare-PotModel draws items with replacement
/// and passes how often each was drawn. Implemented by the Evaluation layer's aggregates.
/// </summary>
internal interface IWeightedAggregate
{
    /// <summary>The items given, in the order given.</summary>
    int Items { get; }

    /// <summary>The value with item i counted <paramref name="draws"/>[i] times.</summary>
    double Result(ReadOnlySpan<int> draws);

    /// <summary>Every one of <paramref name="items"/> items drawn once: the metric's own value.</summary>
    static int[] Once(int items) => Enumerable.Repeat(1, items).ToArray();
}
