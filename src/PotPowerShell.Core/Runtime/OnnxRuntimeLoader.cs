using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace PotPowerShell.Core.Runtime;

/// <summary>
/// Loads the native ONNX Runtime library from <c>runtimes/&lt;os&gt;-&lt;arch&gt;/native/</c> next to the managed ORT assembly,
/// and nowhere else: an unqualified load could pick up another copy (System32\onnxruntime.dll on Windows 11, another
/// module's). Call <see cref="Ensure"/> before any other ORT type is touched.
/// </summary>
public static class OnnxRuntimeLoader
{
    private static readonly object Gate = new();
    private static bool _registered;
    private static PotException? _failure;

    /// <summary>Full path of the native library that was loaded, or null before the first successful load.</summary>
    public static string? LoadedFrom { get; private set; }

    /// <summary>The platform name used for the runtimes folder, e.g. linux-x64.</summary>
    public static string PlatformId
    {
        get
        {
            // Not RuntimeInformation.RuntimeIdentifier: distro-built .NET reports e.g. ubuntu.24.04-x64.
            string os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
            string arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
            return os + "-" + arch;
        }
    }

    private static string LibraryFileName =>
        OperatingSystem.IsWindows() ? "onnxruntime.dll" : OperatingSystem.IsMacOS() ? "libonnxruntime.dylib" : "libonnxruntime.so";

    /// <summary>Where the native library is expected for this process.</summary>
    public static string ExpectedPath
    {
        get
        {
            string dir = Path.GetDirectoryName(typeof(InferenceSession).Assembly.Location) ?? AppContext.BaseDirectory;
            return Path.Combine(dir, "runtimes", PlatformId, "native", LibraryFileName);
        }
    }

    /// <summary>Registers the resolver and checks that the native library exists; throws OnnxRuntimeLoadFailed otherwise.</summary>
    public static void Ensure()
    {
        lock (Gate)
        {
            if (_failure != null) throw _failure;
            if (_registered) return;
            string path = ExpectedPath;
            // A build (rather than a publish) of an app puts the library next to the assembly; accept that layout too.
            string flat = Path.Combine(Path.GetDirectoryName(path)!, "..", "..", "..", LibraryFileName);
            string? found = File.Exists(path) ? path : File.Exists(flat) ? Path.GetFullPath(flat) : null;
            if (found == null)
            {
                _failure = new PotException("OnnxRuntimeLoadFailed", PotErrorCategory.NotInstalled,
                    $"The native ONNX Runtime library for platform '{PlatformId}' was not found at '{path}'. " +
                    "This platform may not be supported by the module (it ships linux-x64, linux-arm64, win-x64 and osx-arm64), " +
                    "or the module folder is incomplete: reinstall the module.", path);
                throw _failure;
            }
            DisableTelemetry();
            OrtEnv.DisableDllImportResolver = true;
            NativeLibrary.SetDllImportResolver(typeof(InferenceSession).Assembly, (name, _, _) => Resolve(name, found));
            _registered = true;
        }
    }

    private static IntPtr Resolve(string name, string path)
    {
        if (name != "onnxruntime") return IntPtr.Zero;
        try
        {
            IntPtr handle = NativeLibrary.Load(path);
            LoadedFrom = path;
            return handle;
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            throw new PotException("OnnxRuntimeLoadFailed", PotErrorCategory.NotInstalled,
                $"The native ONNX Runtime library at '{path}' could not be loaded on platform '{PlatformId}': {e.Message}", path, e);
        }
    }

    /// <summary>The ONNX Runtime version string (loads the library).</summary>
    public static string Version
    {
        get { Ensure(); return OrtEnv.Instance().GetVersionString(); }
    }

    // ORT's telemetry on Linux/macOS writes files under ~/.cache unless ORT_DISABLE_TELEMETRY is set in the C environment
    // before the library starts; Environment.SetEnvironmentVariable does not reach the C runtime's getenv there.
    private static void DisableTelemetry()
    {
        if (OperatingSystem.IsWindows())
        {
            Environment.SetEnvironmentVariable("ORT_DISABLE_TELEMETRY", "1");
            return;
        }
        try { _ = setenv("ORT_DISABLE_TELEMETRY", "1", 0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    [DllImport("libc", CharSet = CharSet.Ansi)]
    private static extern int setenv(string name, string value, int overwrite);
}
