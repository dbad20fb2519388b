using System.Globalization;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Reporting;

/// <summary>One summary table: the same rows go to the HTML page and to the Markdown summary.</summary>
public sealed record ReportTable(string Title, IReadOnlyList<string> Headers, IReadOnlyList<IReadOnlyList<string>> Rows);

/// <summary>Builds the summary tables of a report, one per kind of result present.</summary>
public static class ReportTables
{
    public static IReadOnlyList<ReportTable> For(ReportContent c)
    {
        var tables = new List<ReportTable>();
        if (c.Comparisons.Count > 0)
            tables.Add(new ReportTable("FP32 vs INT8",
                new[] { "Model", "Metric", "FP32", "INT8", "Drop", "Drop 95 % interval", "Top-1 agreement", "Latency p50 FP32 (ms)", "Latency p50 INT8 (ms)", "Speed-up", "Size FP32", "Size INT8", "Size ratio", "INT8 / float layers" },
                c.Comparisons.SelectMany(r => r.Metrics.Count == 0 ? new[] { (r, (MetricComparison?)null) } : r.Metrics.Select(m => (r, (MetricComparison?)m)))
                    .Select(p => Row(
                        Path.GetFileName(p.r.ModelPath), p.Item2?.Name ?? "", Num(p.Item2?.ReferenceValue), Num(p.Item2?.Value), Num(p.Item2?.Drop),
                        p.Item2 == null || double.IsNaN(p.Item2.DropLower) ? "" : $"[{Num(p.Item2.DropLower)}, {Num(p.Item2.DropUpper)}]",
                        Num(p.r.TopOneAgreement), Num(p.r.Latency?.A.MedianMs), Num(p.r.Latency?.B.MedianMs), Ratio(p.r.Latency?.Speedup),
                        Bytes(p.r.ReferenceFileSize), Bytes(p.r.FileSize), Ratio(p.r.SizeRatio), $"{p.r.Layers.Int8} / {p.r.Layers.Float}"))
                    .ToList()));
        if (c.Quantizations.Count > 0)
            tables.Add(new ReportTable("Default quantization",
                new[] { "Model", "Output", "Preset", "Types", "INT8 layers", "Layers", "INT8 kernels", "Bias correction", "Calibration items", "Total time (s)" },
                c.Quantizations.Select(q => Row(Path.GetFileName(q.ModelPath), Path.GetFileName(q.OutputPath), q.EffectivePreset.ToString(), q.Types.ToString(),
                    Int(q.QuantizedLayerCount), Int(q.LayerCount), Int(q.FusedLayerCount), q.BiasCorrection, Int(q.StatSubsetSize), Num(q.TotalTime.TotalSeconds, "0.00"))).ToList()));
        if (c.AccuracyAware.Count > 0)
            tables.Add(new ReportTable("Accuracy-aware quantization",
                new[] { "Model", "Metric", "FP32", "Fully INT8", "Final", "Drop", "Maximal drop", "Met", "Reverted layers", "Iterations" },
                c.AccuracyAware.SelectMany(a => a.Metrics.Select(m => Row(Path.GetFileName(a.OutputPath ?? a.ModelPath ?? ""), m.Name, Num(m.Baseline), Num(m.FullyQuantized),
                    Num(m.Final), Num(m.Drop), Num(m.MaxDrop), m.Met ? "yes" : "no", Int(a.RevertedLayerCount), Int(a.Iterations.Count)))).ToList()));
        foreach (var (ranking, i) in c.Rankings().Select((r, i) => (r, i)))
            tables.Add(new ReportTable(c.Rankings().Count > 1 ? $"Layer ranking {i + 1}" : "Layer ranking",
                new[] { "Rank", "Layer", "Op type", "Score", "Method" },
                ranking.Select(r => Row(Int(r.Rank), r.Layer, r.OpType, Num(r.Score, "0.######"), r.Method.ToString())).ToList()));
        if (c.Evaluations.Count > 0)
            tables.Add(new ReportTable("Evaluation",
                new[] { "Model", "Items", "Metrics", "Latency p50 per item (ms)", "Elapsed (s)" },
                c.Evaluations.Select(e => Row(Path.GetFileName(e.ModelPath), Int(e.ItemCount), string.Join(", ", e.Metrics.Select(m => $"{m.Name} = {Num(m.Value)}")),
                    Num(e.Latency?.ItemP50Ms), Num(e.Elapsed.TotalSeconds, "0.00"))).ToList()));
        // What the runs warned about (a model not faster than FP32, NaN in the FP32 outputs, layers left float ...): a
        // report read later, without the console, must not show a result as sound when its run said otherwise.
        var rankings = c.Rankings();
        var warnings = c.Quantizations.SelectMany(q => q.Warnings.Select(w => (Model: Path.GetFileName(q.ModelPath), Warning: w)))
            .Concat(c.AccuracyAware.SelectMany(a => a.Warnings.Select(w => (Model: Path.GetFileName(a.OutputPath ?? a.ModelPath ?? ""), Warning: w))))
            .Concat(rankings.SelectMany((r, i) => r[0].Warnings.Select(w => (Model: rankings.Count > 1 ? $"Layer ranking {i + 1}" : "Layer ranking", Warning: w))))
            .Distinct().ToList();
        if (warnings.Count > 0)
            tables.Add(new ReportTable("Warnings", new[] { "Model", "Warning" }, warnings.Select(p => Row(p.Model, p.Warning)).ToList()));
        return tables;
    }

    private static IReadOnlyList<string> Row(params string[] cells) => cells;

    internal static string Num(double? value, string format = "G5") =>
        value is not { } v ? "" : double.IsNaN(v) ? "NaN" : v.ToString(format, CultureInfo.InvariantCulture);

    private static string Ratio(double? value) => value is { } v && double.IsFinite(v) ? v.ToString("0.00", CultureInfo.InvariantCulture) + "x" : "";

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Bytes(long bytes) => bytes >= 1 << 20
        ? (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MiB"
        : (bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB";
}
