namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>Collects log lines as they are reported (Progress&lt;T&gt; would post them later, on another thread).</summary>
internal sealed class LogLines(List<string> lines) : IProgress<string>
{
    public void Report(string value)
    {
        lock (lines) lines.Add(value);
    }
}
