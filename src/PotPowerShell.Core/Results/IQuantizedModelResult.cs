namespace PotPowerShell.Core.Results;

/// <summary>
/// A result that wrote a quantized model (<see cref="OutputPath"/>) from a float one (<see cref="ModelPath"/>):
/// Invoke-DefaultQuantization's and Invoke-AccuracyAwareQuantization's. Piped to Measure-PotModel, the quantized model
/// is measured and the float one is the reference of metrics that compare with FP32 outputs.
/// </summary>
public interface IQuantizedModelResult
{
    string? ModelPath { get; }
    string? OutputPath { get; }
}
