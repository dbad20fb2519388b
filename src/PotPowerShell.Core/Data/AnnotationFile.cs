using System.Text;

namespace PotPowerShell.Core.Data;

/// <summary>One image named by an annotation file, with its label (null when the file gives none).</summary>
public sealed record ImageAnnotation(string File, string? Label, int Line);

/// <summary>What separates the file name from the label on a 'file label' line: the first space or tab, or the first comma (Accuracy Checker's unicode_character_recognition).</summary>
public enum AnnotationSeparator { Space, Comma }

/// <summary>
/// Reads the annotation file of an image folder: either 'file label' lines (the first separator - whitespace, or a
/// comma - separates the file name from the label, which may contain spaces and further separators; both are trimmed;
/// blank lines and lines starting with # are skipped) or a CSV file with a header row (RFC 4180 quoting).
/// </summary>
public static class AnnotationFile
{
    public static readonly string[] FileColumns = { "file", "filename", "image", "path", "image_path", "name" };
    public static readonly string[] LabelColumns = { "label", "class", "text", "target", "annotation" };

    public static List<ImageAnnotation> Read(string path, string? fileColumn = null, string? labelColumn = null, AnnotationSeparator separator = AnnotationSeparator.Space) =>
        path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? ReadCsv(path, fileColumn, labelColumn) : ReadFileLabelLines(path, separator);

    public static List<ImageAnnotation> ReadFileLabelLines(string path, AnnotationSeparator separator = AnnotationSeparator.Space)
    {
        char[] separators = separator == AnnotationSeparator.Comma ? new[] { ',' } : new[] { ' ', '\t' };
        var result = new List<ImageAnnotation>();
        var lines = TextFiles.ReadLines(path);
        for (int i = 0; i < lines.Count; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            int gap = line.IndexOfAny(separators);
            if (gap < 0)
            {
                result.Add(new ImageAnnotation(line, null, i + 1));
                continue;
            }
            result.Add(new ImageAnnotation(line[..gap].Trim(), line[(gap + 1)..].Trim(), i + 1));
        }
        return result;
    }

    public static List<ImageAnnotation> ReadCsv(string path, string? fileColumn, string? labelColumn)
    {
        var rows = ParseCsv(string.Join("\n", TextFiles.ReadLines(path)), path);
        if (rows.Count == 0)
            throw new PotException("AnnotationInvalid", PotErrorCategory.InvalidData, $"The CSV annotation file '{path}' is empty: it needs a header row such as 'file,label'.", path);
        var header = rows[0].Fields.Select(h => h.Trim()).ToList();
        int fileIndex = Column(header, fileColumn, FileColumns, path, "file_column");
        int labelIndex = labelColumn == null && !header.Any(h => LabelColumns.Contains(h, StringComparer.OrdinalIgnoreCase))
            ? -1
            : Column(header, labelColumn, LabelColumns, path, "label_column");
        var result = new List<ImageAnnotation>();
        foreach (var (fields, line) in rows.Skip(1))
        {
            if (fields.Count == 1 && fields[0].Length == 0) continue;
            if (fields.Count != header.Count)
                throw new PotException("AnnotationInvalid", PotErrorCategory.InvalidData,
                    $"'{path}' line {line} has {fields.Count} fields but the header has {header.Count}. Quote fields that contain commas.", path);
            result.Add(new ImageAnnotation(fields[fileIndex].Trim(), labelIndex < 0 ? null : fields[labelIndex], line));
        }
        return result;
    }

    private static int Column(List<string> header, string? wanted, string[] defaults, string path, string key)
    {
        if (wanted != null)
        {
            int i = header.FindIndex(h => h.Equals(wanted, StringComparison.OrdinalIgnoreCase));
            if (i >= 0) return i;
            throw new PotException("AnnotationInvalid", PotErrorCategory.InvalidData,
                $"The CSV annotation file '{path}' has no column '{wanted}' ({key}). Its columns: {string.Join(", ", header)}.", path);
        }
        foreach (var name in defaults)
        {
            int i = header.FindIndex(h => h.Equals(name, StringComparison.OrdinalIgnoreCase));
            if (i >= 0) return i;
        }
        throw new PotException("AnnotationInvalid", PotErrorCategory.InvalidData,
            $"The CSV annotation file '{path}' has none of the columns {string.Join(", ", defaults)}. Its columns: {string.Join(", ", header)}; name the right one with {key}:.", path);
    }

    /// <summary>RFC 4180 fields per record, with the line number where each record starts.</summary>
    internal static List<(List<string> Fields, int Line)> ParseCsv(string text, string source)
    {
        var rows = new List<(List<string>, int)>();
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        int line = 1, recordLine = 1;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else
                {
                    if (c == '\n') line++;
                    field.Append(c);
                }
                continue;
            }
            switch (c)
            {
                case '"' when field.Length == 0: quoted = true; break;
                case ',': fields.Add(field.ToString()); field.Clear(); break;
                case '\n':
                    fields.Add(field.ToString());
                    field.Clear();
                    rows.Add((fields, recordLine));
                    fields = new List<string>();
                    line++;
                    recordLine = line;
                    break;
                default: field.Append(c); break;
            }
        }
        if (quoted)
            throw new PotException("AnnotationInvalid", PotErrorCategory.InvalidData, $"'{source}' has a quoted field that is never closed (from line {recordLine}).", source);
        if (field.Length > 0 || fields.Count > 0)
        {
            fields.Add(field.ToString());
            rows.Add((fields, recordLine));
        }
        return rows;
    }
}
