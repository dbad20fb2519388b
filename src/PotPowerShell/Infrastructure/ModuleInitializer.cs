using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace PotPowerShell.Infrastructure;

/// <summary>
/// Runs on Import-Module: routes the references the cmdlet assembly has (PotPowerShell.Core, PotPowerShell.Reporting)
/// to the private load context in Dependencies/. They are deliberately not next to this assembly, or default probing
/// would find them first.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    internal static readonly string DependencyFolder =
        Path.Combine(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location)!, "Dependencies");

    private static readonly PotLoadContext LoadContext = new(DependencyFolder);

    public void OnImport() => AssemblyLoadContext.Default.Resolving += Resolve;

    public void OnRemove(PSModuleInfo module) => AssemblyLoadContext.Default.Resolving -= Resolve;

    private static Assembly? Resolve(AssemblyLoadContext context, AssemblyName name) =>
        name.Name is "PotPowerShell.Core" or "PotPowerShell.Reporting" ? LoadContext.LoadFromAssemblyName(name) : null;
}
