using System.Diagnostics;
using System.Globalization;

namespace PotPowerShell.Core.Data;

/// <summary>
/// The folder for this process's temporary files: &lt;temp&gt;/potpowershell-&lt;user&gt;/&lt;process id&gt;. The first
/// time a process asks for it, the folders of processes that no longer run are deleted, so a process killed while it
/// unpacked an archive leaves nothing behind after the next start.
/// </summary>
internal static class ProcessTempFolder
{
    private static readonly Lazy<string> Folder = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string Root => System.IO.Path.Combine(System.IO.Path.GetTempPath(), "potpowershell-" + Environment.UserName);

    /// <summary>This process's folder (created, and stale folders deleted, on first use).</summary>
    /// <exception cref="IOException">The folder cannot be created.</exception>
    public static string Path => Folder.Value;

    private static string Create()
    {
        DeleteStale(Root);
        string mine = System.IO.Path.Combine(Root, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(mine);
        return mine;
    }

    /// <summary>Deletes the folders in <paramref name="root"/> named after a process id that is not running.</summary>
    internal static void DeleteStale(string root)
    {
        if (!Directory.Exists(root)) return;
        foreach (string folder in Directory.EnumerateDirectories(root))
        {
            if (!int.TryParse(System.IO.Path.GetFileName(folder), NumberStyles.None, CultureInfo.InvariantCulture, out int id) || IsRunning(id)) continue;
            try { Directory.Delete(folder, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    private static bool IsRunning(int id)
    {
        try
        {
            using var process = Process.GetProcessById(id);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
