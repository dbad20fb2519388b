using System.Runtime.InteropServices;

namespace PotPowerShell.Core;

/// <summary>
/// The one place outputs (models, reports, configs) are written: into a temporary file next to the target, then moved
/// into place. Without overwrite the move has create-new semantics, so of two processes writing the same new file one
/// gets OutputExists however close their checks were; with overwrite only a regular file is ever replaced (never a
/// folder, device, FIFO, socket or symbolic link).
/// </summary>
public static class OutputFiles
{
    /// <summary>
    /// Checks a target before any work starts: not a folder (nor a path ending in a separator, which names one), not an
    /// existing entry other than a regular file, and not an existing file unless <paramref name="overwrite"/>.
    /// </summary>
    /// <param name="parameter">The parameter that names the file, for the message.</param>
    public static void CheckTarget(string path, bool overwrite, string parameter = "OutputPath")
    {
        RefuseFolder(path, parameter);
        string full = Path.GetFullPath(path);
        var kind = KindOf(full);
        if (kind == EntryKind.None) return;
        if (kind != EntryKind.RegularFile) throw NotRegular(full, kind, parameter);
        if (!overwrite) throw Exists(full, parameter);
    }

    /// <summary>Refuses a path that names a folder: an existing folder, or any path ending in a directory separator.</summary>
    public static void RefuseFolder(string path, string parameter = "OutputPath")
    {
        bool separator = path.Length > 0 && (path[^1] == Path.DirectorySeparatorChar || path[^1] == Path.AltDirectorySeparatorChar);
        if (separator || Directory.Exists(path))
            throw new PotException("OutputIsFolder", PotErrorCategory.InvalidArgument,
                separator
                    ? $"'{path}' ends with a directory separator, so it names a folder. Give -{parameter} the path of a file (e.g. '{path.TrimEnd('/', '\\')}{Path.DirectorySeparatorChar}model.onnx')."
                    : $"'{path}' is a folder. Give -{parameter} the path of a file (in that folder or elsewhere).", path);
    }

    /// <summary>
    /// Writes <paramref name="path"/> by calling <paramref name="write"/> on a temporary file in its folder and moving that
    /// into place (see the class summary). The temporary file never survives, whatever fails. IO failures become
    /// <paramref name="failure"/>'s error.
    /// </summary>
    public static void Write(string path, bool overwrite, Action<string> write, Func<string, Exception, PotException> failure)
    {
        RefuseFolder(path);
        string full = Path.GetFullPath(path);
        string tmp = TemporaryName(full);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            write(tmp);
            MoveIntoPlace(tmp, full, overwrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw failure(full, e);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>A hidden, unique name in the target's folder, so the final move is a rename on one file system.</summary>
    public static string TemporaryName(string full) =>
        Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");

    /// <summary>Moves a finished temporary file to <paramref name="full"/>: create-new without overwrite, else replacing only a regular file.</summary>
    public static void MoveIntoPlace(string tmp, string full, bool overwrite)
    {
        if (!overwrite)
        {
            try
            {
                // Without overwrite .NET links the new name (failing when it exists) instead of renaming over it.
                File.Move(tmp, full, overwrite: false);
            }
            catch (IOException) when (KindOf(full) != EntryKind.None)
            {
                throw Exists(full, "OutputPath");
            }
            return;
        }
        var kind = KindOf(full);
        if (kind is not (EntryKind.None or EntryKind.RegularFile)) throw NotRegular(full, kind, "OutputPath");
        File.Move(tmp, full, overwrite: true);
    }

    private static PotException Exists(string full, string parameter) => new("OutputExists", PotErrorCategory.ResourceExists,
        $"The file '{full}' already exists. Use -Force to overwrite it, or choose another -{parameter}.", full);

    private static PotException NotRegular(string full, EntryKind kind, string parameter) => new("OutputNotRegularFile", PotErrorCategory.InvalidArgument,
        $"'{full}' is a {Describe(kind)}, not a regular file; even with -Force only regular files are replaced. Choose another -{parameter}.", full);

    private enum EntryKind { None, RegularFile, Directory, SymbolicLink, Device, Fifo, Socket, Other }

    private static string Describe(EntryKind kind) => kind switch
    {
        EntryKind.Directory => "folder",
        EntryKind.SymbolicLink => "symbolic link",
        EntryKind.Device => "device",
        EntryKind.Fifo => "named pipe (FIFO)",
        EntryKind.Socket => "socket",
        _ => "special file",
    };

    /// <summary>What is at <paramref name="full"/>, without following a final symbolic link.</summary>
    private static EntryKind KindOf(string full)
    {
        if (OperatingSystem.IsWindows())
        {
            if (!File.Exists(full) && !Directory.Exists(full)) return EntryKind.None;
            var attributes = File.GetAttributes(full);
            if ((attributes & FileAttributes.Directory) != 0) return EntryKind.Directory;
            if ((attributes & FileAttributes.ReparsePoint) != 0) return EntryKind.SymbolicLink;
            if ((attributes & FileAttributes.Device) != 0) return EntryKind.Device;
            return EntryKind.RegularFile;
        }
        // lstat through the .NET runtime's own native shim (shipped with every .NET on Unix): its FileStatus starts
        // with two ints, Flags and Mode, and Mode carries the POSIX file type bits.
        var status = new byte[256];
        if (LStat(full, status) != 0)
            return Marshal.GetLastPInvokeError() == 2 /* ENOENT */ || !Path.Exists(full) ? EntryKind.None : EntryKind.Other;
        return (BitConverter.ToInt32(status, 4) & 0xF000) switch
        {
            0x8000 => EntryKind.RegularFile,
            0x4000 => EntryKind.Directory,
            0xA000 => EntryKind.SymbolicLink,
            0x2000 or 0x6000 => EntryKind.Device,
            0x1000 => EntryKind.Fifo,
            0xC000 => EntryKind.Socket,
            _ => EntryKind.Other,
        };
    }

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_LStat", SetLastError = true, CharSet = CharSet.Ansi)]
    private static extern int LStat(string path, byte[] status);
}
