namespace PotPowerShell.Core.Config;

/// <summary>Which layers DefaultQuantization makes INT8 on CPU targets.</summary>
public enum PrecisionMode
{
    /// <summary>
    /// Each layer gets the precision that makes the whole model fastest on this CPU, from measured layer timings
    /// (see LatencyAwarePrecision): a layer whose INT8 kernel, with the conversions its neighbours then need, is
    /// slower than its float kernel stays float.
    /// </summary>
    Fastest,
    /// <summary>Every quantizable layer outside the ignored scope is INT8 (POT's semantics).</summary>
    AllInt8,
}
