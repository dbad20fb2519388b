using System.Text;

namespace PotPowerShell.Core.Data;

/// <summary>UTF-8 text files read line by line (labels, dictionaries, class lists).</summary>
public static class TextFiles
{
    /// <summary>
    /// The lines of a UTF-8 file (a BOM is skipped), without line ends. Spaces are kept: a line holding one space is
    /// the symbol ' '. A final line end does not add an empty line.
    /// </summary>
    public static List<string> ReadLines(string path) => ReadLines(path, MaxBytes);

    /// <summary>The largest text file read: 256 MiB, far above a million labels or image paths, far below what exhausts memory.</summary>
    public const long MaxBytes = 256L << 20;

    internal static List<string> ReadLines(string path, long maxBytes)
    {
        string text;
        try
        {
            if (new FileInfo(path) is { Exists: true } info && info.Length > maxBytes)
                throw new PotException("TextFileTooLarge", PotErrorCategory.InvalidData,
                    $"'{path}' holds {info.Length} bytes, more than a labels, class or image-list file may ({maxBytes}). Check that it is the file meant.", path);
            text = File.ReadAllText(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true));
        }
        catch (DecoderFallbackException e)
        {
            throw new PotException("TextFileNotUtf8", PotErrorCategory.InvalidData, $"'{path}' is not valid UTF-8 text: save it as UTF-8.", path, e);
        }
        catch (FileNotFoundException e)
        {
            throw new PotException("DataFileNotFound", PotErrorCategory.ObjectNotFound, $"The file '{path}' does not exist.", path, e);
        }
        var lines = text.Split('\n').Select(l => l.EndsWith('\r') ? l[..^1] : l).ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return lines;
    }
}
