using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Config;

public class ConfigLoaderTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Config", "Fixtures", name);

    [Fact]
    public void Seed_template_loads_with_POT_defaults_for_every_key()
    {
        using var folder = new ConfigTestFolder();
        string path = folder.Write("aaq_template.json", File.ReadAllText(Fixture("aaq_template.json")));
        var c = PotConfigLoader.Load(path);

        Assert.Equal(path, c.Path);
        Assert.Equal("model_name", c.Model.ModelName);
        Assert.Equal(folder.File("model.onnx"), c.Model.ModelPath);
        Assert.Equal(folder.File("model.bin"), c.Model.WeightsPath);
        Assert.Contains(c.Warnings, w => w.StartsWith("model.weights:", StringComparison.Ordinal));
        Assert.Equal(EngineKind.File, c.Engine.Kind);
        Assert.Equal(folder.File("engine.yml"), c.Engine.ConfigPath);
        Assert.Null(c.Engine.StatRequestsNumber);
        Assert.Null(c.Engine.EvalRequestsNumber);
        Assert.Equal(TargetDevice.Any, c.Compression.TargetDevice);
        Assert.Null(c.Compression.ModelType);
        Assert.True(c.Compression.InplaceStatistics);
        Assert.False(c.Compression.DumpIntermediateModel);

        var algorithm = Assert.Single(c.Compression.Algorithms);
        Assert.Equal("AccuracyAwareQuantization", algorithm.Name);
        var p = Assert.IsType<AccuracyAwareParams>(algorithm.Params);
        // Written in the template.
        Assert.Equal(QuantizationPreset.Performance, p.Preset);
        Assert.Equal(300, p.StatSubsetSize);
        Assert.Equal(0.01, p.MaximalDrop);
        Assert.False(p.TuneHyperparams);
        // POT's defaults for every other AccuracyAwareQuantization key (AccuracyAwareCommon.__init__).
        Assert.Null(p.RankingSubsetSize);            // min(len(data), 300)
        Assert.Null(p.MaxIterNum);                   // sys.maxsize
        Assert.Equal(DropType.Absolute, p.DropType);
        Assert.True(p.UsePrevIfDropIncrease);
        Assert.Equal("DefaultQuantization", p.BaseAlgorithm);
        Assert.False(p.ConvertToMixedPreset);
        Assert.Empty(p.Metrics);                     // all metrics of the engine
        Assert.Equal(0.5, p.MetricSubsetRatio);
        Assert.False(p.AnnotationFree);
        Assert.Equal(0.6, p.AnnotationConfThreshold);
        // Ours.
        Assert.Equal(RankingMethod.Auto, p.RankingMethod);
        Assert.Equal(5, p.ConfirmTopLayers);
        Assert.True(p.BackwardPass);
        Assert.Null(p.MaxEvaluations);
        Assert.Null(p.TimeLimit);
        // DefaultQuantization's defaults underneath.
        Assert.Equal(1, p.StatBatchSize);
        Assert.False(p.ShuffleData);
        Assert.Equal(0, p.Seed);
        Assert.True(p.UseFastBias);
        Assert.Null(p.Threshold);                   // POT's 2.0, verified by the self-check (ours); a config's threshold is used as is
        Assert.Equal(EqualizationScope.All, p.Equalization); // ours
        Assert.Empty(p.Ignored.Scope);
        Assert.Empty(p.Ignored.Operations);
        Assert.Equal(new WeightsParams { Bits = 8, Mode = null, Granularity = Granularity.PerChannel }, p.Weights);
        Assert.Null(p.Activations.Mode);                 // from the preset
        Assert.Equal(Granularity.PerTensor, p.Activations.Granularity);
        Assert.Equal(RangeEstimatorKind.Auto, p.Activations.RangeEstimator.Kind);
        Assert.Null(p.SaturationFix);
        Assert.Equal(QuantizationTypes.Auto, p.Types);
    }

    [Fact]
    public void Json_comments_and_trailing_commas_are_accepted()
    {
        using var folder = new ConfigTestFolder();
        string text = """
            // line comment before everything
            {
                /* block
                   comment */
                "model": { "model": "model.onnx", /* inline */ }, // trailing comma above
                "engine": { "config": "engine.yml", },
                "compression": {
                    "algorithms": [ { "name": "DefaultQuantization", "params": { "preset": "mixed", }, }, ],
                },
            }
            """;
        var c = PotConfigLoader.Load(folder.Write("c.json", text));
        Assert.Equal(QuantizationPreset.Mixed, c.Compression.Algorithms[0].Params.Preset);
        Assert.Equal("model", c.Model.ModelName);   // POT: the model file's stem when model_name is left out
        Assert.Empty(c.Warnings);
    }

    [Fact]
    public void Yaml_types_scalars_by_the_core_schema()
    {
        using var folder = new ConfigTestFolder();
        string text = """
            model: { model_name: 2024, model: model.onnx }
            engine: { config: engine.yml }
            compression:
              algorithms:
                - name: AccuracyAwareQuantization
                  params:
                    stat_subset_size: 0x20
                    maximal_drop: 1e-3
                    metrics:
                      - name: "true"
                        baseline_value: 99
                    time_limit: 90m
            """;
        var c = PotConfigLoader.Load(folder.Write("c.yaml", text));
        var p = (AccuracyAwareParams)c.Compression.Algorithms[0].Params;
        Assert.Equal("2024", c.Model.ModelName);
        Assert.Equal(32, p.StatSubsetSize);
        Assert.Equal(0.001, p.MaximalDrop);
        Assert.Equal(new MetricTarget("true", 99), Assert.Single(p.Metrics));
        Assert.Equal(TimeSpan.FromMinutes(90), p.TimeLimit);
    }

    [Fact]
    public void Checkpoint_path_is_relative_to_the_config_folder_and_reaches_the_options()
    {
        using var folder = new ConfigTestFolder();
        string text = """
            model: { model: model.onnx }
            engine: { config: engine.yml }
            compression:
              algorithms:
                - name: AccuracyAwareQuantization
                  params:
                    checkpoint_path: runs/aaq.checkpoint
            """;
        var c = PotConfigLoader.Load(folder.Write("c.yml", text));
        Assert.Equal(folder.File(Path.Combine("runs", "aaq.checkpoint")), c.ToAccuracyAwareOptions().CheckpointPath);
        Assert.Empty(c.Warnings);
    }

    [Fact]
    public void Yaml_anchors_and_merge_keys_work()
    {
        using var folder = new ConfigTestFolder();
        string text = """
            model: { model: model.onnx }
            engine: { config: engine.yml }
            compression:
              algorithms:
                - name: DefaultQuantization
                  params: &common
                    preset: mixed
                    stat_subset_size: 100
                - name: AccuracyAwareQuantization
                  params:
                    <<: *common
                    stat_subset_size: 50
            """;
        var c = PotConfigLoader.Load(folder.Write("c.yml", text));
        Assert.Equal(QuantizationPreset.Mixed, c.Compression.Algorithms[1].Params.Preset);
        Assert.Equal(50, c.Compression.Algorithms[1].Params.StatSubsetSize);
        Assert.Equal(100, c.Compression.Algorithms[0].Params.StatSubsetSize);
    }

    [Fact]
    public void Environment_variables_expand_in_paths()
    {
        using var folder = new ConfigTestFolder();
        Directory.CreateDirectory(folder.File("sub"));
        File.WriteAllText(folder.File("sub/net.onnx"), "x");
        Environment.SetEnvironmentVariable("POT_TEST_DIR", folder.Path);
        Environment.SetEnvironmentVariable("POT_TEST_SUB", "sub");
        try
        {
            string text = ConfigTestFolder.Json("[ { \"name\": \"DefaultQuantization\" } ]",
                engine: "{ \"type\": \"simplified\", \"data_source\": \"%POT_TEST_DIR%/data\" }",
                model: "{ \"model\": \"${POT_TEST_DIR}/$POT_TEST_SUB/net.onnx\" }");
            // The config lives elsewhere: the paths are absolute after expansion.
            using var other = new ConfigTestFolder();
            var c = PotConfigLoader.Load(other.Write("c.json", text));
            Assert.Equal(folder.File("sub/net.onnx"), c.Model.ModelPath);
            Assert.Equal("net", c.Model.ModelName);
            Assert.Equal(EngineKind.Simplified, c.Engine.Kind);
            Assert.Equal(folder.File("data"), c.Engine.DataSource);
        }
        finally
        {
            Environment.SetEnvironmentVariable("POT_TEST_DIR", null);
            Environment.SetEnvironmentVariable("POT_TEST_SUB", null);
        }
    }

    [Fact]
    public void Dollar_dollar_is_a_literal_dollar()
    {
        Assert.Equal("a$b", ConfigPaths.ExpandVariables("a$$b"));
        var missing = new List<string>();
        Assert.Equal("x/$POT_NOPE_X/y", ConfigPaths.ExpandVariables("x/$POT_NOPE_X/y", missing));
        Assert.Equal(new[] { "POT_NOPE_X" }, missing);
    }

    [Fact]
    public void A_simplified_engine_keeps_POT_s_image_loader_layout_and_central_fraction_through_export()
    {
        using var folder = new ConfigTestFolder();
        var c = PotConfigLoader.Load(folder.Write("c.json", ConfigTestFolder.Json("[ { \"name\": \"DefaultQuantization\" } ]",
            engine: "{ \"type\": \"simplified\", \"data_source\": \"data\", \"layout\": \"nhwc\", \"central_fraction\": 0.875 }")));
        Assert.Equal("NHWC", c.Engine.Layout);
        Assert.Equal(0.875, c.Engine.CentralFraction);
        var again = PotConfigLoader.Load(folder.Write("again.yml", PotConfigWriter.ToText(c, ConfigFormat.Yaml, folder.Path)));
        Assert.Equal(c.Engine, again.Engine);

        foreach (var (engine, key) in new[] { ("\"layout\": \"CHW\"", "engine.layout"), ("\"central_fraction\": 0", "engine.central_fraction"), ("\"central_fraction\": 1.25", "engine.central_fraction") })
        {
            var e = Assert.Throws<PotException>(() => PotConfigLoader.Load(folder.Write("bad.json", ConfigTestFolder.Json("[ { \"name\": \"DefaultQuantization\" } ]",
                engine: $"{{ \"type\": \"simplified\", \"data_source\": \"data\", {engine} }}"))));
            Assert.Contains(key, e.Message);
        }
    }

    [Fact]
    public void A_leading_tilde_is_the_home_folder_and_an_error_for_an_account_without_one()
    {
        string home = Path.GetTempPath();
        Assert.Equal(Path.GetFullPath(Path.Combine(home, "data")), ConfigPaths.Resolve("~/data", "/elsewhere", null, () => home));
        // A service account's: '~/data' must not become '/data', a folder at the root.
        var e = Assert.Throws<ArgumentException>(() => ConfigPaths.Resolve("~/data", home, null, () => ""));
        Assert.Contains("stands for the home folder, and this account has none", e.Message);
        Assert.Equal(Path.GetFullPath("x~/data", home), ConfigPaths.Resolve("x~/data", home, null, () => ""));
    }

    [Fact]
    public void Relative_paths_resolve_against_the_config_folder_not_the_current_one()
    {
        using var folder = new ConfigTestFolder();
        Directory.CreateDirectory(folder.File("configs/deep"));
        File.WriteAllText(folder.File("configs/engine2.yml"), "");
        string text = ConfigTestFolder.Json("[ { \"name\": \"DefaultQuantization\" } ]",
            engine: "{ \"config\": \"../engine2.yml\" }", model: "{ \"model\": \"../../model.onnx\" }");
        var c = PotConfigLoader.Load(folder.Write("configs/deep/c.json", text));
        Assert.Equal(folder.File("model.onnx"), c.Model.ModelPath);
        Assert.Equal(folder.File("configs/engine2.yml"), c.Engine.ConfigPath);
        Assert.Equal(folder.File("configs/deep"), c.Directory);
    }

    [Fact]
    public void Simplified_engine_accepts_a_file_name_pattern()
    {
        using var folder = new ConfigTestFolder();
        string text = ConfigTestFolder.Json("[ { \"name\": \"DefaultQuantization\" } ]", engine: "{ \"type\": \"simplified\", \"data_source\": \"data/*.npy\" }");
        var c = PotConfigLoader.Load(folder.Write("c.json", text));
        Assert.Equal(Path.Combine(folder.File("data"), "*.npy"), c.Engine.DataSource);
    }

    [Fact]
    public void Inline_engine_is_kept_as_a_tree()
    {
        using var folder = new ConfigTestFolder();
        string text = """
            model: { model: model.onnx }
            engine:
              stat_requests_number: 4
              datasets:
                - name: digits
                  data_source: data
              metrics: [ { name: top1, type: accuracy } ]
            compression: { algorithms: [ { name: DefaultQuantization } ] }
            """;
        var c = PotConfigLoader.Load(folder.Write("c.yml", text));
        Assert.Equal(EngineKind.Inline, c.Engine.Kind);
        Assert.Equal("engine", c.Engine.InlineKeyPath);
        Assert.Equal(4, c.Engine.StatRequestsNumber);
        Assert.Equal(new[] { "datasets", "metrics" }, c.Engine.Inline!.Keys);
        var dataset = (ConfigMap)((ConfigList)c.Engine.Inline["datasets"]!).Items[0];
        Assert.Equal(ConfigScalar.From("data"), dataset["data_source"]);
        Assert.Equal(5, dataset.Line);
        // The engine reads these nodes as they are (EngineTree): no conversion to another shape.
        Assert.Equal(ConfigScalar.From("top1"), ((ConfigMap)((ConfigList)c.Engine.Inline["metrics"]!).Items[0])["name"]);
        var scalars = ((ConfigList)PotConfigLoader.Load(folder.Write("p.yml", text.Replace("metrics: [ { name: top1, type: accuracy } ]", "metrics: [ 3, 0.5, true, ~, x ]"))).Engine.Inline!["metrics"]!).Items;
        Assert.Equal(new[] { ScalarKind.Integer, ScalarKind.Float, ScalarKind.Boolean, ScalarKind.Null, ScalarKind.String }, scalars.Select(n => ((ConfigScalar)n).Kind));
        Assert.Equal(new[] { "3", "0.5", "true", "~", "x" }, scalars.Select(n => ((ConfigScalar)n).Written));
    }

    [Fact]
    public void Preset_aliases_follow_POT_and_modes_stay_with_the_preset_unless_written()
    {
        using var folder = new ConfigTestFolder();
        PotConfig Load(string p, string device = "ANY") => PotConfigLoader.Load(folder.Write("c.json",
            ConfigTestFolder.JsonParams("DefaultQuantization", p).Replace("\"algorithms\"", $"\"target_device\": \"{device}\", \"algorithms\"")));

        Assert.Equal(QuantizationPreset.Performance, Load("{ \"preset\": \"symmetric\" }").Compression.Algorithms[0].Params.Preset);
        var acc = Load("{ \"preset\": \"asymmetric\" }");
        var p = acc.Compression.Algorithms[0].Params;
        Assert.Equal(QuantizationPreset.Accuracy, p.Preset);
        Assert.Equal((null, null), (p.Weights.Mode, p.Activations.Mode));
        var o = acc.ToDefaultQuantizationOptions();
        Assert.Equal((QuantizationPreset.Accuracy, (bool?)null, (bool?)null), (o.Preset, o.SymmetricWeights, o.SymmetricActivations));
        // accuracy is mixed on ANY/CPU/GPU (POT's presets_aliases_by_device): say so, but not on NPU where it stays accuracy.
        Assert.Contains(acc.Warnings, w => w.Contains("accuracy means mixed"));
        Assert.DoesNotContain(Load("{ \"preset\": \"accuracy\" }", "NPU").Warnings, w => w.Contains("accuracy means mixed"));
        var written = Load("{ \"preset\": \"accuracy\", \"weights\": { \"mode\": \"asymmetric\" }, \"activations\": { \"mode\": \"symmetric\" } }");
        Assert.Empty(written.Warnings);
        var wo = written.ToDefaultQuantizationOptions();
        Assert.Equal((false, true), (wo.SymmetricWeights, wo.SymmetricActivations));
    }

    [Theory]
    [InlineData("{ }", null)]
    [InlineData("{ \"preset\": \"default\" }", null)]
    [InlineData("{ \"preset\": \"quantile\" }", 0.0001)]
    [InlineData("{ \"max\": { \"type\": \"abs_quantile\", \"outlier_prob\": 0.001 } }", 0.001)]
    [InlineData("{ \"min\": { \"type\": \"quantile\", \"outlier_prob\": 0.01 }, \"max\": { \"type\": \"quantile\", \"outlier_prob\": 0.01 } }", 0.01)]
    [InlineData("{ \"max\": { \"type\": \"abs_max\" } }", null)]
    public void Weight_range_estimators_are_min_max_or_quantiles(string estimator, double? outlier)
    {
        using var folder = new ConfigTestFolder();
        var c = PotConfigLoader.Load(folder.Write("c.json", ConfigTestFolder.JsonParams("DefaultQuantization",
            $"{{ \"weights\": {{ \"range_estimator\": {estimator} }} }}")));
        Assert.Equal(outlier, c.ToDefaultQuantizationOptions().WeightOutlierProbability);
        Assert.Empty(c.Warnings);
    }

    [Theory]
    [InlineData("{ }", RangeEstimatorKind.MeanMinMax)]
    [InlineData("{ \"preset\": \"default\" }", RangeEstimatorKind.MeanMinMax)]
    [InlineData("{ \"preset\": \"default\", \"max\": { \"aggregator\": \"max\" } }", RangeEstimatorKind.MinMax)]
    [InlineData("{ \"preset\": \"quantile\" }", RangeEstimatorKind.AbsQuantile)]
    [InlineData("{ \"max\": { \"type\": \"abs_max\", \"aggregator\": \"max\" } }", RangeEstimatorKind.MinMax)]
    [InlineData("{ \"max\": { \"type\": \"quantile\", \"outlier_prob\": 0.001 } }", RangeEstimatorKind.Quantile)]
    [InlineData("{ \"preset\": \"percentile\", \"percentile\": 99.9 }", RangeEstimatorKind.Percentile)]
    [InlineData("{ \"preset\": \"entropy\", \"histogram_bins\": 512 }", RangeEstimatorKind.Entropy)]
    [InlineData("{ \"preset\": \"auto\" }", RangeEstimatorKind.Auto)]
    [InlineData("{ \"max\": { \"type\": \"abs_max\", \"aggregator\": \"median\" } }", RangeEstimatorKind.MedianMinMax)]
    [InlineData("{ \"max\": { \"aggregator\": \"mean_no_outliers\" } }", RangeEstimatorKind.MeanMinMaxNoOutliers)]
    [InlineData("{ \"max\": { \"aggregator\": \"median_no_outliers\" } }", RangeEstimatorKind.MedianMinMaxNoOutliers)]
    [InlineData("{ \"max\": { \"type\": \"max\", \"aggregator\": \"hl_estimator\" } }", RangeEstimatorKind.HodgesLehmannMinMax)]
    public void Symmetric_activation_range_estimators_map_onto_ours(string estimator, RangeEstimatorKind kind)
    {
        using var folder = new ConfigTestFolder();
        var p = PotConfigLoader.Load(folder.Write("c.json", ConfigTestFolder.JsonParams("DefaultQuantization",
            $"{{ \"activations\": {{ \"range_estimator\": {estimator} }} }}"))).Compression.Algorithms[0].Params;
        Assert.Equal(kind, p.Activations.RangeEstimator.Kind);
    }

    [Fact]
    public void Asymmetric_range_estimator_carries_its_parameters()
    {
        using var folder = new ConfigTestFolder();
        string Params(string re) => $"{{ \"preset\": \"mixed\", \"activations\": {{ \"range_estimator\": {re} }} }}";
        RangeEstimatorOptions Load(string re) => PotConfigLoader.Load(folder.Write("c.json", ConfigTestFolder.JsonParams("DefaultQuantization", Params(re))))
            .Compression.Algorithms[0].Params.Activations.RangeEstimator;

        // POT's spec example (both ends quantile, mean aggregator, outlier_prob 1e-4).
        var spec = Load("{ \"min\": { \"type\": \"quantile\", \"aggregator\": \"mean\", \"outlier_prob\": 0.0001 }, \"max\": { \"type\": \"quantile\", \"aggregator\": \"mean\", \"outlier_prob\": 0.0001 } }");
        Assert.Equal(new RangeEstimatorOptions { Kind = RangeEstimatorKind.Quantile, OutlierProbability = 1e-4 }, spec);
        Assert.Equal(RangeEstimatorKind.Quantile, Load("{ \"preset\": \"quantile\" }").Kind);
        Assert.Equal(RangeEstimatorKind.MinMax, Load("{ \"min\": { \"aggregator\": \"min\" }, \"max\": { \"aggregator\": \"max\" } }").Kind);
        Assert.Equal(0.002, Load("{ \"max\": { \"type\": \"abs_quantile\", \"outlier_prob\": 0.002 } }").OutlierProbability);
        Assert.Equal(new RangeEstimatorOptions { Kind = RangeEstimatorKind.Percentile, Percentile = 99.5, HistogramBins = 1024 },
            Load("{ \"preset\": \"percentile\", \"percentile\": 99.5, \"histogram_bins\": 1024 }"));

        var e = Assert.Throws<PotException>(() => Load("{ \"min\": { \"type\": \"min\" }, \"max\": { \"type\": \"quantile\" } }"));
        Assert.Contains("compression.algorithms[0].params.activations.range_estimator.max", e.GetConfigProblems().Select(p => p.KeyPath));
    }

    [Fact]
    public void Kernel_types_follow_saturation_fix_bits_and_levels()
    {
        using var folder = new ConfigTestFolder();
        (QuantizationTypes, PotConfig) Load(string p)
        {
            var c = PotConfigLoader.Load(folder.Write("c.json", ConfigTestFolder.JsonParams("DefaultQuantization", p)));
            return (c.Compression.Algorithms[0].Params.Types, c);
        }
        Assert.Equal(QuantizationTypes.Auto, Load("{ }").Item1);
        Assert.Equal(QuantizationTypes.U8S8, Load("{ \"saturation_fix\": \"no\" }").Item1);
        Assert.Equal(QuantizationTypes.U8S7, Load("{ \"saturation_fix\": \"all\" }").Item1);
        // first_layer: 8-bit weights, but 7-bit in the first layers.
        var (firstLayer, c) = Load("{ \"saturation_fix\": \"first_layer\" }");
        Assert.Equal(QuantizationTypes.U8S8, firstLayer);
        Assert.Empty(c.Warnings);
        Assert.True(c.ToDefaultQuantizationOptions().FixFirstLayerSaturation);
        Assert.False(Load("{ \"saturation_fix\": \"no\" }").Item2.ToDefaultQuantizationOptions().FixFirstLayerSaturation);
        // 7-bit weights everywhere leave nothing to fix.
        var sevenBits = Load("{ \"saturation_fix\": \"first_layer\", \"weights\": { \"bits\": 7 } }");
        Assert.Equal(QuantizationTypes.U8S7, sevenBits.Item1);
        Assert.False(sevenBits.Item2.ToDefaultQuantizationOptions().FixFirstLayerSaturation);
        Assert.Equal(QuantizationTypes.U8S7, Load("{ \"weights\": { \"bits\": 7 } }").Item1);
        Assert.Equal(QuantizationTypes.U8S7, Load("{ \"weights\": { \"level_low\": -63, \"level_high\": 63 } }").Item1);
        Assert.Equal(7, Load("{ \"weights\": { \"level_low\": -64, \"level_high\": 63 } }").Item2.Compression.Algorithms[0].Params.Weights.Bits);
        Assert.Equal(QuantizationTypes.S8S8, Load("{ \"activations\": { \"level_low\": -128, \"level_high\": 127 } }").Item1);
        Assert.Equal(QuantizationTypes.Auto, Load("{ \"weights\": { \"level_low\": -127, \"level_high\": 127 } }").Item1);

        var e = Assert.Throws<PotException>(() => Load("{ \"saturation_fix\": \"all\", \"activations\": { \"level_low\": -128, \"level_high\": 127 } }"));
        Assert.Equal("compression.algorithms[0].params.activations.level_low", Assert.Single(e.GetConfigProblems()).KeyPath);
        e = Assert.Throws<PotException>(() => Load("{ \"weights\": { \"bits\": 8, \"level_low\": -63, \"level_high\": 63 } }"));
        Assert.Equal("compression.algorithms[0].params.weights.bits", Assert.Single(e.GetConfigProblems()).KeyPath);
    }

    [Fact]
    public void Accepted_but_inert_keys_warn_with_their_key_path()
    {
        using var folder = new ConfigTestFolder();
        string text = ConfigTestFolder.JsonParams("DefaultQuantization", "{ \"target_device\": \"CPU\", \"loss\": \"mse\", \"use_layerwise_tuning\": false }")
            .Replace("\"algorithms\"", "\"inplace_statistics\": false, \"algorithms\"");
        var c = PotConfigLoader.Load(folder.Write("c.json", text));
        Assert.Contains(c.Warnings, w => w.StartsWith("compression.algorithms[0].params.target_device:", StringComparison.Ordinal));
        Assert.Contains(c.Warnings, w => w.StartsWith("compression.algorithms[0].params.loss:", StringComparison.Ordinal));
        Assert.Contains(c.Warnings, w => w.StartsWith("compression.inplace_statistics:", StringComparison.Ordinal));
        Assert.False(c.Compression.InplaceStatistics);
    }

    [Fact]
    public void Time_limit_accepts_seconds_units_and_clock_format()
    {
        using var folder = new ConfigTestFolder();
        TimeSpan? Load(string v) => ((AccuracyAwareParams)PotConfigLoader.Load(folder.Write("c.json",
            ConfigTestFolder.JsonParams("AccuracyAwareQuantization", $"{{ \"time_limit\": {v} }}"))).Compression.Algorithms[0].Params).TimeLimit;
        Assert.Equal(TimeSpan.FromSeconds(1800), Load("1800"));
        Assert.Equal(TimeSpan.FromSeconds(90), Load("\"90s\""));
        Assert.Equal(TimeSpan.FromHours(2), Load("\"2h\""));
        Assert.Equal(TimeSpan.FromMinutes(30), Load("\"00:30:00\""));
        Assert.Null(Load("null"));
        Assert.Throws<PotException>(() => Load("0"));
    }

    [Fact]
    public void Ignored_scope_keeps_names_patterns_and_attribute_filters()
    {
        using var folder = new ConfigTestFolder();
        string text = """
            model: { model: model.onnx }
            engine: { config: engine.yml }
            compression:
              algorithms:
                - name: DefaultQuantization
                  params:
                    ignored:
                      scope: [ conv1, "/^head\\./" ]
                      operations:
                        - type: Conv
                          attributes: { group: 32 }
                        - type: MatMul
            """;
        var p = PotConfigLoader.Load(folder.Write("c.yml", text)).Compression.Algorithms[0].Params;
        Assert.Equal(new[] { "conv1", "/^head\\./" }, p.Ignored.Scope);
        Assert.Equal(new IgnoredOperationParams("Conv", ValueList.Of(new IgnoredAttribute("group", "32"))), p.Ignored.Operations[0]);
        Assert.Empty(p.Ignored.Operations[1].Attributes);
    }

    [Theory]
    [InlineData("c.json")]
    [InlineData("c.yml")]
    public void Windows_files_with_BOM_and_CRLF_read_with_right_line_numbers(string name)
    {
        using var folder = new ConfigTestFolder();
        string text = name.EndsWith(".json", StringComparison.Ordinal)
            ? "{\r\n  \"model\": { \"model\": \"model.onnx\" },\r\n  \"engine\": { \"config\": \"engine.yml\" },\r\n  \"compression\": { \"algorithms\": [ { \"name\": \"DefaultQuantization\",\r\n    \"params\": { \"seed\": -1 } } ] }\r\n}\r\n"
            : "model: { model: model.onnx }\r\nengine: { config: engine.yml }\r\ncompression:\r\n  algorithms:\r\n    - name: DefaultQuantization\r\n      params: { seed: -1 }\r\n";
        string path = folder.File(name);
        File.WriteAllText(path, text, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        var e = Assert.Throws<PotException>(() => PotConfigLoader.Load(path));
        var problem = Assert.Single(e.GetConfigProblems());
        Assert.Equal("compression.algorithms[0].params.seed", problem.KeyPath);
        Assert.Equal(name.EndsWith(".json", StringComparison.Ordinal) ? 5 : 6, problem.Line);
        Assert.Equal("model", PotConfigLoader.Load(folder.Write("ok" + Path.GetExtension(name), text.Replace("-1", "1"))).Model.ModelName);
    }
}
