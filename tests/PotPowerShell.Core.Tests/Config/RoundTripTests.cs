using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Tests.Config;

public class RoundTripTests
{
    /// <summary>Every section with non-default values, both algorithms, YAML-only constructs avoided so it reads as JSON too.</summary>
    internal const string Rich = """
        {
          "model": { "model_name": "digits", "model": "model.onnx", "weights": "model.bin" },
          "engine": { "config": "engine.yml", "stat_requests_number": 2, "eval_requests_number": 3 },
          "compression": {
            "target_device": "CPU",
            "model_type": "transformer",
            "inplace_statistics": false,
            "dump_intermediate_model": true,
            "algorithms": [
              { "name": "DefaultQuantization",
                "params": { "preset": "mixed", "stat_subset_size": 128, "stat_batch_size": 4, "shuffle_data": true, "seed": 7,
                            "use_fast_bias": false, "threshold": 1.5, "bias_correction": false, "threads": 2, "saturation_fix": "no",
                            "precision": "all_int8", "latency_batch_size": 4, "smooth_quant_alpha": 0.8,
                            "ignored": { "scope": [ "conv1", "/^head/" ], "operations": [ { "type": "Conv", "attributes": { "group": 2, "kernel": "3x3" } }, { "type": "Gemm" } ] },
                            "weights": { "mode": "asymmetric", "granularity": "pertensor", "level_low": -128, "level_high": 127,
                                         "range_estimator": { "preset": "quantile", "max": { "outlier_prob": 0.001 } } },
                            "activations": { "range_estimator": { "min": { "type": "quantile", "outlier_prob": 0.001 }, "max": { "type": "quantile", "outlier_prob": 0.001 } } } } },
              { "name": "AccuracyAwareQuantization",
                "params": { "preset": "performance", "ranking_subset_size": 150, "max_iter_num": 20, "maximal_drop": 0.005, "drop_type": "relative",
                            "use_prev_if_drop_increase": false, "convert_to_mixed_preset": true,
                            "metrics": [ { "name": "accuracy@top1", "baseline_value": 0.99 }, { "name": "mse" } ],
                            "metric_subset_ratio": 0.25, "tune_hyperparams": true, "annotation_free": false, "annotation_conf_threshold": 0.75,
                            "ranking_method": "output_error", "confirm_top_layers": 3, "backward_pass": false, "max_evaluations": 40, "time_limit": "1h",
                            "weights": { "bits": 7 },
                            "activations": { "level_low": 0, "level_high": 255, "range_estimator": { "preset": "percentile", "percentile": 99.99, "histogram_bins": 4096 } } } }
            ]
          }
        }
        """;

    [Theory]
    [InlineData("json", "json")]
    [InlineData("json", "yml")]
    [InlineData("yml", "json")]
    [InlineData("yml", "yaml")]
    public void Export_then_import_gives_an_equal_config(string fromExt, string toExt)
    {
        using var folder = new ConfigTestFolder();
        var original = PotConfigLoader.Load(folder.Write("rich.json", Rich));
        // Through the first format, then into the second: both writers and both readers take part.
        var first = PotConfigLoader.Load(PotConfigWriter.Save(original, folder.File("a." + fromExt)).Config.Path);
        Assert.Equal(original, first);
        var export = PotConfigWriter.Save(first, folder.File("out/b." + toExt));
        var back = PotConfigLoader.Load(folder.File("out/b." + toExt));
        Assert.Equal(first, back);
        Assert.Equal(original.GetHashCode(), back.GetHashCode());
        Assert.Equal(folder.File("out/b." + toExt), export.Config.Path);
        Assert.Equal(export.Config, back);
        Assert.NotEqual(original.Path, back.Path);   // equality ignores where a config came from
    }

    [Theory]
    [InlineData(ConfigFormat.Json)]
    [InlineData(ConfigFormat.Yaml)]
    public void Export_is_deterministic_and_idempotent(ConfigFormat format)
    {
        using var folder = new ConfigTestFolder();
        var c = PotConfigLoader.Load(folder.Write("rich.json", Rich));
        string ext = format == ConfigFormat.Json ? ".json" : ".yml";
        string text1 = PotConfigWriter.ToText(c, format, folder.Path);
        PotConfigWriter.Save(c, folder.File("one" + ext));
        string text2 = PotConfigWriter.ToText(PotConfigLoader.Load(folder.File("one" + ext)), format, folder.Path);
        Assert.Equal(text1, text2);
        Assert.Equal(text1, File.ReadAllText(folder.File("one" + ext)));
    }

    [Fact]
    public void Paths_inside_the_new_folder_are_relative_others_absolute()
    {
        using var folder = new ConfigTestFolder();
        var c = PotConfigLoader.Load(folder.Write("rich.json", Rich));
        var here = PotConfigWriter.ToTree(c, folder.Path);
        Assert.Equal(ConfigScalar.From("model.onnx"), ((ConfigMap)here["model"]!)["model"]);
        using var elsewhere = new ConfigTestFolder();
        var there = PotConfigWriter.ToTree(c, elsewhere.Path);
        Assert.Equal(ConfigScalar.From(folder.File("model.onnx")), ((ConfigMap)there["model"]!)["model"]);
        var parent = PotConfigWriter.ToTree(c, Path.GetDirectoryName(folder.Path)!);
        Assert.Equal(ConfigScalar.From(Path.GetFileName(folder.Path) + "/model.onnx"), ((ConfigMap)parent["model"]!)["model"]);
    }

    [Fact]
    public void Paths_with_a_dollar_survive_the_round_trip()
    {
        using var folder = new ConfigTestFolder();
        Directory.CreateDirectory(folder.File("a$b"));
        File.WriteAllText(folder.File("a$b/m.onnx"), "x");
        var c = PotConfigLoader.Load(folder.Write("c.json", ConfigTestFolder.Json("[ { \"name\": \"DefaultQuantization\" } ]", model: "{ \"model\": \"a$$b/m.onnx\" }")));
        Assert.Equal(folder.File("a$b/m.onnx"), c.Model.ModelPath);
        var back = PotConfigLoader.Load(PotConfigWriter.Save(c, folder.File("d.yml")).Config.Path);
        Assert.Equal(c, back);
    }

    [Fact]
    public void Simplified_and_inline_engines_round_trip()
    {
        using var folder = new ConfigTestFolder();
        var simplified = PotConfigLoader.Load(folder.Write("s.json", ConfigTestFolder.Json("[ { \"name\": \"DefaultQuantization\" } ]",
            engine: "{ \"type\": \"simplified\", \"data_source\": \"data/*.npy\" }")));
        Assert.Equal(simplified, PotConfigLoader.Load(PotConfigWriter.Save(simplified, folder.File("s2.yml")).Config.Path));

        string inlineText = """
            model: { model: model.onnx }
            engine:
              datasets:
                - name: digits
                  data_source: data
                  scale: 0x10
                  mean: [ 0.5, 1e-3, -2 ]
                  flag: yes
                  nothing: ~
              eval_requests_number: 2
            compression: { algorithms: [ { name: DefaultQuantization } ] }
            """;
        var inline = PotConfigLoader.Load(folder.Write("i.yml", inlineText));
        var json = PotConfigWriter.Save(inline, folder.File("i.json"));
        Assert.Empty(json.Warnings);
        var back = PotConfigLoader.Load(json.Config.Path);
        Assert.Equal(inline, back);
        Assert.Equal(2, back.Engine.EvalRequestsNumber);
        Assert.Equal(PotConfigLoader.Load(PotConfigWriter.Save(back, folder.File("i2.yml")).Config.Path), inline);
        // Exported elsewhere, relative paths inside the inline engine would change meaning: say so.
        using var elsewhere = new ConfigTestFolder();
        var moved = PotConfigWriter.Save(inline, elsewhere.File("i.yml"));
        Assert.Contains(moved.Warnings, w => w.StartsWith("engine:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_different_setting_makes_configs_unequal()
    {
        using var folder = new ConfigTestFolder();
        var a = PotConfigLoader.Load(folder.Write("a.json", Rich));
        var b = PotConfigLoader.Load(folder.Write("b.json", Rich.Replace("\"confirm_top_layers\": 3", "\"confirm_top_layers\": 4")));
        var c = PotConfigLoader.Load(folder.Write("c.json", Rich.Replace("\"group\": 2", "\"group\": 3")));
        Assert.NotEqual(a, b);
        Assert.NotEqual(a, c);
        Assert.Equal(a, a with { Path = "/elsewhere.json" });
    }

    [Fact]
    public void Format_and_extension_must_agree()
    {
        using var folder = new ConfigTestFolder();
        Assert.Equal((folder.File("x.yml"), ConfigFormat.Yaml), PotConfigWriter.ResolveTarget(folder.File("x"), ConfigFormat.Yaml));
        Assert.Equal((folder.File("x.json"), ConfigFormat.Json), PotConfigWriter.ResolveTarget(folder.File("x"), null));
        Assert.Equal((folder.File("x.yaml"), ConfigFormat.Yaml), PotConfigWriter.ResolveTarget(folder.File("x.yaml"), null));
        Assert.Equal("ConfigFormatMismatch", Assert.Throws<PotException>(() => PotConfigWriter.ResolveTarget(folder.File("x.json"), ConfigFormat.Yaml)).ErrorId);
        Assert.Equal("ConfigFormatUnsupported", Assert.Throws<PotException>(() => PotConfigWriter.ResolveTarget(folder.File("x.txt"), null)).ErrorId);
    }
}
