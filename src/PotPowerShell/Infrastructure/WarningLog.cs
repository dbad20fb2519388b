using System.Management.Automation;

namespace PotPowerShell.Infrastructure;

/// <summary>Passes the core's warnings to the warning stream; the core reports them from the pipeline thread.</summary>
internal sealed class WarningLog(PSCmdlet owner) : IProgress<string>
{
    public void Report(string value) => owner.WriteWarning(value);
}
