using System.Collections;

namespace PotPowerShell.Core.Config;

/// <summary>
/// A read-only list with value equality, so that records holding lists compare by content, and whose text is its items
/// joined by ", " (what Export-Csv writes for a result's lists, rather than the type's name).
/// </summary>
public sealed class ValueList<T> : IReadOnlyList<T>, IEquatable<ValueList<T>>
{
    private readonly T[] _items;

    public ValueList(IEnumerable<T> items) => _items = items.ToArray();

    public static ValueList<T> Empty { get; } = new(Array.Empty<T>());

    public int Count => _items.Length;

    public T this[int index] => _items[index];

    public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    public bool Equals(ValueList<T>? other) => other is not null && _items.SequenceEqual(other._items);

    public override bool Equals(object? obj) => obj is ValueList<T> l && Equals(l);

    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var i in _items) h.Add(i);
        return h.ToHashCode();
    }

    public override string ToString() => string.Join(", ", _items);
}

public static class ValueList
{
    public static ValueList<T> Of<T>(params T[] items) => new(items);

    public static ValueList<T> ToValueList<T>(this IEnumerable<T> items) => new(items);

    /// <summary><paramref name="items"/> as a value list, itself when it is one.</summary>
    public static ValueList<T> From<T>(IEnumerable<T> items) => items as ValueList<T> ?? new(items);
}
