namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// What a stage before the revert search (mixed preset, tuning) ends with: the quantization settings it chose and the
/// model the next stage starts from.
/// </summary>
internal sealed record StageOutcome(QuantizationSource Source, ModelCandidate Model)
{
    public static StageOutcome FullyQuantized(QuantizationSource source) => new(source, ModelCandidate.FullyQuantized(source));
}
