using Google.Protobuf;
using PotPowerShell.Core.Quantization.AccuracyAware;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>Two accuracy-aware runs that must be the same run: the same evaluations in the same order, and the same model.</summary>
internal static class SameRun
{
    /// <param name="onlyInActual">Log lines only <paramref name="actual"/> writes (null: none).</param>
    public static void Check(AccuracyAwareOutcome expected, AccuracyAwareOutcome actual, Func<string, bool>? onlyInActual = null)
    {
        Assert.Equal(expected.Result.Iterations, actual.Result.Iterations);
        Assert.Equal(expected.Result.Metrics, actual.Result.Metrics);
        Assert.Equal(expected.Result.Evaluations, actual.Result.Evaluations);
        Assert.Equal(expected.Result.Inferences, actual.Result.Inferences);
        Assert.Equal(expected.Result.Log, actual.Result.Log.Where(l => onlyInActual?.Invoke(l) != true));
        Assert.Equal(expected.Model.ToByteArray(), actual.Model.ToByteArray());
    }
}
