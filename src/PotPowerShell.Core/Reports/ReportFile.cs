using System.Text;

namespace PotPowerShell.Core.Reports;

/// <summary>Writes report files (JSON, HTML, Markdown) through <see cref="OutputFiles"/>, like every output of this module.</summary>
public static class ReportFile
{
    /// <summary>Writes UTF-8 text (no byte-order mark); without <paramref name="overwrite"/> an existing file is OutputExists.</summary>
    public static void Write(string text, string path, bool overwrite) =>
        OutputFiles.Write(path, overwrite, tmp => File.WriteAllText(tmp, text, new UTF8Encoding(false)),
            (full, e) => new PotException("OutputWriteFailed", PotErrorCategory.WriteError,
                $"Could not write the report '{full}': {e.Message} Check that the folder can be written to and has free space, or choose another output path.", full, e));
}
