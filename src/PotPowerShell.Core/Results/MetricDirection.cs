namespace PotPowerShell.Core.Results;

/// <summary>Which way a metric is better: what every record of a metric value carries.</summary>
public enum MetricDirection
{
    HigherBetter,
    HigherWorse,
}
