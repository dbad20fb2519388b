using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>Checks AccuracyAwareOptions before anything runs, naming the config key and what to do.</summary>
internal static class OptionsValidation
{
    public const string DefaultQuantization = "DefaultQuantization";

    public static void Validate(AccuracyAwareOptions options)
    {
        if (!string.Equals(options.BaseAlgorithm, DefaultQuantization, StringComparison.OrdinalIgnoreCase))
            throw Invalid("UnsupportedBaseAlgorithm", "base_algorithm",
                $"base_algorithm '{options.BaseAlgorithm}' is not supported: AccuracyAwareQuantization starts from DefaultQuantization only. Remove base_algorithm or set it to DefaultQuantization.");
        if (!double.IsFinite(options.MaximalDrop) || options.MaximalDrop < 0)
            throw Invalid("InvalidMaximalDrop", "maximal_drop", $"maximal_drop must be a number >= 0 (0.01 = 1 %), not {options.MaximalDrop}.");
        if (options.DropType == DropType.Relative && options.MaximalDrop > 1)
            throw Invalid("InvalidMaximalDrop", "maximal_drop", $"A relative maximal_drop is a fraction of the baseline between 0 and 1, not {options.MaximalDrop}.");
        if (options.RankingSubsetSize is int r && r < 1)
            throw Invalid("InvalidRankingSubsetSize", "ranking_subset_size", $"ranking_subset_size must be at least 1, not {r}.");
        if (options.MaxIterations is int i && i < 0)
            throw Invalid("InvalidMaxIterations", "max_iter_num", $"max_iter_num must be 0 or more, not {i}.");
        if (!(options.MetricSubsetRatio > 0 && options.MetricSubsetRatio <= 1))
            throw Invalid("InvalidMetricSubsetRatio", "metric_subset_ratio", $"metric_subset_ratio must be in (0, 1], not {options.MetricSubsetRatio}.");
        if (options.ConfirmTopLayers < 0)
            throw Invalid("InvalidConfirmTopLayers", "confirm_top_layers", $"ConfirmTopLayers must be 0 or more, not {options.ConfirmTopLayers}.");
        if (options.MaxEvaluations is int e && e < 0)
            throw Invalid("InvalidMaxEvaluations", "max_evaluations", $"MaxEvaluations must be 0 or more, not {e}.");
        if (options.TimeLimit is TimeSpan t && t <= TimeSpan.Zero)
            throw Invalid("InvalidTimeLimit", "time_limit", $"TimeLimit must be positive, not {t}.");
        if (options.ConfirmOnFullSet < 1)
            throw Invalid("InvalidConfirmOnFullSet", "ConfirmOnFullSet", $"ConfirmOnFullSet must be at least 1, not {options.ConfirmOnFullSet}.");
        if (options.EvaluationWorkers is int w && w < 1)
            throw Invalid("InvalidEvaluationWorkers", "eval_requests_number", $"eval_requests_number must be at least 1, not {w}.");
        if (options.EvaluationBatchSize is int b0 && b0 < 1)
            throw Invalid("InvalidEvaluationBatchSize", "EvaluationBatchSize", $"EvaluationBatchSize must be at least 1, not {b0}.");
        foreach (var m in options.Metrics)
            if (m.BaselineValue is double b && !double.IsFinite(b))
                throw Invalid("InvalidBaselineValue", "metrics", $"metrics[] '{m.Name}' has baseline_value {b}; give a finite number or leave it out.");
        if (!(options.AnnotationConfidenceThreshold is >= 0 and <= 1))
            throw Invalid("InvalidAnnotationConfThreshold", "annotation_conf_threshold", $"annotation_conf_threshold must be between 0 and 1, not {options.AnnotationConfidenceThreshold}.");
    }

    private static PotException Invalid(string id, string key, string message) => new(id, PotErrorCategory.InvalidArgument, message, key);
}
