using System.Runtime.InteropServices;

namespace PotPowerShell.TestSupport;

/// <summary>
/// CPU time of the calling thread, for benchmarks on a shared machine: with one intra-op thread ONNX Runtime runs on
/// the caller, so this counts the work itself and not the time other processes held the core. Null where the platform
/// offers no such clock.
/// </summary>
public static class ThreadCpuClock
{
    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    [DllImport("kernel32.dll", SetLastError = true)]
    private static extern IntPtr GetCurrentThread();

    [DllImport("kernel32.dll", SetLastError = true)]
    private static extern bool GetThreadTimes(IntPtr thread, out long creation, out long exit, out long kernel, out long user);

    /// <summary>CPU time used by the calling thread so far, or null.</summary>
    public static TimeSpan? Now()
    {
        try
        {
            if (OperatingSystem.IsWindows())
                return GetThreadTimes(GetCurrentThread(), out _, out _, out long kernel, out long user) ? TimeSpan.FromTicks(kernel + user) : null;
            // CLOCK_THREAD_CPUTIME_ID: 3 on Linux, 16 on macOS.
            int clock = OperatingSystem.IsMacOS() ? 16 : 3;
            if (ClockGetTime(clock, out var t) != 0) return null;
            return TimeSpan.FromTicks(t.Seconds * TimeSpan.TicksPerSecond + t.Nanoseconds / 100);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }
}
