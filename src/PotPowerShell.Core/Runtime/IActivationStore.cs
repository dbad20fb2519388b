namespace PotPowerShell.Core.Runtime;

/// <summary>
/// Per-item tensors a model exchanges with a store instead of computing or returning them as outputs: the inputs a
/// suffix model reads (<see cref="Onnx.SuffixCut"/>) and the outputs a capturing model gives to be stored. One item's
/// tensor has a leading axis of 1.
/// </summary>
public interface IActivationStore
{
    /// <summary>Item <paramref name="item"/>'s stored tensor <paramref name="name"/>.</summary>
    bool TryGet(int item, string name, out ReadOnlyMemory<byte> bytes, out long[] shape);

    /// <summary>Stores item <paramref name="item"/>'s row of captured output <paramref name="name"/> (copied: the span is reused). May be called from several threads.</summary>
    /// <param name="declared">The output's shape as ONNX Runtime inferred it in the capturing model, one entry per axis: a
    /// number, a symbol, or "" for an axis it does not know (<see cref="Onnx.SuffixCut.Declare"/> gives it to a suffix).</param>
    void Keep(int item, string name, ReadOnlySpan<byte> row, long[] shape, IReadOnlyList<string> declared);
}
