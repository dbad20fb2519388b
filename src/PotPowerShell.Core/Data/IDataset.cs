namespace PotPowerShell.Core.Data;

/// <summary>One item of a data set: the model inputs by input name, each with a leading batch axis of 1, and its annotation.</summary>
/// <param name="Index">Position of the item in its data set.</param>
/// <param name="Inputs">Model input name to tensor of shape [1, ...].</param>
/// <param name="Annotation">The label (a long, a string, a tensor...) or null for unlabelled data.</param>
public sealed record DataItem(int Index, IReadOnlyDictionary<string, TensorData> Inputs, object? Annotation);

/// <summary>
/// A random-access data set. Implementations read lazily or hold compact arrays, so that iterating a large set does
/// not multiply memory. Used by calibration (annotations ignored) and by evaluation.
/// </summary>
public interface IDataset
{
    /// <summary>Where the data comes from, for messages.</summary>
    string Source { get; }

    int Count { get; }

    /// <summary>The model input names this set provides.</summary>
    IReadOnlyList<string> InputNames { get; }

    /// <summary>True when every item has an annotation.</summary>
    bool HasAnnotations { get; }

    DataItem Get(int index);
}
