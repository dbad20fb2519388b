using System.Text;

namespace PotPowerShell.Reporting;

/// <summary>The summary tables of a report as GitHub-flavoured Markdown, e.g. for a CI step summary.</summary>
public static class MarkdownReport
{
    public static string Build(ReportContent content, string title)
    {
        var md = new StringBuilder();
        md.Append("# ").Append(title).Append("\n");
        foreach (var table in ReportTables.For(content))
        {
            md.Append("\n## ").Append(table.Title).Append("\n\n");
            md.Append("| ").Append(string.Join(" | ", table.Headers.Select(Cell))).Append(" |\n");
            md.Append('|').Append(string.Concat(table.Headers.Select(_ => " --- |"))).Append('\n');
            foreach (var row in table.Rows) md.Append("| ").Append(string.Join(" | ", row.Select(Cell))).Append(" |\n");
        }
        return md.ToString();
    }

    // A pipe would end the cell; a line break would end the row.
    private static string Cell(string text) => text.Replace("\\", "\\\\").Replace("|", "\\|").Replace("\r", " ").Replace("\n", " ");
}
