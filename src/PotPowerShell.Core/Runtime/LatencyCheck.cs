using System.Globalization;
using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Runtime;

/// <summary>The FP32 model and the quantized output timed side by side on the same input.</summary>
public sealed record LatencyCheckResult(Timing Fp32, Timing Output, int BatchSize)
{
    /// <summary>
    /// When the timings were disturbed by other work on the machine also when timed again
    /// (<see cref="InterleavedRounds.Disturbed"/>): their dispersion; otherwise null.
    /// </summary>
    public double? Disturbed { get; init; }

    /// <summary>FP32 p50 over output p50: above 1 when the output is faster.</summary>
    public double Speedup => Fp32.MedianMs / Output.MedianMs;

    /// <summary>
    /// The figures the result records of DefaultQuantization and AccuracyAwareQuantization show, rounded once here; the
    /// speed-up is that of the rounded medians, so it is what the figures shown give (a median of an even count of runs
    /// has more decimals than one run's time).
    /// </summary>
    public LatencyFigures Figures
    {
        get
        {
            double fp32 = Math.Round(Fp32.MedianMs, 4), output = Math.Round(Output.MedianMs, 4);
            return new(fp32, output, Math.Round(Fp32.P90Ms, 4), Math.Round(Output.P90Ms, 4), Math.Round(output > 0 ? fp32 / output : Speedup, 3), Fp32.Count, BatchSize);
        }
    }

    /// <summary>How <see cref="WarningFor"/>'s warning begins: a report whose bytes must not depend on timings leaves it out.</summary>
    public const string NotFaster = "The quantized model is not faster than the FP32 model on this CPU";

    /// <summary>
    /// A warning with the figures when an output with <paramref name="int8Layers"/> INT8 layers is not faster than the
    /// FP32 model; null when it is, or when it has no INT8 layer (it then runs as the FP32 model does, and the precision
    /// choice has said so). <paramref name="fastest"/>: the layers were chosen by their timings, so the advice differs.
    /// </summary>
    public string? WarningFor(int int8Layers, bool fastest) => Speedup >= 1 || int8Layers == 0 ? null : string.Format(CultureInfo.InvariantCulture,
        NotFaster + "{6}: p50 {0:0.000} ms vs {1:0.000} ms for FP32 ({2:0.00}x, batch {3}, one thread, {4} interleaved runs). {5}",
        Output.MedianMs, Fp32.MedianMs, Speedup, BatchSize, Fp32.Count,
        Disturbed != null
            ? "Time both again on a quieter machine (Compare-PotModel) before deciding."
            : fastest
                ? "Its INT8 layers were timed faster one by one, but not the whole model now (timings on a busy machine vary): time it at the batch size you deploy with (-BatchSize), or deploy the FP32 model where speed matters most."
                : "It is smaller; for speed, use -Precision Fastest on a CPU target, or time it at the batch size you deploy with (-BatchSize).",
        Disturbed is double dispersion ? string.Format(CultureInfo.InvariantCulture, " as timed while the machine was busy (median runs {0:0.0}x their fastest, twice)", dispersion) : "");
}

/// <summary>A latency check as result records show it: p50 and p90 in milliseconds (4 decimals), the speed-up (3), runs and batch size.</summary>
public sealed record LatencyFigures(double Fp32Ms, double Ms, double Fp32P90Ms, double P90Ms, double Speedup, int Runs, int BatchSize);

/// <summary>Times the FP32 model against the output at the end of DefaultQuantization and AccuracyAwareQuantization.</summary>
public static class LatencyCheck
{
    /// <summary>
    /// Runs both models interleaved with <paramref name="timer"/> on a batch of <paramref name="batchSize"/> items taken
    /// from <paramref name="items"/> of <paramref name="data"/> (repeated when there are fewer), until it is decided which
    /// is faster and by about how much (<see cref="InterleavedRounds.Decided"/>), or <paramref name="budget"/> has passed.
    /// MiniLM (1.8x faster in INT8) took 101 rounds, 0.8 s, when every check ran to its limit; 11 to 17 now
    /// (bench/Bench-AccuracyAware.ps1 NOTES).
    /// </summary>
    /// <param name="sources">The two models' names for errors.</param>
    public static LatencyCheckResult Run(byte[] fp32, byte[] output, IDataset data, IReadOnlyList<int> items, int batchSize, IModelTimer timer,
        TimeSpan budget, CancellationToken cancellationToken, IReadOnlyList<string>? sources = null)
    {
        if (items.Count == 0) throw new ArgumentException("No items to time with.", nameof(items));
        var batch = Enumerable.Range(0, batchSize).Select(k => data.Get(items[k % items.Count])).ToList();
        // Its verdict is which model is faster; once that is certain, more rounds only refine the figures. Timings a busy
        // moment disturbed are taken again once, so that it does not give the verdict.
        var input = new ModelInput(data, batch, sources);
        var timings = timer.Time(new[] { fp32, output }, input, budget, cancellationToken, untilDecided: true);
        if (InterleavedRounds.Disturbed(timings)) timings = timer.Time(new[] { fp32, output }, input, budget, cancellationToken, untilDecided: true);
        return new LatencyCheckResult(timings[0], timings[1], batchSize) { Disturbed = InterleavedRounds.Disturbed(timings) ? InterleavedRounds.Dispersion(timings) : null };
    }
}
