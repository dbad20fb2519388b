using System.Runtime.InteropServices;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization;

/// <summary>How this machine takes timings when the options give no <see cref="LatencyMeasurement"/>.</summary>
public static class ThisMachine
{
    /// <summary>ONNX Runtime on this CPU, with the cache in the user's cache folder (see <see cref="LayerCostCache.DefaultFolder"/>).</summary>
    public static LatencyMeasurement Measurement() => new()
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
