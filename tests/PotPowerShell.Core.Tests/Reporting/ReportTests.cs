using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Runtime;
using PotPowerShell.Reporting;

namespace PotPowerShell.Core.Tests.Reporting;

/// <summary>The pieces of Export-PotReport that do not need a quantization: tables, escaping, SVG ids, rankings.</summary>
public class ReportTests
{
    private static ComparisonResult Comparison(string path) => new()
    {
        ReferencePath = "/m/model.onnx",
        ModelPath = path,
        EngineSource = "/m/validation",
        ItemCount = 4,
        Metrics = new[]
        {
            new MetricComparison("accuracy@top1", "accuracy", MetricDirection.HigherBetter, 1.0, 0.75, 0.25, 0.25, 0, 0.5),
            new MetricComparison("macro_f1", "f1", MetricDirection.HigherBetter, 1.0, 0.5, 0.5, 0.5, double.NaN, double.NaN),
        },
        TopOneAgreement = 0.75,
        Latency = new LatencyComparison(Timing.Of(new[] { 2.0, 2.0 }), Timing.Of(new[] { 1.0, 1.0 })),
        ReferenceFileSize = 4096,
        FileSize = 1024,
        ReferenceLayers = new LayerPrecisionCount(0, 3),
        Layers = new LayerPrecisionCount(2, 1),
        BootstrapSamples = 100,
        Seed = 0,
    };

    [Fact]
    public void Comparison_table_has_one_row_per_metric_with_the_numbers()
    {
        var content = new ReportContent();
        content.Comparisons.Add(Comparison("/m/model.int8.onnx"));
        var table = Assert.Single(ReportTables.For(content));
        Assert.Equal(2, table.Rows.Count);
        var row = table.Rows[0];
        string Cell(string header) => row[table.Headers.ToList().IndexOf(header)];
        Assert.Equal("model.int8.onnx", Cell("Model"));
        Assert.Equal("0.25", Cell("Drop"));
        Assert.Equal("[0, 0.5]", Cell("Drop 95 % interval"));
        Assert.Equal("2.00x", Cell("Speed-up"));
        Assert.Equal("4.00x", Cell("Size ratio"));
        Assert.Equal("2 / 1", Cell("INT8 / float layers"));
        // F1 has no bootstrap interval: the cell stays empty rather than showing NaN bounds.
        Assert.Equal("", table.Rows[1][table.Headers.ToList().IndexOf("Drop 95 % interval")]);
    }

    [Fact]
    public void Markdown_escapes_pipes_and_keeps_one_line_per_row()
    {
        var content = new ReportContent();
        content.Comparisons.Add(Comparison("/m/a|b\nc.onnx"));
        string md = MarkdownReport.Build(content, "T");
        Assert.StartsWith("# T\n\n## FP32 vs INT8\n\n| Model | Metric |", md);
        Assert.Contains("| a\\|b c.onnx | accuracy@top1 |", md);
        // Header, separator and one row per metric.
        Assert.Equal(4, md.Split('\n').Count(l => l.StartsWith('|')));
    }

    [Fact]
    public void Html_page_encodes_names_and_holds_two_plots_with_page_unique_ids()
    {
        var content = new ReportContent();
        content.Comparisons.Add(Comparison("/m/<b>.onnx"));
        string html = HtmlReport.Build(content, "Report & more");
        Assert.Contains("<title>Report &amp; more</title>", html);
        Assert.Contains("<td>&lt;b&gt;.onnx</td>", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("<?xml", html);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(html, "<figure class=\"plot\"").Count);
        var ids = System.Text.RegularExpressions.Regex.Matches(html, "\\bid=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void Svg_ids_and_references_get_the_prefix()
    {
        const string svg = "<?xml version=\"1.0\"?>\n<svg><clipPath id=\"c1\"/><g clip-path=\"url(#c1)\"><use href=\"#c1\" xlink:href=\"#c1\"/></g></svg>";
        Assert.Equal("<svg><clipPath id=\"p-c1\"/><g clip-path=\"url(#p-c1)\"><use href=\"#p-c1\" xlink:href=\"#p-c1\"/></g></svg>", ReportPlots.ScopeIds(svg, "p-"));
    }

    [Fact]
    public void Ranks_split_into_rankings_at_every_rank_1()
    {
        var content = new ReportContent();
        var deltas = new MetricValues();
        foreach (int rank in new[] { 1, 2, 3, 1, 2 }) content.Ranks.Add(new LayerRank(rank, $"l{rank}", "Conv", 1.0 / rank, RankingMethod.Metric, deltas, double.NaN));
        Assert.Equal(new[] { 3, 2 }, content.Rankings().Select(r => r.Count));
    }
}
