using System.Management.Automation;

namespace PotPowerShell.Infrastructure;

/// <summary>Passes the core's warnings to the warning stream; the core reports them from the pipeline thread.</summary>
internal sealed class WarningLog(PSCmdlet owner, List<string>? kept = null) : IProgress<string>
{
    /// <summary>Writes the warning, and keeps it in the list given (for results that carry their run's warnings).</summary>
    public void Report(string value)
    {
        kept?.Add(value);
        owner.WriteWarning(value);
    }
}
