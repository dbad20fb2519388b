using System.Runtime.InteropServices;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// How DefaultQuantization takes timings: the timer, where layer timings are cached, which machine they belong to and
/// how long each measurement may take. <see cref="ThisMachine"/> is what users get; tests give a fake timer and a
/// temporary cache (no timing in tests).
/// </summary>
public sealed record LatencyMeasurement
{
    public required IModelTimer Timer { get; init; }
    public required string CachePath { get; init; }
    public required CostCacheIdentity Identity { get; init; }
    /// <summary>Timed rounds of one layer's micro-benchmarks stop after this (at least <see cref="OrtModelTimer.MinRounds"/> rounds).</summary>
    public TimeSpan LayerBudget { get; init; } = TimeSpan.FromMilliseconds(40);
    /// <summary>Timed rounds of the whole-model candidates of the precision choice stop after this.</summary>
    public TimeSpan ModelBudget { get; init; } = TimeSpan.FromMilliseconds(2000);
    /// <summary>Timed rounds of the final FP32-versus-output check stop after this.</summary>
    public TimeSpan CheckBudget { get; init; } = TimeSpan.FromMilliseconds(1000);

    /// <summary>ONNX Runtime on this CPU, with the cache in the user's cache folder (see <see cref="LayerCostCache.DefaultFolder"/>).</summary>
    public static LatencyMeasurement ThisMachine() => new()
    {
        Timer = OrtModelTimer.Instance,
        CachePath = LayerCostCache.DefaultPath(),
        Identity = new CostCacheIdentity(CpuName(), OnnxRuntimeLoader.Version),
    };

    /// <summary>The CPU's model name (from /proc/cpuinfo on Linux, PROCESSOR_IDENTIFIER on Windows) and its INT8 features.</summary>
    public static string CpuName()
    {
        string name = "";
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"))
                name = File.ReadLines("/proc/cpuinfo").Take(200)
                    .FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal) || l.StartsWith("Model", StringComparison.Ordinal))
                    ?.Split(':', 2).ElementAtOrDefault(1)?.Trim() ?? "";
            else if (OperatingSystem.IsWindows())
                name = Environment.GetEnvironmentVariable("PROCESSOR_IDENTIFIER") ?? "";
        }
        catch (IOException)
        {
        }
        var profile = HardwareProfile.Current;
        string features = string.Join(" ", new[] { RuntimeInformation.ProcessArchitecture.ToString() }.Concat(profile.Features));
        return name.Length > 0 ? $"{name} ({features})" : features;
    }
}
