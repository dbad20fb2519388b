using PotPowerShell.Core.Calibration;

namespace PotPowerShell.Core.Config;

/// <summary>
/// Maps POT's range_estimator (preset, and per side min/max: type, aggregator, outlier_prob) onto one
/// <see cref="RangeEstimatorKind"/>. The mapping table is in docs/en-US/about_PotPowerShell_Config.md.
/// </summary>
internal static class RangeEstimatorBinder
{
    private enum Preset
    {
        Default,
        Quantile,
        Percentile,
        Entropy,
        Auto,
    }

    private enum StatType
    {
        Min,
        Max,
        AbsMax,
        Quantile,
        AbsQuantile,
    }

    private enum Aggregator
    {
        Mean,
        Max,
        Min,
        Median,
        MeanNoOutliers,
        MedianNoOutliers,
        HlEstimator,
    }

    private static readonly (string, StatType)[] Types =
        { ("min", StatType.Min), ("max", StatType.Max), ("abs_max", StatType.AbsMax), ("quantile", StatType.Quantile), ("abs_quantile", StatType.AbsQuantile) };

    private static readonly (string, Aggregator)[] Aggregators =
    {
        ("mean", Aggregator.Mean), ("max", Aggregator.Max), ("min", Aggregator.Min), ("median", Aggregator.Median),
        ("mean_no_outliers", Aggregator.MeanNoOutliers), ("median_no_outliers", Aggregator.MedianNoOutliers), ("hl_estimator", Aggregator.HlEstimator),
    };

    public const double DefaultOutlierProbability = 1e-4;

    public static RangeEstimatorOptions BindActivations(ConfigSection? s, bool symmetric)
    {
        var defaults = new RangeEstimatorOptions { Kind = RangeEstimatorKind.MeanMinMax };
        // A config that says nothing about the range gets our default (auto); one that names POT's estimators gets them.
        if (s is null) return new RangeEstimatorOptions { Kind = RangeEstimatorOptions.DefaultKind };
        var preset = s.Enum("preset", new[] { ("default", Preset.Default), ("quantile", Preset.Quantile), ("percentile", Preset.Percentile), ("entropy", Preset.Entropy), ("auto", Preset.Auto) });
        double? percentile = s.Double("percentile", v => v > 50 && v <= 100, "must be greater than 50 and at most 100 (e.g. 99.999)");
        int? bins = s.Int("histogram_bins", min: 16, max: 1 << 20);
        var min = Side(s.Section("min", what: "type, aggregator, outlier_prob"), isMax: false);
        var max = Side(s.Section("max", what: "type, aggregator, outlier_prob"), isMax: true);
        s.RejectUnknownKeys();

        if (symmetric && min.Given)
        {
            s.Warn("min", "is not used for symmetric activations: their range is set by max alone (as in POT).");
            min = default;
        }
        RangeEstimatorKind? sideKind = null;
        if (min.Kind is not null && max.Kind is not null && min.Kind != max.Kind)
            s.Problem("max", $"PotPowerShell uses one estimator for both ends of the range, but min maps to {min.Kind} and max to {max.Kind}. Give min and max the same type and aggregator.");
        else sideKind = max.Kind ?? min.Kind;
        double? outlier = max.OutlierProb ?? min.OutlierProb;
        if (min.OutlierProb is not null && max.OutlierProb is not null && min.OutlierProb != max.OutlierProb)
            s.Problem("max", "min.outlier_prob and max.outlier_prob differ; PotPowerShell uses one outlier probability for both ends. Make them equal.");

        RangeEstimatorKind? presetKind = preset switch
        {
            Preset.Quantile => symmetric ? RangeEstimatorKind.AbsQuantile : RangeEstimatorKind.Quantile,
            Preset.Percentile => RangeEstimatorKind.Percentile,
            Preset.Entropy => RangeEstimatorKind.Entropy,
            Preset.Auto => RangeEstimatorKind.Auto,
            _ => null,
        };
        bool presetAgrees = presetKind is null || sideKind is null || presetKind == sideKind ||
                            (preset == Preset.Quantile && sideKind is RangeEstimatorKind.Quantile or RangeEstimatorKind.AbsQuantile);
        if (!presetAgrees)
            s.Problem("preset", $"asks for {presetKind} but min/max map to {sideKind}; remove the preset or the min/max types.");
        var kind = sideKind ?? presetKind ?? RangeEstimatorKind.MeanMinMax;

        bool quantile = kind is RangeEstimatorKind.Quantile or RangeEstimatorKind.AbsQuantile;
        bool histogram = kind is RangeEstimatorKind.Percentile or RangeEstimatorKind.Entropy;
        if (outlier is not null && !quantile)
            s.Warn("max", $"outlier_prob has no effect with the {kind} estimator (only quantile types use it).");
        if (percentile is not null && kind != RangeEstimatorKind.Percentile)
            s.Warn("percentile", $"has no effect with the {kind} estimator (only preset percentile uses it).");
        if (bins is not null && !histogram)
            s.Warn("histogram_bins", $"has no effect with the {kind} estimator (only presets percentile and entropy use it).");
        return new RangeEstimatorOptions
        {
            Kind = kind,
            OutlierProbability = quantile ? outlier ?? DefaultOutlierProbability : DefaultOutlierProbability,
            Percentile = kind == RangeEstimatorKind.Percentile ? percentile ?? defaults.Percentile : defaults.Percentile,
            HistogramBins = histogram ? bins ?? defaults.HistogramBins : defaults.HistogramBins,
        };
    }

    private readonly record struct SideResult(bool Given, RangeEstimatorKind? Kind, double? OutlierProb);

    private static SideResult Side(ConfigSection? s, bool isMax)
    {
        if (s is null) return default;
        var type = s.Enum("type", Types);
        var aggregator = s.Enum("aggregator", Aggregators);
        double? outlier = s.Double("outlier_prob", v => v > 0 && v < 0.5, "must be greater than 0 and less than 0.5 (POT's default is 0.0001)");
        if (s.Raw("clipping_value") is not null)
            s.Problem("clipping_value", "is not supported by PotPowerShell (ranges are not clipped to a fixed bound). Remove it; " +
                                        "for ReLU6-like outputs the measured range already stays within the bound.");
        if (s.Enum("granularity", new[] { ("pertensor", Granularity.PerTensor), ("perchannel", Granularity.PerChannel) }) == Granularity.PerChannel)
            s.Problem("granularity", "perchannel statistics are not supported for activations; use pertensor or remove it.");
        s.RejectUnknownKeys();

        RangeEstimatorKind? kind = null;
        bool quantile = type is StatType.Quantile or StatType.AbsQuantile;
        bool robust = aggregator is Aggregator.Median or Aggregator.MeanNoOutliers or Aggregator.MedianNoOutliers or Aggregator.HlEstimator;
        if (robust && quantile)
            s.Problem("aggregator", "PotPowerShell averages the per-item quantiles (aggregator mean) and supports no other aggregator " +
                                    "for quantile types; use mean or remove it (the robust aggregators apply to the min, max and abs_max types).");
        else if (robust)
            kind = aggregator switch
            {
                Aggregator.Median => RangeEstimatorKind.MedianMinMax,
                Aggregator.MeanNoOutliers => RangeEstimatorKind.MeanMinMaxNoOutliers,
                Aggregator.MedianNoOutliers => RangeEstimatorKind.MedianMinMaxNoOutliers,
                _ => RangeEstimatorKind.HodgesLehmannMinMax,
            };
        else if (quantile)
        {
            if (aggregator is Aggregator.Min or Aggregator.Max)
                s.Problem("aggregator", "PotPowerShell averages the per-item quantiles (aggregator mean) and supports no other aggregator " +
                                        "for quantile types; use mean or remove it.");
            else kind = type == StatType.AbsQuantile ? RangeEstimatorKind.AbsQuantile : RangeEstimatorKind.Quantile;
        }
        else if (aggregator is null or Aggregator.Mean) kind = type is null && aggregator is null ? null : RangeEstimatorKind.MeanMinMax;
        else if (aggregator == (isMax ? Aggregator.Max : Aggregator.Min)) kind = RangeEstimatorKind.MinMax;
        else
            s.Problem("aggregator", $"{(isMax ? "min" : "max")} on the {(isMax ? "max" : "min")} side is not supported; use mean or {(isMax ? "max" : "min")}.");
        if (type is StatType.Min && isMax || type is StatType.Max or StatType.AbsMax && !isMax)
            s.Problem("type", $"{(isMax ? "min" : "max/abs_max")} can't estimate the {(isMax ? "maximum" : "minimum")}; use {(isMax ? "max, abs_max" : "min")} or a quantile type.");
        return new SideResult(true, kind, outlier);
    }

    /// <summary>
    /// Weights: POT's default estimators (abs_max for symmetric weights, min/max for asymmetric ones; returns null) or
    /// its quantile ones (preset quantile, or types quantile/abs_quantile; returns the outlier probability).
    /// </summary>
    public static double? BindWeights(ConfigSection s)
    {
        const string Choices = "min and max (POT's default), or quantile and abs_quantile";
        var preset = s.Enum("preset", new[] { ("default", false), ("quantile", true) });
        bool quantile = preset == true;
        double? outlier = null;
        foreach (var (key, isMax) in new[] { ("min", false), ("max", true) })
        {
            if (s.Section(key, what: "type, outlier_prob") is not { } side) continue;
            var type = side.Enum("type", Types);
            if (type is StatType.Quantile or StatType.AbsQuantile) quantile = true;
            else if (type is not null && !(isMax ? type is StatType.Max or StatType.AbsMax : type is StatType.Min))
                side.Problem("type", $"is not a weight estimator PotPowerShell has for the {key} end; use {Choices}.");
            if (side.Double("outlier_prob", v => v > 0 && v < 0.5, "must be greater than 0 and less than 0.5 (POT's default is 0.0001)") is double p)
            {
                if (outlier is not null && outlier != p)
                    side.Problem("outlier_prob", "differs from the other end's; PotPowerShell uses one outlier probability for both. Make them equal.");
                outlier = p;
            }
            foreach (var extra in new[] { "clipping_value", "granularity", "aggregator" })
                if (side.Raw(extra) is not null) side.Problem(extra, "is not used for weights (their ranges are taken per channel from the weights themselves). Remove it.");
            side.RejectUnknownKeys();
        }
        s.RejectUnknownKeys();
        if (!quantile && outlier is not null)
            s.Warn("max", "outlier_prob has no effect with the min/max weight estimators (only quantile types use it).");
        return quantile ? outlier ?? DefaultOutlierProbability : null;
    }
}
