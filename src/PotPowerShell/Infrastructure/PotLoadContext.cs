using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace PotPowerShell.Infrastructure;

/// <summary>
/// The private load context for PotPowerShell.Core, PotPowerShell.Reporting and everything they depend on (ONNX
/// Runtime, YamlDotNet, protobuf, ScottPlot, SkiaSharp), so that other modules' copies of those assemblies in the
/// default context never clash with ours.
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

    /// <summary>
    /// Native libraries of the assemblies in this context (SkiaSharp's libSkiaSharp, HarfBuzzSharp's libHarfBuzzSharp)
    /// from Dependencies/runtimes/&lt;os&gt;-&lt;arch&gt;/native (or runtimes/osx/native, where the macOS builds are
    /// universal), never from the process's search path. ONNX Runtime has its own resolver (OnnxRuntimeLoader).
    /// </summary>
    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        string arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        string extension = OperatingSystem.IsWindows() ? ".dll" : OperatingSystem.IsMacOS() ? ".dylib" : ".so";
        string file = Path.HasExtension(unmanagedDllName) ? unmanagedDllName : unmanagedDllName + extension;
        foreach (string rid in new[] { os + "-" + arch, os })
        {
            string path = Path.Combine(_folder, "runtimes", rid, "native", file);
            if (File.Exists(path)) return LoadUnmanagedDllFromPath(path);
        }
        return IntPtr.Zero;
    }
}
