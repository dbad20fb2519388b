namespace PotPowerShell.Core.Calibration;

/// <summary>A calibrated activation range of one tensor.</summary>
public readonly record struct ActivationRange(float Min, float Max);
