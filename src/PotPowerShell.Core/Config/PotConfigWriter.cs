using System.Globalization;
using System.Text;
using PotPowerShell.Core.Calibration;

namespace PotPowerShell.Core.Config;

/// <summary>What <see cref="PotConfigWriter.Save"/> wrote: the config as it now lives at the new path, and notes for the user.</summary>
public sealed record ConfigExport(PotConfig Config, ValueList<string> Warnings);

/// <summary>
/// Writes a <see cref="PotConfig"/> back as a normalized POT config: every key with its effective value (null where
/// null means "automatic"), in a fixed order, so the output is the same for the same config. Paths inside the new
/// file's folder are written relative to it (with /), others absolute; reading the file back gives an equal config.
/// </summary>
public static class PotConfigWriter
{
    public const string FormatMismatch = "ConfigFormatMismatch";

    /// <summary>
    /// The file a config would be written to: <paramref name="path"/> made absolute; without an extension, .json/.yml
    /// is added for <paramref name="format"/>. Throws when the extension and the format disagree or the extension is unknown.
    /// </summary>
    public static (string Path, ConfigFormat Format) ResolveTarget(string path, ConfigFormat? format)
    {
        // A folder is refused before an extension is added, which would write '<folder>.json' next to it.
        OutputFiles.RefuseFolder(path, "Path");
        string full = System.IO.Path.GetFullPath(path);
        if (System.IO.Path.GetExtension(full).Length == 0)
        {
            var f = format ?? ConfigFormat.Json;
            return (full + (f == ConfigFormat.Json ? ".json" : ".yml"), f);
        }
        var byExtension = ConfigFormats.FromExtension(full) ?? throw ConfigFormats.Unsupported(full);
        if (format is not null && format != byExtension)
            throw new PotException(FormatMismatch, PotErrorCategory.InvalidArgument,
                $"'{full}' has the extension {System.IO.Path.GetExtension(full)}, which Import-PotConfig reads as {byExtension}, " +
                $"but the format asked for is {format}. Use a {(format == ConfigFormat.Json ? ".json" : ".yml")} path or leave the format out.", full);
        return (full, byExtension);
    }

    /// <summary>Writes the config (temporary file, then move) and returns it re-homed at the new path.</summary>
    public static ConfigExport Save(PotConfig config, string path, ConfigFormat? format = null, bool overwrite = true)
    {
        var (full, f) = ResolveTarget(path, format);
        string folder = System.IO.Path.GetDirectoryName(full)!;
        string text = ToText(config, f, folder);
        OutputFiles.Write(full, overwrite, tmp => File.WriteAllText(tmp, text, new UTF8Encoding(false)),
            (target, e) => new PotException("ConfigWriteFailed", PotErrorCategory.WriteError, $"Could not write '{target}': {e.Message}", target, e));
        var warnings = new List<string>();
        if (config.Engine.Kind == EngineKind.Inline && !CanonicalPath.Same(folder, config.Directory))
            warnings.Add($"engine: the inline engine is written as it was; relative paths in it now resolve against '{folder}' instead of '{config.Directory}'.");
        if (config.Engine.Kind == EngineKind.Inline && f == ConfigFormat.Json &&
            ConfigTextWriter.LeadingZeroNumbers(config.Engine.Inline!, config.Engine.InlineKeyPath).ToList() is { Count: > 0 } rewritten)
            warnings.Add($"JSON has no numbers with leading zeros, so these values of the inline engine lose them: {string.Join("; ", rewritten)}. Quote them, or export to YAML, to keep them.");
        return new ConfigExport(config with { Path = full }, warnings.ToValueList());
    }

    /// <summary>The normalized text of a config as it would be written into <paramref name="targetDirectory"/>.</summary>
    public static string ToText(PotConfig config, ConfigFormat format, string targetDirectory) =>
        ConfigTextWriter.Write(ToTree(config, targetDirectory), format);

    /// <summary>The normalized tree of a config as it would be written into <paramref name="targetDirectory"/>.</summary>
    public static ConfigMap ToTree(PotConfig config, string targetDirectory)
    {
        string Rel(string p) => ConfigPaths.ForExport(p, targetDirectory);
        var root = new ConfigMap();

        var model = new ConfigMap();
        model.Add("model_name", S(config.Model.ModelName));
        model.Add("model", S(Rel(config.Model.ModelPath)));
        model.Add("weights", config.Model.WeightsPath is null ? Null : S(Rel(config.Model.WeightsPath)));
        root.Add("model", model);

        var engine = new ConfigMap();
        switch (config.Engine.Kind)
        {
            case EngineKind.File:
                engine.Add("config", S(Rel(config.Engine.ConfigPath!)));
                break;
            case EngineKind.Simplified:
                engine.Add("type", S("simplified"));
                engine.Add("data_source", S(Rel(config.Engine.DataSource!)));
                if (config.Engine.Layout is { } layout) engine.Add("layout", S(layout));
                if (config.Engine.CentralFraction is { } fraction) engine.Add("central_fraction", D(fraction));
                break;
            default:
                foreach (var (key, value) in config.Engine.Inline!.Entries) engine.Add(key, value);
                break;
        }
        engine.Add("stat_requests_number", I(config.Engine.StatRequestsNumber));
        engine.Add("eval_requests_number", I(config.Engine.EvalRequestsNumber));
        root.Add("engine", engine);

        var c = config.Compression;
        var compression = new ConfigMap();
        compression.Add("target_device", S(c.TargetDevice.ToString().ToUpperInvariant()));
        compression.Add("model_type", c.ModelType is null ? Null : S(c.ModelType));
        compression.Add("inplace_statistics", B(c.InplaceStatistics));
        compression.Add("dump_intermediate_model", B(c.DumpIntermediateModel));
        var algorithms = new ConfigList();
        foreach (var a in c.Algorithms)
        {
            var entry = new ConfigMap();
            entry.Add("name", S(a.Name));
            entry.Add("params", Params(a.Params));
            algorithms.Add(entry);
        }
        compression.Add("algorithms", algorithms);
        root.Add("compression", compression);
        return root;
    }

    private static ConfigMap Params(DefaultQuantizationParams p)
    {
        var m = new ConfigMap();
        m.Add("preset", S(p.Preset.ToString().ToLowerInvariant()));
        m.Add("stat_subset_size", I(p.StatSubsetSize));
        m.Add("stat_batch_size", I(p.StatBatchSize));
        m.Add("shuffle_data", B(p.ShuffleData));
        m.Add("seed", I(p.Seed));
        m.Add("use_fast_bias", B(p.UseFastBias));
        m.Add("use_layerwise_tuning", B(false));
        m.Add("bias_correction", B(p.BiasCorrection));
        if (p.Threshold is double threshold) m.Add("threshold", D(threshold));
        m.Add("equalization", S(p.Equalization.ToString().ToLowerInvariant()));
        if (p.SmoothQuantAlpha is double alpha) m.Add("smooth_quant_alpha", D(alpha));
        m.Add("apply_for_all_nodes", B(false));
        m.Add("saturation_fix", p.SaturationFix switch
        {
            SaturationFix.No => S("no"),
            SaturationFix.FirstLayer => S("first_layer"),
            SaturationFix.All => S("all"),
            _ => Null,
        });
        m.Add("threads", I(p.Threads));
        m.Add("precision", S(p.Precision == PrecisionMode.AllInt8 ? "all_int8" : "fastest"));
        m.Add("latency_batch_size", I(p.LatencyBatchSize));
        m.Add("skip_non_finite_values", B(p.SkipNonFiniteValues));

        var ignored = new ConfigMap();
        var scope = new ConfigList();
        foreach (var name in p.Ignored.Scope) scope.Add(S(name));
        ignored.Add("scope", scope);
        var operations = new ConfigList();
        foreach (var op in p.Ignored.Operations)
        {
            var o = new ConfigMap();
            o.Add("type", S(op.Type));
            var attributes = new ConfigMap();
            foreach (var attribute in op.Attributes) attributes.Add(attribute.Name, S(attribute.Value));
            o.Add("attributes", attributes);
            operations.Add(o);
        }
        ignored.Add("operations", operations);
        ignored.Add("skip_model", B(false));
        m.Add("ignored", ignored);

        var w = new ConfigMap();
        w.Add("bits", I(p.Weights.Bits));
        w.Add("mode", Mode(p.Weights.Mode));
        w.Add("granularity", S(p.Weights.Granularity == Granularity.PerChannel ? "perchannel" : "pertensor"));
        w.Add("level_low", I(p.Weights.LevelLow));
        w.Add("level_high", I(p.Weights.LevelHigh));
        if (p.Weights.OutlierProb is double outlier)
        {
            // Both ends, so that POT's quantile preset (which has a min end for asymmetric weights) takes it everywhere.
            var re = new ConfigMap();
            re.Add("preset", S("quantile"));
            foreach (var end in new[] { "min", "max" })
            {
                var side = new ConfigMap();
                side.Add("outlier_prob", D(outlier));
                re.Add(end, side);
            }
            w.Add("range_estimator", re);
        }
        m.Add("weights", w);

        var act = new ConfigMap();
        act.Add("bits", I(p.Activations.Bits));
        act.Add("mode", Mode(p.Activations.Mode));
        act.Add("granularity", S("pertensor"));
        act.Add("level_low", I(p.Activations.LevelLow));
        act.Add("level_high", I(p.Activations.LevelHigh));
        act.Add("range_estimator", RangeEstimator(p.Activations.RangeEstimator, ActivationsParams.IsSymmetric(p.Activations.Mode, p.Preset)));
        m.Add("activations", act);

        if (p is AccuracyAwareParams a)
        {
            m.Add("ranking_subset_size", I(a.RankingSubsetSize));
            m.Add("max_iter_num", I(a.MaxIterNum));
            m.Add("maximal_drop", D(a.MaximalDrop));
            m.Add("drop_type", S(a.DropType.ToString().ToLowerInvariant()));
            m.Add("use_prev_if_drop_increase", B(a.UsePrevIfDropIncrease));
            m.Add("base_algorithm", S(a.BaseAlgorithm));
            m.Add("convert_to_mixed_preset", B(a.ConvertToMixedPreset));
            var metrics = new ConfigList();
            foreach (var metric in a.Metrics)
            {
                var x = new ConfigMap();
                x.Add("name", S(metric.Name));
                if (metric.Type is { } type) x.Add("type", S(type));
                x.Add("baseline_value", metric.BaselineValue is { } v ? D(v) : Null);
                metrics.Add(x);
            }
            m.Add("metrics", metrics);
            m.Add("metric_subset_ratio", D(a.MetricSubsetRatio));
            m.Add("tune_hyperparams", B(a.TuneHyperparams));
            m.Add("annotation_free", B(a.AnnotationFree));
            m.Add("annotation_conf_threshold", D(a.AnnotationConfThreshold));
            m.Add("ranking_method", S(a.RankingMethod switch { RankingMethod.Metric => "metric", RankingMethod.OutputError => "output_error", RankingMethod.Signal => "signal", _ => "auto" }));
            m.Add("confirm_top_layers", I(a.ConfirmTopLayers));
            m.Add("backward_pass", B(a.BackwardPass));
            m.Add("max_evaluations", I(a.MaxEvaluations));
            m.Add("time_limit", a.TimeLimit is { } t ? S(t.ToString("c", CultureInfo.InvariantCulture)) : Null);
            m.Add("checkpoint_path", a.CheckpointPath is { } c ? S(c) : Null);
            m.Add("restore_mode", S(AlgorithmBinder.RestoreModes.First(r => r.Item2 == a.RestoreMode).Item1));
        }
        return m;
    }

    /// <summary>The POT form of an estimator; reads back to the same <see cref="RangeEstimatorOptions"/>.</summary>
    private static ConfigMap RangeEstimator(RangeEstimatorOptions r, bool symmetric)
    {
        var m = new ConfigMap();
        ConfigMap Side(string type, string aggregator, bool withOutlier)
        {
            var s = new ConfigMap();
            s.Add("type", S(type));
            s.Add("aggregator", S(aggregator));
            if (withOutlier) s.Add("outlier_prob", D(r.OutlierProbability));
            return s;
        }
        switch (r.EffectiveKind)
        {
            case RangeEstimatorKind.Auto:
                m.Add("preset", S("auto"));
                break;
            case RangeEstimatorKind.Percentile:
                m.Add("preset", S("percentile"));
                m.Add("percentile", D(r.Percentile));
                m.Add("histogram_bins", I(r.HistogramBins));
                break;
            case RangeEstimatorKind.Entropy:
                m.Add("preset", S("entropy"));
                m.Add("histogram_bins", I(r.HistogramBins));
                break;
            case var k:
                var (minType, maxType, minAgg, maxAgg, outlier) = k switch
                {
                    RangeEstimatorKind.MinMax => ("min", symmetric ? "abs_max" : "max", "min", "max", false),
                    RangeEstimatorKind.Quantile => ("quantile", "quantile", "mean", "mean", true),
                    RangeEstimatorKind.AbsQuantile => ("abs_quantile", "abs_quantile", "mean", "mean", true),
                    RangeEstimatorKind.MedianMinMax => ("min", symmetric ? "abs_max" : "max", "median", "median", false),
                    RangeEstimatorKind.MeanMinMaxNoOutliers => ("min", symmetric ? "abs_max" : "max", "mean_no_outliers", "mean_no_outliers", false),
                    RangeEstimatorKind.MedianMinMaxNoOutliers => ("min", symmetric ? "abs_max" : "max", "median_no_outliers", "median_no_outliers", false),
                    RangeEstimatorKind.HodgesLehmannMinMax => ("min", symmetric ? "abs_max" : "max", "hl_estimator", "hl_estimator", false),
                    _ => ("min", symmetric ? "abs_max" : "max", "mean", "mean", false),
                };
                // Symmetric ranges come from max alone (POT ignores min for them).
                if (!symmetric) m.Add("min", Side(minType, minAgg, outlier));
                m.Add("max", Side(maxType, maxAgg, outlier));
                break;
        }
        return m;
    }

    private static ConfigScalar Mode(QuantizationMode? mode) => mode switch
    {
        QuantizationMode.Symmetric => S("symmetric"),
        QuantizationMode.Asymmetric => S("asymmetric"),
        _ => Null,
    };

    private static ConfigScalar Null => ConfigScalar.Null();
    private static ConfigScalar S(string v) => ConfigScalar.From(v);
    private static ConfigScalar B(bool v) => ConfigScalar.From(v);
    private static ConfigScalar D(double v) => ConfigScalar.From(v);
    private static ConfigScalar I(int? v) => v is { } x ? ConfigScalar.From((long)x) : ConfigScalar.Null();
}
