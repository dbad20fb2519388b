using System.Text.RegularExpressions;
using PotPowerShell.Core.Comparison;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Quantization.AccuracyAware;
using ScottPlot;

namespace PotPowerShell.Reporting;

/// <summary>One plot of a report: a title, a caption and its SVG drawn by ScottPlot.</summary>
public sealed record ReportPlot(string Title, string Caption, string Svg);

/// <summary>Draws the plots of a report with ScottPlot as SVG.</summary>
public static partial class ReportPlots
{
    private static readonly Color Fp32Color = Color.FromHex("#7f7f7f");
    private static readonly Color Int8Color = Color.FromHex("#1f77b4");
    private static readonly Color KeptColor = Color.FromHex("#2ca02c");
    private static readonly Color RolledBackColor = Color.FromHex("#d62728");
    private const int Width = 820;

    public static IReadOnlyList<ReportPlot> For(ReportContent c)
    {
        var plots = new List<ReportPlot>();
        if (c.Comparisons.Count > 0)
        {
            var withMetric = c.Comparisons.Where(r => r.Metrics.Count > 0).ToList();
            if (withMetric.Count > 0)
                plots.Add(Pairs("Accuracy: FP32 vs INT8", $"{withMetric[0].Metrics[0].Name} of the FP32 reference and of each candidate on the same items.",
                    withMetric.Select(r => (Name(r.ModelPath), r.Metrics[0].ReferenceValue, r.Metrics[0].Value)).ToList(), withMetric[0].Metrics[0].Name));
            var timed = c.Comparisons.Where(r => r.Latency != null).ToList();
            if (timed.Count > 0)
                plots.Add(Pairs("Latency: FP32 vs INT8", "Median latency of one inference, both models timed interleaved in the same run.",
                    timed.Select(r => (Name(r.ModelPath), r.Latency!.A.MedianMs, r.Latency.B.MedianMs)).ToList(), "ms per inference (p50)"));
        }
        foreach (var q in c.Quantizations) plots.Add(ActivationRanges(q));
        foreach (var a in c.AccuracyAware.Where(a => a.Iterations.Count > 0)) plots.Add(Iterations(a));
        foreach (var ranking in c.Rankings()) plots.Add(Sensitivity(ranking));
        if (c.Evaluations.Count > 0 && c.Evaluations.Any(e => e.Metrics.Count > 0))
            plots.Add(Values("Evaluation", "The first metric of each evaluated model.",
                c.Evaluations.Where(e => e.Metrics.Count > 0).Select(e => (Name(e.ModelPath), e.Metrics[0].Value)).ToList(), c.Evaluations.First(e => e.Metrics.Count > 0).Metrics[0].Name));
        // Ids of inline SVGs share the page's id space: each plot gets its own prefix.
        return plots.Select((p, i) => p with { Svg = ScopeIds(p.Svg, $"plot{i + 1}-") }).ToList();
    }

    private static string Name(string? path) => Path.GetFileName(path ?? "");

    /// <summary>Grouped bars: FP32 and INT8 side by side for each candidate.</summary>
    private static ReportPlot Pairs(string title, string caption, IReadOnlyList<(string Name, double Fp32, double Int8)> rows, string yLabel)
    {
        var plot = new Plot();
        var bars = new List<Bar>();
        var ticks = new List<Tick>();
        for (int i = 0; i < rows.Count; i++)
        {
            bars.Add(new Bar { Position = 3 * i, Value = Finite(rows[i].Fp32), FillColor = Fp32Color, Label = ReportTables.Num(rows[i].Fp32) });
            bars.Add(new Bar { Position = 3 * i + 1, Value = Finite(rows[i].Int8), FillColor = Int8Color, Label = ReportTables.Num(rows[i].Int8) });
            ticks.Add(new Tick(3 * i + 0.5, rows[i].Name));
        }
        var barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 12;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        plot.Axes.Margins(bottom: 0);
        Legend(plot, ("FP32", Fp32Color), ("INT8", Int8Color));
        plot.Title(title);
        plot.YLabel(yLabel);
        return new ReportPlot(title, caption, plot.GetSvgXml(Width, 380));
    }

    /// <summary>Bars of one value per model.</summary>
    private static ReportPlot Values(string title, string caption, IReadOnlyList<(string Name, double Value)> rows, string yLabel)
    {
        var plot = new Plot();
        var bars = rows.Select((r, i) => new Bar { Position = i, Value = Finite(r.Value), FillColor = Int8Color, Label = ReportTables.Num(r.Value) }).ToList();
        plot.Add.Bars(bars);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(rows.Select((r, i) => new Tick(i, r.Name)).ToArray());
        plot.Axes.Margins(bottom: 0);
        plot.Title(title);
        plot.YLabel(yLabel);
        return new ReportPlot(title, caption, plot.GetSvgXml(Width, 360));
    }

    /// <summary>Each weighted layer's calibrated input range as a horizontal bar, coloured by precision.</summary>
    private static ReportPlot ActivationRanges(QuantizationResult q)
    {
        var plot = new Plot();
        var layers = q.Layers;
        var bars = new List<Bar>();
        for (int i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            bool int8 = l.Precision == "INT8";
            double position = layers.Count - 1 - i; // first layer on top
            // A layer without a calibrated range (kept float before calibration) gets an empty bar at 0.
            bars.Add(new Bar
            {
                Position = position,
                ValueBase = l.InputMin ?? 0,
                Value = l.InputMax ?? 0,
                FillColor = int8 ? Int8Color : Fp32Color,
                Orientation = Orientation.Horizontal,
            });
        }
        plot.Add.Bars(bars);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            layers.Select((l, i) => new Tick(layers.Count - 1 - i, $"{l.Node} ({l.Precision})")).ToArray());
        Legend(plot, ("INT8", Int8Color), ("Float", Fp32Color));
        string title = $"Activation ranges: {Name(q.OutputPath)}";
        plot.Title(title);
        plot.XLabel("calibrated input range of the layer");
        return new ReportPlot(title, "The calibrated range [min, max] of each weighted layer's input activation, coloured by the precision the layer runs in.",
            plot.GetSvgXml(Width, Height(layers.Count)));
    }

    /// <summary>The drop after each AAQ iteration, kept steps green and rolled-back ones red, with the allowed drop.</summary>
    private static ReportPlot Iterations(AccuracyAwareResult a)
    {
        var plot = new Plot();
        var its = a.Iterations;
        double[] xs = its.Select(i => (double)i.Index).Prepend(0).ToArray();
        double[] ys = its.Select(i => Finite(i.DropAfter)).Prepend(Finite(its[0].DropBefore)).ToArray();
        var line = plot.Add.ScatterLine(xs, ys, Fp32Color);
        line.LineWidth = 1.5f;
        var kept = its.Where(i => i.Accepted).ToList();
        var rolled = its.Where(i => !i.Accepted).ToList();
        if (kept.Count > 0) plot.Add.Markers(kept.Select(i => (double)i.Index).ToArray(), kept.Select(i => Finite(i.DropAfter)).ToArray(), MarkerShape.FilledCircle, 10, KeptColor);
        if (rolled.Count > 0) plot.Add.Markers(rolled.Select(i => (double)i.Index).ToArray(), rolled.Select(i => Finite(i.DropAfter)).ToArray(), MarkerShape.FilledSquare, 10, RolledBackColor);
        plot.Add.Markers(new[] { 0.0 }, new[] { ys[0] }, MarkerShape.OpenCircle, 10, Int8Color);
        var metric = a.Metrics.FirstOrDefault(m => m.Name == its[0].Metric) ?? a.Metrics.FirstOrDefault();
        if (metric != null && double.IsFinite(metric.MaxDrop))
        {
            var limit = plot.Add.HorizontalLine(metric.MaxDrop, 1.5f, RolledBackColor, LinePattern.Dashed);
            limit.LegendText = "maximal drop";
        }
        Legend(plot, ("fully quantized", Int8Color), ("kept", KeptColor), ("rolled back / kept float", RolledBackColor));
        string title = $"Accuracy-aware iterations: {Name(a.OutputPath ?? a.ModelPath)}";
        plot.Title(title);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
        plot.XLabel("iteration");
        plot.YLabel($"drop of {its[0].Metric}");
        return new ReportPlot(title, "The drop of the driving metric after each iteration (0 = the fully quantized model); the dashed line is the maximal drop.",
            plot.GetSvgXml(Width, 380));
    }

    /// <summary>The score of each ranked layer as a horizontal bar, rank 1 on top.</summary>
    private static ReportPlot Sensitivity(IReadOnlyList<LayerRank> ranking)
    {
        var plot = new Plot();
        var bars = ranking.Select((r, i) => new Bar
        {
            Position = ranking.Count - 1 - i,
            Value = Finite(r.Score),
            FillColor = Int8Color,
            Orientation = Orientation.Horizontal,
        }).ToList();
        plot.Add.Bars(bars);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            ranking.Select((r, i) => new Tick(ranking.Count - 1 - i, $"{r.Rank}. {r.Layer}")).ToArray());
        plot.Axes.Margins(left: 0);
        const string title = "Layer sensitivity";
        plot.Title(title);
        plot.XLabel($"score ({ranking[0].Method}): what reverting the layer to float recovers");
        return new ReportPlot(title, "Each quantized layer's ranking score, best revert first.", plot.GetSvgXml(Width, Height(ranking.Count)));
    }

    private static int Height(int rows) => Math.Clamp(120 + 28 * rows, 240, 2400);

    private static double Finite(double value) => double.IsFinite(value) ? value : 0;

    private static void Legend(Plot plot, params (string Text, Color Color)[] items)
    {
        foreach (var (text, color) in items) plot.Legend.ManualItems.Add(new LegendItem { LabelText = text, FillColor = color });
        // Beside the data area, never over a bar or a point.
        plot.ShowLegend(Edge.Right);
    }

    /// <summary>Prefixes every id of an SVG and the references to them, and drops the XML declaration, for inline use.</summary>
    internal static string ScopeIds(string svg, string prefix)
    {
        svg = XmlDeclaration().Replace(svg, "");
        svg = IdAttribute().Replace(svg, m => $"id=\"{prefix}{m.Groups[1].Value}\"");
        svg = UrlReference().Replace(svg, m => $"url(#{prefix}{m.Groups[1].Value})");
        return HrefReference().Replace(svg, m => $"{m.Groups[1].Value}=\"#{prefix}{m.Groups[2].Value}\"");
    }

    [GeneratedRegex(@"^\s*<\?xml[^>]*\?>\s*")]
    private static partial Regex XmlDeclaration();
    [GeneratedRegex("\\bid=\"([^\"]+)\"")]
    private static partial Regex IdAttribute();
    [GeneratedRegex(@"url\(#([^)]+)\)")]
    private static partial Regex UrlReference();
    [GeneratedRegex("(href|xlink:href)=\"#([^\"]+)\"")]
    private static partial Regex HrefReference();
}
