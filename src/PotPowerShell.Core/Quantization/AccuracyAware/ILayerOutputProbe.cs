namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// Runs two models on the same items with chosen intermediate tensors exposed and compares them: the instrumented
/// pass behind OutputError ranking.
/// </summary>
public interface ILayerOutputProbe
{
    /// <summary>
    /// For each tensor in <paramref name="tensors"/>, the per-item normalized squared error ||c - r||² / ||r||² between
    /// the reference and the candidate model (aligned with <paramref name="items"/>). Tensors missing from either model
    /// are left out of the result.
    /// </summary>
    IReadOnlyDictionary<string, double[]> Compare(byte[] reference, byte[] candidate, IReadOnlyList<string> tensors, IReadOnlyList<int> items, CancellationToken cancellationToken);

    /// <summary>Items inferred per compared item (2: reference and candidate).</summary>
    int InferencesPerItem => 2;
}
