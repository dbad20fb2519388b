using System.Net;
using System.Text;

namespace PotPowerShell.Reporting;

/// <summary>
/// One self-contained HTML page: the summary tables and the plots as inline SVG, with its style in the page and no
/// script, external style sheet, font or image.
/// </summary>
public static class HtmlReport
{
    private const string Style = """
        body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
        h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; }
        div.table { overflow-x: auto; }
        table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
        th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
        th { background: #f2f2f2; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        figure.plot { margin: 1em 0; }
        figure.plot svg { display: block; max-width: 100%; height: auto; }
        figcaption { font-size: 0.85em; color: #555; }
        """;

    public static string Build(ReportContent content, string title)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.Append("<title>").Append(Encode(title)).Append("</title>\n<style>\n").Append(Style).Append("\n</style>\n</head>\n<body>\n");
        html.Append("<h1>").Append(Encode(title)).Append("</h1>\n");
        foreach (var table in ReportTables.For(content))
        {
            html.Append("<h2>").Append(Encode(table.Title)).Append("</h2>\n<div class=\"table\"><table>\n<thead><tr>");
            foreach (var h in table.Headers) html.Append("<th>").Append(Encode(h)).Append("</th>");
            html.Append("</tr></thead>\n<tbody>\n");
            foreach (var row in table.Rows)
            {
                html.Append("<tr>");
                foreach (var cell in row) html.Append(IsNumber(cell) ? "<td class=\"num\">" : "<td>").Append(Encode(cell)).Append("</td>");
                html.Append("</tr>\n");
            }
            html.Append("</tbody>\n</table></div>\n");
        }
        var plots = ReportPlots.For(content);
        if (plots.Count > 0) html.Append("<h2>Plots</h2>\n");
        foreach (var (plot, i) in plots.Select((p, i) => (p, i)))
            html.Append($"<figure class=\"plot\" id=\"plot{i + 1}\">\n").Append(plot.Svg.Trim()).Append("\n<figcaption>")
                .Append(Encode(plot.Caption)).Append("</figcaption>\n</figure>\n");
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    private static bool IsNumber(string cell) => cell.Length > 0 && (char.IsDigit(cell[0]) || (cell[0] == '-' && cell.Length > 1 && char.IsDigit(cell[1])));
}
