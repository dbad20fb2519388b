using System.Globalization;
using System.Text.RegularExpressions;

namespace PotPowerShell.Core.Config;

/// <summary>Binds one compression.algorithms[i] entry: its name and every DefaultQuantization / AccuracyAwareQuantization parameter.</summary>
internal static class AlgorithmBinder
{
    /// <summary>Algorithm names POT's validator knows but PotPowerShell does not run.</summary>
    internal static readonly string[] UnsupportedPotAlgorithms =
    {
        "ActivationChannelAlignment", "MinMaxQuantization", "FastBiasCorrection", "BiasCorrection", "ParamsTuningSearch",
        "DataFreeQuantization", "RangeOptimization", "TunableQuantization", "MagnitudeSparsity", "BaseWeightSparsity",
        "WeightSparsity", "OverflowCorrection", "Ranger", "QuantileSearch", "TPE",
    };

    private static readonly string[] LayerwiseTuningKeys =
    {
        "num_samples_for_tuning", "batch_size", "optimizer", "loss", "tuning_iterations", "random_seed", "use_ranking_subset",
        "calibration_indices_pool", "calculate_grads_on_loss_increase_only", "weight_decay",
    };

    internal static readonly string[] AccuracyAwareKeys =
    {
        "ranking_subset_size", "max_iter_num", "maximal_drop", "drop_type", "use_prev_if_drop_increase", "base_algorithm",
        "convert_to_mixed_preset", "metrics", "metric_subset_ratio", "tune_hyperparams", "annotation_free",
        "annotation_conf_threshold", "ranking_method", "confirm_top_layers", "backward_pass", "max_evaluations", "time_limit",
        "checkpoint_path", "restore_mode",
    };

    private static readonly (string, QuantizationPreset)[] Presets =
    {
        ("performance", QuantizationPreset.Performance), ("mixed", QuantizationPreset.Mixed), ("accuracy", QuantizationPreset.Accuracy),
        // POT's aliases.
        ("symmetric", QuantizationPreset.Performance), ("asymmetric", QuantizationPreset.Accuracy),
    };

    private static readonly (string, EqualizationScope)[] Equalizations =
        { ("none", EqualizationScope.None), ("depthwise", EqualizationScope.Depthwise), ("all", EqualizationScope.All) };

    /// <summary>NNCF's RestoreMode values, as its advanced_accuracy_restorer_parameters spell them.</summary>
    internal static readonly (string, RestoreMode)[] RestoreModes =
        { ("activations_and_weights", RestoreMode.ActivationsAndWeights), ("only_activations", RestoreMode.OnlyActivations) };

    private static readonly (string, PrecisionMode)[] Precisions = { ("fastest", PrecisionMode.Fastest), ("all_int8", PrecisionMode.AllInt8) };

    private static readonly (string, QuantizationMode)[] Modes = { ("symmetric", QuantizationMode.Symmetric), ("asymmetric", QuantizationMode.Asymmetric) };

    private static readonly (string, Granularity)[] Granularities = { ("perchannel", Granularity.PerChannel), ("pertensor", Granularity.PerTensor) };

    private static readonly (string, SaturationFix)[] SaturationFixes =
        { ("no", SaturationFix.No), ("first_layer", SaturationFix.FirstLayer), ("all", SaturationFix.All) };

    public static AlgorithmConfig? Bind(BindContext context, ConfigNode node, string keyPath, TargetDevice device)
    {
        if (node is not ConfigMap map)
        {
            context.Problem(keyPath, node, "must be a map with name and params, e.g. { name: DefaultQuantization, params: { preset: performance } }.");
            return null;
        }
        var entry = new ConfigSection(context, map, keyPath);
        string? name = entry.String("name", required: true, what: "DefaultQuantization or AccuracyAwareQuantization");
        var paramsSection = entry.Section("params", what: "the algorithm's parameters");
        entry.RejectUnknownKeys();
        if (name is null) return null;

        bool aaq;
        if (name.Equals(AlgorithmNames.Default, StringComparison.OrdinalIgnoreCase)) aaq = false;
        else if (name.Equals(AlgorithmNames.AccuracyAware, StringComparison.OrdinalIgnoreCase)) aaq = true;
        else
        {
            string? pot = UnsupportedPotAlgorithms.FirstOrDefault(a => a.Equals(name, StringComparison.OrdinalIgnoreCase));
            entry.Problem("name", pot is not null
                ? $"{pot} is a POT algorithm that is not supported by PotPowerShell. Use DefaultQuantization or AccuracyAwareQuantization."
                : "is not an algorithm PotPowerShell knows: use DefaultQuantization or AccuracyAwareQuantization." +
                  EditDistance.Hint(name, new[] { AlgorithmNames.Default, AlgorithmNames.AccuracyAware }.Concat(UnsupportedPotAlgorithms)));
            return null;
        }

        DefaultQuantizationParams p = aaq ? new AccuracyAwareParams() : new DefaultQuantizationParams();
        if (paramsSection is not null)
        {
            p = BindDefault(paramsSection, p, device);
            if (aaq) p = BindAccuracyAware(paramsSection, (AccuracyAwareParams)p);
            else
                foreach (var key in AccuracyAwareKeys)
                    paramsSection.Explain(key, "is an AccuracyAwareQuantization parameter: change the algorithm name to AccuracyAwareQuantization, or remove it.");
            paramsSection.RejectUnknownKeys();
        }
        return new AlgorithmConfig(aaq ? AlgorithmNames.AccuracyAware : AlgorithmNames.Default, p);
    }

    /// <summary>DefaultQuantization's keys (also valid for AccuracyAwareQuantization). Keeps the runtime type of <paramref name="seed"/>.</summary>
    private static DefaultQuantizationParams BindDefault(ConfigSection s, DefaultQuantizationParams seed, TargetDevice device)
    {
        var preset = s.Enum("preset", Presets) ?? QuantizationPreset.Performance;
        int? statSubset = s.Int("stat_subset_size", min: 1);
        int statBatch = s.Int("stat_batch_size", min: 1) ?? 1;
        bool shuffle = s.Bool("shuffle_data") ?? false;
        int seed_ = s.Int("seed", min: 0) ?? 0;
        bool fastBias = s.Bool("use_fast_bias") ?? true;
        if (s.Bool("use_layerwise_tuning") == true)
            s.Problem("use_layerwise_tuning", "is not supported by PotPowerShell (POT fine-tunes layers with PyTorch). Set it to false or remove it; " +
                                              "AccuracyAwareQuantization with tune_hyperparams is the accuracy lever here.");
        foreach (var key in LayerwiseTuningKeys)
            if (s.Raw(key) is not null)
                s.Warn(key, "is a layerwise-tuning parameter; layerwise tuning is not supported, so it has no effect.");
        var ignored = BindIgnored(s.Section("ignored", what: "scope, operations"));

        // Modes stay null unless written: the quantizer derives them from the preset and the target device.
        var weightsSection = s.Section("weights", what: "bits, mode, granularity, level_low, level_high");
        var activationsSection = s.Section("activations", what: "bits, mode, granularity, level_low, level_high, range_estimator");
        var weightsMode = weightsSection?.Enum("mode", Modes);
        var activationsMode = activationsSection?.Enum("mode", Modes);
        if (preset == QuantizationPreset.Accuracy && weightsMode is null && device != TargetDevice.Npu)
            s.Warn("preset", $"accuracy means mixed (symmetric weights, asymmetric activations) on target_device {device.ToString().ToUpperInvariant()}, " +
                             "as in POT. Set weights.mode: asymmetric for asymmetric weights.");

        var saturation = s.Enum("saturation_fix", SaturationFixes);

        var weights = BindWeights(weightsSection, weightsMode);
        var legacyRange = s.Section("range_estimator", what: "the activations' range estimator");
        var activations = BindActivations(activationsSection, activationsMode, ActivationsParams.IsSymmetric(activationsMode, preset), legacyRange, s);
        CheckTypes(s, weights, activations, saturation);

        double? threshold = s.Double("threshold", v => v > 0, "must be greater than 0 (POT's default is 2.0)");
        var equalization = s.Enum("equalization", Equalizations) ?? EqualizationScope.All;
        double? smoothQuantAlpha = s.Double("smooth_quant_alpha", v => v <= 1, "must be at most 1 (0 to 1 applies SmoothQuant with that alpha; a negative value turns it off)");
        if (s.Bool("apply_for_all_nodes") == true)
            s.Problem("apply_for_all_nodes", "true is not supported: PotPowerShell corrects the biases of layers that have a bias. Set it to false or remove it.");
        var paramDevice = s.Enum("target_device", PotConfigBinder.Devices, PotConfigBinder.RefusedDevices);
        if (paramDevice is not null && paramDevice != device)
            s.Warn("target_device", $"differs from compression.target_device ({device.ToString().ToUpperInvariant()}), which wins, as in POT.");
        bool biasCorrection = s.Bool("bias_correction") ?? true;
        int threads = s.Int("threads", min: 0, max: Runtime.OrtSessions.MaxThreads) ?? 0;
        var precision = s.Enum("precision", Precisions) ?? PrecisionMode.Fastest;
        // Deprecated: quantize_stem_convolutions (true) was the one case of all_int8 before the choice was measured.
        if (s.Bool("quantize_stem_convolutions") is { } stems)
        {
            s.Warn("quantize_stem_convolutions", stems
                ? "is deprecated: it now means precision: all_int8 (every layer INT8). Write precision: all_int8 instead."
                : "is deprecated and has no effect: layers that are faster in float stay float by default (precision: fastest). Remove it.");
            if (stems && !s.Has("precision")) precision = PrecisionMode.AllInt8;
        }
        int latencyBatch = s.Int("latency_batch_size", min: 1) ?? 1;
        bool skipNonFinite = s.Bool("skip_non_finite_values") ?? false;

        return seed with
        {
            Preset = preset,
            StatSubsetSize = statSubset,
            StatBatchSize = statBatch,
            ShuffleData = shuffle,
            Seed = seed_,
            UseFastBias = fastBias,
            BiasCorrection = biasCorrection,
            Threshold = threshold,
            Equalization = equalization,
            SmoothQuantAlpha = smoothQuantAlpha,
            Ignored = ignored,
            Weights = weights,
            Activations = activations,
            SaturationFix = saturation,
            Threads = threads,
            Precision = precision,
            LatencyBatchSize = latencyBatch,
            SkipNonFiniteValues = skipNonFinite,
        };
    }

    private static IgnoredScopeParams BindIgnored(ConfigSection? s)
    {
        if (s is null) return new IgnoredScopeParams();
        var scope = new List<string>();
        if (s.List("scope", what: "node names or /regular expressions/") is { } list)
        {
            for (int i = 0; i < list.Count; i++)
            {
                string path = ConfigKeyPath.Item(s.PathOf("scope"), i);
                if (list.Items[i] is not ConfigScalar { Kind: ScalarKind.String } item || item.Text.Length == 0)
                {
                    s.Context.Problem(path, list.Items[i], "must be a node name (text), or a regular expression written /like this/.");
                    continue;
                }
                if (item.Text.Length > 1 && item.Text.StartsWith('/') && item.Text.EndsWith('/'))
                {
                    try { _ = new Regex(item.Text[1..^1], RegexOptions.CultureInvariant); }
                    catch (ArgumentException e)
                    {
                        s.Context.Problem(path, item, $"is not a valid regular expression ({e.Message.TrimEnd('.')}).");
                        continue;
                    }
                }
                scope.Add(item.Text);
            }
        }
        var operations = new List<IgnoredOperationParams>();
        foreach (var op in s.Sections("operations", "{ type: Conv, attributes: { group: 1 } }"))
        {
            string? type = op.String("type", required: true, what: "an ONNX op type such as Conv or MatMul");
            var attributes = new List<IgnoredAttribute>();
            if (op.Section("attributes", what: "attribute names and values") is { } attrs)
            {
                foreach (var (name, value) in attrs.Map.Entries)
                {
                    attrs.Raw(name);
                    if (value is ConfigScalar { IsNull: false } v) attributes.Add(new IgnoredAttribute(name, v.Text));
                    else attrs.Problem(name, "must be a single value (POT does not match lists of values).");
                }
            }
            op.RejectUnknownKeys();
            if (type is not null) operations.Add(new IgnoredOperationParams(type, attributes.ToValueList()));
        }
        if (s.Bool("skip_model") == true)
            s.Problem("skip_model", "is for cascaded models, which PotPowerShell does not support. Remove it.");
        s.RejectUnknownKeys();
        return new IgnoredScopeParams { Scope = scope.ToValueList(), Operations = operations.ToValueList() };
    }

    private static WeightsParams BindWeights(ConfigSection? s, QuantizationMode? mode)
    {
        if (s is null) return new WeightsParams { Mode = mode };
        int? bits = s.Int("bits");
        if (bits is not null and not 8 and not 7)
        {
            s.Problem("bits", "must be 8 (or 7 for 7-bit weights that avoid kernel saturation); PotPowerShell emits INT8 models.");
            bits = null;
        }
        var granularity = s.Enum("granularity", Granularities) ?? Granularity.PerChannel;
        var (low, high) = Levels(s);
        if (low is not null && high is not null)
        {
            int? levelBits = (low, high) switch
            {
                (-127, 127) or (-128, 127) => 8,
                (-63, 63) or (-64, 63) => 7,
                _ => null,
            };
            if (levelBits is null)
            {
                s.Problem("level_low", "level_low/level_high must be -127/127 or -128/127 for 8-bit weights, -63/63 or -64/63 for 7-bit weights.");
                low = high = null;
            }
            else if (bits is not null && bits != levelBits)
                s.Problem("bits", $"says {bits} bits but level_low/level_high ({low}/{high}) are a {levelBits}-bit range; make them agree.");
            else bits = levelBits;
        }
        double? outlier = s.Section("range_estimator", what: "the weights' range estimator") is { } re ? RangeEstimatorBinder.BindWeights(re) : null;
        s.RejectUnknownKeys();
        return new WeightsParams { Bits = bits ?? 8, Mode = mode, Granularity = granularity, LevelLow = low, LevelHigh = high, OutlierProb = outlier };
    }

    private static ActivationsParams BindActivations(ConfigSection? s, QuantizationMode? mode, bool symmetric, ConfigSection? legacyRange, ConfigSection parameters)
    {
        var range = s?.Section("range_estimator", what: "preset, min, max");
        if (range is not null && legacyRange is not null)
        {
            parameters.Problem("range_estimator", "is given twice: here and in activations.range_estimator. Keep activations.range_estimator.");
            legacyRange = null;
        }
        var estimator = RangeEstimatorBinder.BindActivations(range ?? legacyRange, symmetric);
        if (s is null) return new ActivationsParams { Mode = mode, RangeEstimator = estimator };
        int? bits = s.Int("bits");
        if (bits is not null and not 8)
            s.Problem("bits", "must be 8: activations are quantized to 8 bits.");
        var granularity = s.Enum("granularity", Granularities) ?? Granularity.PerTensor;
        if (granularity == Granularity.PerChannel)
            s.Problem("granularity", "perchannel is not supported for activations (ONNX Runtime's QDQ kernels take one scale per activation tensor). Use pertensor.");
        var (low, high) = Levels(s);
        if (low is not null && high is not null && (low, high) is not ((0, 255) or (-128, 127) or (-127, 127)))
        {
            s.Problem("level_low", "level_low/level_high must be 0/255 (unsigned activations) or -128/127, -127/127 (signed activations).");
            low = high = null;
        }
        s.RejectUnknownKeys();
        return new ActivationsParams { Bits = 8, Mode = mode, Granularity = Granularity.PerTensor, LevelLow = low, LevelHigh = high, RangeEstimator = estimator };
    }

    private static (int?, int?) Levels(ConfigSection s)
    {
        bool hasLow = s.Has("level_low"), hasHigh = s.Has("level_high");
        int? low = s.Int("level_low", min: -255, max: 255);
        int? high = s.Int("level_high", min: -255, max: 255);
        if (hasLow != hasHigh)
        {
            s.Problem(hasLow ? "level_low" : "level_high", "level_low and level_high go together; give both or neither.");
            return (null, null);
        }
        return (low, high);
    }

    /// <summary>Signed activations (S8S8) and 7-bit weights (U8S7) are two different kernel choices: refuse asking for both.</summary>
    private static void CheckTypes(ConfigSection s, WeightsParams weights, ActivationsParams activations, SaturationFix? saturation)
    {
        if (activations.LevelLow is not < 0) return;
        if (weights.Bits == 7)
            s.Context.Problem(ConfigKeyPath.Child(s.PathOf("activations"), "level_low"), null,
                "signed activations (S8S8 kernels) can't be combined with 7-bit weights; drop one of them.");
        else if (saturation is SaturationFix.All or SaturationFix.FirstLayer)
            s.Context.Problem(ConfigKeyPath.Child(s.PathOf("activations"), "level_low"), null,
                "signed activations (S8S8 kernels) can't be combined with saturation_fix (7-bit weights); drop one of them.");
    }

    private static AccuracyAwareParams BindAccuracyAware(ConfigSection s, AccuracyAwareParams p)
    {
        int? rankingSubset = s.Int("ranking_subset_size", min: 1);
        int? maxIter = s.Int("max_iter_num", min: 0);
        double maximalDrop = s.Double("maximal_drop", v => v >= 0, "must be >= 0 (0.01 is a 1 % drop with drop_type absolute)") ?? 0.01;
        var dropType = s.Enum("drop_type", new[] { ("absolute", DropType.Absolute), ("relative", DropType.Relative) }) ?? DropType.Absolute;
        bool usePrev = s.Bool("use_prev_if_drop_increase") ?? true;
        string baseAlgorithm = AlgorithmNames.Default;
        if (s.String("base_algorithm", what: "DefaultQuantization") is { } b && !b.Equals(AlgorithmNames.Default, StringComparison.OrdinalIgnoreCase))
        {
            string? pot = UnsupportedPotAlgorithms.FirstOrDefault(a => a.Equals(b, StringComparison.OrdinalIgnoreCase));
            s.Problem("base_algorithm", pot is not null
                ? $"{pot} is not supported by PotPowerShell as a base algorithm; use DefaultQuantization."
                : "must be DefaultQuantization." + EditDistance.Hint(b, new[] { AlgorithmNames.Default }));
        }
        bool toMixed = s.Bool("convert_to_mixed_preset") ?? false;
        var metrics = BindMetrics(s);
        double ratio = s.Double("metric_subset_ratio", v => v > 0 && v <= 1, "must be greater than 0 and at most 1 (a fraction of the validation set)") ?? 0.5;
        bool tune = s.Bool("tune_hyperparams") ?? false;
        // annotation_free: the FP32 model's confident predictions are the labels (the fp32_agreement metric).
        bool annotationFree = s.Bool("annotation_free") ?? false;
        double confThreshold = s.Double("annotation_conf_threshold", v => v >= 0 && v <= 1, "must be between 0 and 1") ?? 0.6;
        if (s.Has("annotation_conf_threshold") && !annotationFree) s.Warn("annotation_conf_threshold", "has no effect without annotation_free: true (it is kept when the config is exported); remove it to silence this warning.");
        var ranking = s.Enum("ranking_method", new[] { ("metric", RankingMethod.Metric), ("output_error", RankingMethod.OutputError), ("signal", RankingMethod.Signal), ("auto", RankingMethod.Auto) }) ?? RankingMethod.Auto;
        int confirm = s.Int("confirm_top_layers", min: 1) ?? 5;
        bool backward = s.Bool("backward_pass") ?? true;
        int? maxEvaluations = s.Int("max_evaluations", min: 1);
        var timeLimit = TimeLimit(s);
        // Ours: the search state of an interrupted run (may not exist yet); relative to the config file's folder.
        string? checkpoint = PotConfigBinder.PathValue(s, "checkpoint_path", required: false, PotConfigBinder.PathKind.Unchecked, "a file path such as run.checkpoint");
        var restore = s.Enum("restore_mode", RestoreModes) ?? RestoreMode.ActivationsAndWeights;
        return p with
        {
            RankingSubsetSize = rankingSubset,
            MaxIterNum = maxIter,
            MaximalDrop = maximalDrop,
            DropType = dropType,
            UsePrevIfDropIncrease = usePrev,
            BaseAlgorithm = baseAlgorithm,
            ConvertToMixedPreset = toMixed,
            Metrics = metrics,
            MetricSubsetRatio = ratio,
            TuneHyperparams = tune,
            AnnotationFree = annotationFree,
            AnnotationConfThreshold = confThreshold,
            RankingMethod = ranking,
            ConfirmTopLayers = confirm,
            BackwardPass = backward,
            MaxEvaluations = maxEvaluations,
            TimeLimit = timeLimit,
            CheckpointPath = checkpoint,
            RestoreMode = restore,
        };
    }

    private static ValueList<MetricTarget> BindMetrics(ConfigSection s)
    {
        var metrics = new List<MetricTarget>();
        foreach (var m in s.Sections("metrics", "{ name: accuracy@top1, baseline_value: 0.99 }"))
        {
            // POT names a metric by name, or by its type (accuracy, character_recognition_accuracy ...).
            string? type = m.String("type", required: false, what: "the type of a metric of the engine");
            string? name = m.String("name", required: type is null, what: "the name of a metric of the engine");
            double? baseline = m.Double("baseline_value", _ => true, "must be a number");
            m.RejectUnknownKeys();
            name ??= type;
            if (name is null) continue;
            if (metrics.Any(x => x.Name == name))
                m.Problem(m.Has("name") ? "name" : "type", "is listed twice in metrics; keep one entry per metric.");
            else metrics.Add(new MetricTarget(name, baseline) { Type = type });
        }
        return metrics.ToValueList();
    }

    private static readonly Regex DurationPattern = new(@"^\s*(?<n>[0-9]+(\.[0-9]+)?)\s*(?<unit>ms|s|m|min|h|d)\s*$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);

    /// <summary>time_limit: seconds as a number, a duration like 90s / 30m / 2h / 1d, or hh:mm:ss.</summary>
    private static TimeSpan? TimeLimit(ConfigSection s)
    {
        const string Rule = "must be a duration greater than 0: seconds as a number (1800), a text like 90s, 30m, 2h, 1d, or hh:mm:ss (00:30:00)";
        var node = s.Raw("time_limit");
        if (node is null or ConfigScalar { IsNull: true }) return null;
        TimeSpan? value;
        try
        {
            value = Duration(node);
        }
        catch (OverflowException)
        {
            s.Problem("time_limit", Rule + $", and at most {TimeSpan.MaxValue.Days} days.");
            return null;
        }
        if (value is null || value <= TimeSpan.Zero)
        {
            s.Problem("time_limit", Rule + ".");
            return null;
        }
        return value;
    }

    /// <summary>The duration a time_limit value writes; throws OverflowException beyond TimeSpan's range.</summary>
    private static TimeSpan? Duration(ConfigNode node)
    {
        TimeSpan? value = null;
        if (node is ConfigScalar { IsNumber: true } n)
        {
            double seconds = n.AsDouble();
            if (seconds > 0) value = TimeSpan.FromSeconds(seconds);
        }
        else if (node is ConfigScalar { Kind: ScalarKind.String } t)
        {
            var m = DurationPattern.Match(t.Text);
            if (m.Success)
            {
                double x = double.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture);
                value = m.Groups["unit"].Value.ToLowerInvariant() switch
                {
                    "ms" => TimeSpan.FromMilliseconds(x),
                    "s" => TimeSpan.FromSeconds(x),
                    "m" or "min" => TimeSpan.FromMinutes(x),
                    "h" => TimeSpan.FromHours(x),
                    _ => TimeSpan.FromDays(x),
                };
            }
            else if (TimeSpan.TryParseExact(t.Text.Trim(), "c", CultureInfo.InvariantCulture, out var ts)) value = ts;
        }
        return value;
    }
}
