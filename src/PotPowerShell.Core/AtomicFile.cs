using System.Text;

namespace PotPowerShell.Core;

/// <summary>Text outputs written through a temporary file in the same folder, so an interrupted write leaves no partial file.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="text"/> (UTF-8, no BOM) to <paramref name="fullPath"/> through a temporary file, then moves
    /// it into place. An I/O or access error becomes the exception <paramref name="failure"/> makes of it.
    /// </summary>
    public static void WriteAllText(string fullPath, string text, Func<Exception, PotException> failure)
    {
        string tmp = Path.Combine(Path.GetDirectoryName(fullPath)!, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllText(tmp, text, new UTF8Encoding(false));
            File.Move(tmp, fullPath, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw failure(e);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
