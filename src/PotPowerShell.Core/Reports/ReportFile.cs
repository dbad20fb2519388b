using System.Text;

namespace PotPowerShell.Core.Reports;

/// <summary>Writes report files (JSON, HTML, Markdown) the way every output of this module is written.</summary>
public static class ReportFile
{
    /// <summary>
    /// Writes UTF-8 text (no byte-order mark) to a temporary file in the target folder and moves it into place, so an
    /// interrupted write leaves no partial report. OutputWriteFailed when the folder cannot be written.
    /// </summary>
    public static void Write(string text, string path)
    {
        string full = Path.GetFullPath(path);
        string tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllText(tmp, text, new UTF8Encoding(false));
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PotException("OutputWriteFailed", PotErrorCategory.WriteError,
                $"Could not write the report '{full}': {e.Message} Check that the folder can be written to and has free space, or choose another output path.", full, e);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
