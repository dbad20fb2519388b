using System.Reflection;
using System.Runtime.Loader;

namespace PotPowerShell.Infrastructure;

/// <summary>
/// The private load context for PotPowerShell.Core and everything it depends on (ONNX Runtime, YamlDotNet, protobuf),
/// so that other modules' copies of those assemblies in the default context never clash with ours.
/// </summary>
internal sealed class PotLoadContext : AssemblyLoadContext
{
    private readonly string _folder;

    public PotLoadContext(string folder) : base("PotPowerShell", isCollectible: false) => _folder = folder;

    protected override Assembly? Load(AssemblyName name)
    {
        // Returning null shares the assembly with the default context: the BCL and PowerShell itself.
        string path = Path.Combine(_folder, name.Name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }
}
