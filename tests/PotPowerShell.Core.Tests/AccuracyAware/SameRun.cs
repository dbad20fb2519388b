using Google.Protobuf;
using PotPowerShell.Core.Quantization.AccuracyAware;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>Two accuracy-aware runs that must be the same run: the same evaluations in the same order, and the same model.</summary>
internal static class SameRun
{
    public static void Check(AccuracyAwareOutcome expected, AccuracyAwareOutcome actual)
    {
        Assert.Equal(expected.Result.Iterations, actual.Result.Iterations);
        Assert.Equal(expected.Result.Metrics, actual.Result.Metrics);
        Assert.Equal(expected.Result.Evaluations, actual.Result.Evaluations);
        Assert.Equal(expected.Result.Inferences, actual.Result.Inferences);
        Assert.Equal(expected.Result.Log, actual.Result.Log);
        Assert.Equal(expected.Model.ToByteArray(), actual.Model.ToByteArray());
    }
}
