namespace PotPowerShell.Core;

/// <summary>
/// A progress report from a long-running core operation. Core code reports only from the thread that called it,
/// so a cmdlet can forward it straight to Write-Progress.
/// </summary>
/// <param name="Activity">The stage, e.g. "Calibration".</param>
/// <param name="Status">What is happening now, e.g. "batch 3 of 10".</param>
/// <param name="PercentComplete">0 to 100, or -1 when unknown.</param>
/// <param name="Id">Progress record id; child stages use a higher id than their parent.</param>
public sealed record PotProgress(string Activity, string Status, int PercentComplete = -1, int Id = 0)
{
    public static int Percent(long done, long total) => total <= 0 ? -1 : (int)Math.Clamp(done * 100 / total, 0, 100);
}
