using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Tests.Config;

/// <summary>Each malformed config must fail with the right error id and name the offending key path(s).</summary>
public class MalformedConfigTests
{
    private const string Invalid = "ConfigInvalid";
    private const string Params = "compression.algorithms[0].params";

    private static string Yaml(string paramsBlock, string algorithm = "AccuracyAwareQuantization", string extraCompression = "") =>
        "model:\n  model_name: m\n  model: model.onnx\nengine:\n  config: engine.yml\ncompression:\n" + extraCompression +
        $"  algorithms:\n    - name: {algorithm}\n      params:\n" +
        string.Join("\n", paramsBlock.Split('\n').Select(l => "        " + l)) + "\n";

    private static string Aaq(string paramsJson) => ConfigTestFolder.JsonParams("AccuracyAwareQuantization", paramsJson);

    private static string Dq(string paramsJson) => ConfigTestFolder.JsonParams("DefaultQuantization", paramsJson);

    public static TheoryData<string, string, string, string, string[]> Cases => new()
    {
        // name, file name, text, error id, key paths that must be reported
        { "negative maximal_drop", "c.json", Aaq("{ \"maximal_drop\": -0.5 }"), Invalid, new[] { Params + ".maximal_drop" } },
        { "metric_subset_ratio 0", "c.json", Aaq("{ \"metric_subset_ratio\": 0 }"), Invalid, new[] { Params + ".metric_subset_ratio" } },
        { "metric_subset_ratio above 1", "c.yml", Yaml("metric_subset_ratio: 1.5"), Invalid, new[] { Params + ".metric_subset_ratio" } },
        { "misspelt preset value", "c.json", Dq("{ \"preset\": \"performnce\" }"), Invalid, new[] { Params + ".preset" } },
        { "misspelt key", "c.json", Aaq("{ \"maximal_dorp\": 0.01 }"), Invalid, new[] { Params + ".maximal_dorp" } },
        { "bad drop_type", "c.yml", Yaml("drop_type: relatve"), Invalid, new[] { Params + ".drop_type" } },
        { "POT-only device VPU", "c.yml", Yaml("preset: mixed", extraCompression: "  target_device: VPU\n"), Invalid, new[] { "compression.target_device" } },
        { "POT-only device GNA in params", "c.json", Dq("{ \"target_device\": \"GNA\" }"), Invalid, new[] { Params + ".target_device" } },
        { "unsupported POT algorithm", "c.json", ConfigTestFolder.Json("[ { \"name\": \"RangeOptimization\" } ]"), Invalid, new[] { "compression.algorithms[0].name" } },
        { "misspelt algorithm", "c.json", ConfigTestFolder.Json("[ { \"name\": \"DefaultQuantisation\" } ]"), Invalid, new[] { "compression.algorithms[0].name" } },
        { "quoted number", "c.yml", Yaml("stat_subset_size: \"300\""), Invalid, new[] { Params + ".stat_subset_size" } },
        { "zero stat_subset_size", "c.yml", Yaml("stat_subset_size: 0"), Invalid, new[] { Params + ".stat_subset_size" } },
        { "layerwise tuning", "c.json", Dq("{ \"use_layerwise_tuning\": true }"), Invalid, new[] { Params + ".use_layerwise_tuning" } },
        { "unknown estimator type", "c.json", Dq("{ \"activations\": { \"range_estimator\": { \"min\": { \"type\": \"avg\" } } } }"), Invalid,
            new[] { Params + ".activations.range_estimator.min.type" } },
        { "robust aggregator of a quantile", "c.json", Dq("{ \"activations\": { \"range_estimator\": { \"max\": { \"type\": \"quantile\", \"aggregator\": \"median\" } } } }"), Invalid,
            new[] { Params + ".activations.range_estimator.max.aggregator" } },
        { "clipping_value", "c.json", Dq("{ \"activations\": { \"range_estimator\": { \"max\": { \"clipping_value\": 6 } } } }"), Invalid,
            new[] { Params + ".activations.range_estimator.max.clipping_value" } },
        { "4-bit weights", "c.yml", Yaml("weights:\n  bits: 4"), Invalid, new[] { Params + ".weights.bits" } },
        { "weight estimator type", "c.json", Dq("{ \"weights\": { \"range_estimator\": { \"max\": { \"type\": \"min\" } } } }"), Invalid,
            new[] { Params + ".weights.range_estimator.max.type" } },
        { "weight outlier_prob per end", "c.json", Dq("{ \"weights\": { \"range_estimator\": { \"min\": { \"type\": \"quantile\", \"outlier_prob\": 0.01 }, \"max\": { \"type\": \"quantile\", \"outlier_prob\": 0.02 } } } }"), Invalid,
            new[] { Params + ".weights.range_estimator.max.outlier_prob" } },
        { "per-channel activations", "c.yml", Yaml("activations:\n  granularity: perchannel"), Invalid, new[] { Params + ".activations.granularity" } },
        { "level_low without level_high", "c.yml", Yaml("weights:\n  level_low: -127"), Invalid, new[] { Params + ".weights.level_low" } },
        { "missing model path", "c.json", ConfigTestFolder.Json("[ { \"name\": \"DefaultQuantization\" } ]", model: "{ \"model_name\": \"m\" }"), Invalid, new[] { "model.model" } },
        { "model file missing", "c.json", ConfigTestFolder.Json("[ { \"name\": \"DefaultQuantization\" } ]", model: "{ \"model\": \"nope.onnx\" }"), Invalid, new[] { "model.model" } },
        { "OpenVINO IR model", "c.json", ConfigTestFolder.Json("[ { \"name\": \"DefaultQuantization\" } ]", model: "{ \"model\": \"engine.yml\", \"weights\": \"x.bin\" }").Replace("engine.yml\", \"weights", "ir.xml\", \"weights"), Invalid, new[] { "model.model" } },
        { "data_free engine", "c.yml", Yaml("preset: mixed").Replace("  config: engine.yml", "  type: data_free\n  data_source: data"), Invalid, new[] { "engine.type" } },
        { "simplified without data", "c.yml", Yaml("preset: mixed", "DefaultQuantization").Replace("  config: engine.yml", "  type: simplified"), Invalid, new[] { "engine.data_source" } },
        { "engine file plus inline keys", "c.json", ConfigTestFolder.Json("[ { \"name\": \"DefaultQuantization\" } ]", engine: "{ \"config\": \"engine.yml\", \"datasets\": [] }"), Invalid, new[] { "engine.datasets" } },
        { "no algorithms", "c.json", ConfigTestFolder.Json("[]"), Invalid, new[] { "compression.algorithms" } },
        { "algorithms not a list", "c.json", ConfigTestFolder.Json("{ \"name\": \"DefaultQuantization\" }"), Invalid, new[] { "compression.algorithms" } },
        { "misspelt section", "c.yml", "model:\n  model: model.onnx\nengine:\n  config: engine.yml\ncompresion:\n  algorithms: []\n", Invalid, new[] { "compresion", "compression" } },
        { "smooth_quant_alpha above 1", "c.json", Dq("{ \"smooth_quant_alpha\": 1.5 }"), Invalid, new[] { Params + ".smooth_quant_alpha" } },
        { "AAQ key under DefaultQuantization", "c.json", Dq("{ \"maximal_drop\": 0.01 }"), Invalid, new[] { Params + ".maximal_drop" } },
        { "metric without a name", "c.yml", Yaml("metrics:\n  - baseline_value: 0.9"), Invalid, new[] { Params + ".metrics[0].name" } },
        { "metric twice", "c.yml", Yaml("metrics:\n  - name: top1\n  - name: top1"), Invalid, new[] { Params + ".metrics[1].name" } },
        { "bad time_limit", "c.json", Aaq("{ \"time_limit\": \"soon\" }"), Invalid, new[] { Params + ".time_limit" } },
        { "unset environment variable", "c.json", ConfigTestFolder.Json("[ { \"name\": \"DefaultQuantization\" } ]", model: "{ \"model\": \"$POT_TEST_SURELY_UNSET_VAR/model.onnx\" }"), Invalid, new[] { "model.model" } },
        { "bad regular expression in scope", "c.yml", Yaml("ignored:\n  scope:\n    - /[a/"), Invalid, new[] { Params + ".ignored.scope[0]" } },
        { "ignored operation without type", "c.yml", Yaml("ignored:\n  operations:\n    - attributes: { group: 1 }"), Invalid, new[] { Params + ".ignored.operations[0].type" } },
        { "unsupported base algorithm", "c.json", Aaq("{ \"base_algorithm\": \"MinMaxQuantization\" }"), Invalid, new[] { Params + ".base_algorithm" } },
        { "duplicate key", "c.json", "{ \"model\": { \"model\": \"model.onnx\" }, \"engine\": { \"config\": \"engine.yml\" }, \"compression\": { \"target_device\": \"CPU\", \"target_device\": \"GPU\", \"algorithms\": [ { \"name\": \"DefaultQuantization\" } ] } }", Invalid, new[] { "compression.target_device" } },
        { "confidence threshold above 1", "c.json", Aaq("{ \"annotation_conf_threshold\": 2 }"), Invalid, new[] { Params + ".annotation_conf_threshold" } },
        { "time_limit beyond TimeSpan", "c.json", Aaq("{ \"time_limit\": \"99999999999999d\" }"), Invalid, new[] { Params + ".time_limit" } },
        { "time_limit of 1e300 seconds", "c.json", Aaq("{ \"time_limit\": 1e300 }"), Invalid, new[] { Params + ".time_limit" } },
        { "YAML 1.1 boolean", "c.yml", Yaml("shuffle_data: yes"), Invalid, new[] { Params + ".shuffle_data" } },
        { "unknown model_type", "c.yml", Yaml("preset: mixed", extraCompression: "  model_type: cnn\n"), Invalid, new[] { "compression.model_type" } },
        { "same algorithm twice", "c.json", ConfigTestFolder.Json("[ { \"name\": \"DefaultQuantization\" }, { \"name\": \"DefaultQuantization\" } ]"), Invalid, new[] { "compression.algorithms[1]" } },
        { "document is a list", "c.yml", "- model\n- engine\n", Invalid, new[] { "" } },
        { "unknown extension", "c.txt", "{}", "ConfigFormatUnsupported", Array.Empty<string>() },
        { "JSON syntax error", "c.json", "{ \"model\": { \"model\": \"model.onnx\" ", "ConfigSyntaxError", Array.Empty<string>() },
        { "YAML syntax error", "c.yml", "model:\n  model: [model.onnx\nengine: x\n", "ConfigSyntaxError", Array.Empty<string>() },
        { "empty file", "c.yml", "", "ConfigSyntaxError", Array.Empty<string>() },
        { "two YAML documents", "c.yml", "model: {}\n---\nengine: {}\n", "ConfigSyntaxError", Array.Empty<string>() },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Malformed_config_fails_with_error_id_and_key_path(string name, string file, string text, string errorId, string[] paths)
    {
        using var folder = new ConfigTestFolder();
        var e = Assert.Throws<PotException>(() => PotConfigLoader.Load(folder.Write(file, text)));
        Assert.True(errorId == e.ErrorId, $"{name}: expected {errorId}, got {e.ErrorId}: {e.Message}");
        Assert.Equal(folder.File(file), e.Target);
        var reported = e.GetConfigProblems().Select(p => p.KeyPath).ToArray();
        foreach (var path in paths)
            Assert.True(reported.Contains(path), $"{name}: '{path}' not reported; got [{string.Join(", ", reported)}]: {e.Message}");
        if (errorId == Invalid) Assert.NotEmpty(reported);
        // The message a user sees names the key paths too.
        foreach (var path in paths.Where(p => p.Length > 0)) Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Every_problem_in_a_file_is_reported_at_once()
    {
        using var folder = new ConfigTestFolder();
        string text = """
            model:
              model: model.onnx
              extra: 1
            engine:
              config: engine.yml
            compression:
              target_device: GNA3
              algorithms:
                - name: AccuracyAwareQuantization
                  params:
                    maximal_drop: -1
                    metric_subset_ratio: 3
                    preset: fast
                    drop_type: 1
            """;
        var e = Assert.Throws<PotException>(() => PotConfigLoader.Load(folder.Write("c.yml", text)));
        Assert.Equal("ConfigInvalid", e.ErrorId);
        var problems = e.GetConfigProblems();
        Assert.Equal(
            new[] { "model.extra", "compression.target_device", Params + ".preset", Params + ".maximal_drop", Params + ".drop_type", Params + ".metric_subset_ratio" }.OrderBy(x => x),
            problems.Select(p => p.KeyPath).OrderBy(x => x));
        var drop = problems.Single(p => p.KeyPath == Params + ".maximal_drop");
        Assert.Equal("-1", drop.Value);
        Assert.Equal(11, drop.Line);
        Assert.Contains(">= 0", drop.Message);
        Assert.Contains("6 problems", e.Message);
    }

    [Fact]
    public void Unknown_keys_and_values_get_a_did_you_mean()
    {
        using var folder = new ConfigTestFolder();
        var e = Assert.Throws<PotException>(() => PotConfigLoader.Load(folder.Write("c.json",
            Aaq("{ \"maximal_dorp\": 0.01, \"preset\": \"perfromance\", \"use_fast_bais\": true }"))));
        var problems = e.GetConfigProblems().ToDictionary(p => p.KeyPath);
        Assert.Contains("Did you mean 'maximal_drop'?", problems[Params + ".maximal_dorp"].Message);
        Assert.Contains("Did you mean 'performance'?", problems[Params + ".preset"].Message);
        Assert.Equal("\"perfromance\"", problems[Params + ".preset"].Value);
        Assert.Contains("Did you mean 'use_fast_bias'?", problems[Params + ".use_fast_bais"].Message);
    }

    [Fact]
    public void Unsupported_things_say_so_and_what_to_use()
    {
        using var folder = new ConfigTestFolder();
        var e = Assert.Throws<PotException>(() => PotConfigLoader.Load(folder.Write("c.json",
            ConfigTestFolder.Json("[ { \"name\": \"TunableQuantization\" }, { \"name\": \"OverflowCorrection\" }, { \"name\": \"Ranger\" }, { \"name\": \"DataFreeQuantization\" } ]")
                .Replace("\"algorithms\"", "\"target_device\": \"CPU_SPR\", \"algorithms\""))));
        var messages = e.GetConfigProblems().ToDictionary(p => p.KeyPath, p => p.Message);
        for (int i = 0; i < 4; i++)
            Assert.Contains("not supported by PotPowerShell", messages[$"compression.algorithms[{i}].name"]);
        Assert.Contains("ANY, CPU, GPU, NPU", messages["compression.target_device"]);
    }

    [Fact]
    public void Syntax_errors_give_the_line()
    {
        using var folder = new ConfigTestFolder();
        var e = Assert.Throws<PotException>(() => PotConfigLoader.Load(folder.Write("c.json", "{\n  \"model\": {\n    \"model\": \"m.onnx\"\n    \"x\": 1\n  }\n}")));
        Assert.Equal("ConfigSyntaxError", e.ErrorId);
        Assert.Contains("line 4", e.Message);
        var y = Assert.Throws<PotException>(() => PotConfigLoader.Load(folder.Write("c.yml", "model:\n  model: m.onnx\n bad: [\n")));
        Assert.Equal("ConfigSyntaxError", y.ErrorId);
        Assert.Contains("YAML", y.Message);
    }

    [Fact]
    public void Missing_file_is_ConfigNotFound()
    {
        using var folder = new ConfigTestFolder();
        var e = Assert.Throws<PotException>(() => PotConfigLoader.Load(folder.File("none.json")));
        Assert.Equal("ConfigNotFound", e.ErrorId);
        Assert.Equal(PotErrorCategory.ObjectNotFound, e.Category);
    }
}
