using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;

namespace PotPowerShell.Core.Tests.Config;

/// <summary>
/// POT configs and engine files go through one loader (ConfigTree): the same scalar reading, limits and wording.
/// Each scalar keeps its text as written, so POT keys type it by POT's rules (the YAML 1.2 core schema) while engine
/// keys that take text get exactly what the file says. The expected values below are the YAML 1.2 core schema's.
/// </summary>
public class OneLoaderTests
{
    // The tricky plain scalars, their kind to POT's rules, the canonical text, and the text as written.
    public static TheoryData<string, ScalarKind, string, string, bool> Scalars => new()
    {
        { "0123456789", ScalarKind.Integer, "123456789", "0123456789", false },
        { "'0123456789'", ScalarKind.String, "0123456789", "0123456789", true },
        { "yes", ScalarKind.String, "yes", "yes", false },
        { "no", ScalarKind.String, "no", "no", false },
        { "on", ScalarKind.String, "on", "on", false },
        { "True", ScalarKind.Boolean, "true", "True", false },
        { "1e3", ScalarKind.Float, "1000", "1e3", false },
        { "0x10", ScalarKind.Integer, "16", "0x10", false },
        { "0o17", ScalarKind.Integer, "15", "0o17", false },
        { "+5", ScalarKind.Integer, "5", "+5", false },
        { "1.50", ScalarKind.Float, "1.5", "1.50", false },
        { ".inf", ScalarKind.Float, ".inf", ".inf", false },
        { "-.Inf", ScalarKind.Float, "-.inf", "-.Inf", false },
        { "~", ScalarKind.Null, "null", "~", false },
        { "\"~\"", ScalarKind.String, "~", "~", true },
        { "Infinity", ScalarKind.String, "Infinity", "Infinity", false },
    };

    [Theory]
    [MemberData(nameof(Scalars))]
    public void A_yaml_scalar_keeps_its_written_text_and_style_beside_its_pot_type(string yaml, ScalarKind kind, string text, string written, bool quoted)
    {
        using var folder = new ConfigTestFolder();
        var root = (ConfigMap)ConfigTree.Read(folder.Write("t.yml", $"v: {yaml}\n"));
        var s = Assert.IsType<ConfigScalar>(root["v"]);
        Assert.Equal((kind, text, written, quoted), (s.Kind, s.Text, s.Written, s.Quoted));
    }

    [Theory]
    [InlineData("1.0", ScalarKind.Float, "1", "1.0", false)]
    [InlineData("1E+3", ScalarKind.Float, "1000", "1E+3", false)]
    [InlineData("\"007\"", ScalarKind.String, "007", "007", true)]
    [InlineData("true", ScalarKind.Boolean, "true", "true", false)]
    public void A_json_scalar_keeps_its_written_text_too(string json, ScalarKind kind, string text, string written, bool quoted)
    {
        using var folder = new ConfigTestFolder();
        var root = (ConfigMap)ConfigTree.Read(folder.Write("t.json", $"{{ \"v\": {json} }}"));
        var s = Assert.IsType<ConfigScalar>(root["v"]);
        Assert.Equal((kind, text, written, quoted), (s.Kind, s.Text, s.Written, s.Quoted));
    }

    private static TempFolder EngineFolder()
    {
        var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("data"));
        NpyWriter.Save(tmp.File("data/input.npy"), new float[8], new long[] { 2, 4 }, "<f4");
        return tmp;
    }

    private const string Classes = "[0123456789, '0123456789', yes, no, on, True, 1e3, 0x10, 1.50, .inf, ~, \"~\"]";

    private static readonly string[] ClassTexts = { "0123456789", "0123456789", "yes", "no", "on", "True", "1e3", "0x10", "1.50", ".inf", "", "~" };

    [Fact]
    public void Engine_text_keys_get_every_tricky_scalar_exactly_as_written()
    {
        using var tmp = EngineFolder();
        File.WriteAllText(tmp.File("engine.yml"), $"adapter:\n  type: ctc_greedy\n  alphabet: 0123456789\ndataset:\n  data_source: data\n  classes: {Classes}\n");
        var engine = EngineDefinition.Load(tmp.File("engine.yml"));
        Assert.Equal(new[] { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9" }, engine.Datasets[0].Adapter.Symbols);
        // A plain ~ is null, which the engine reads as an empty class name; everything else is its text.
        Assert.Equal(ClassTexts, engine.Datasets[0].Classes);
    }

    [Fact]
    public void An_inline_engine_reads_the_same_scalars_as_an_engine_file_and_reports_the_configs_lines()
    {
        using var folder = new ConfigTestFolder();
        NpyWriter.Save(folder.File("data/input.npy"), new float[8], new long[] { 2, 4 }, "<f4");
        string text = "model: { model: model.onnx }\nengine:\n  adapter:\n    type: ctc_greedy\n    alphabet: 0123456789\n" +
                      $"  dataset:\n    data_source: data\n    classes: {Classes}\ncompression: {{ algorithms: [ {{ name: DefaultQuantization }} ] }}\n";
        var engine = EngineResolver.FromConfig(PotConfigLoader.Load(folder.Write("c.yml", text)));
        Assert.Equal("0123456789", string.Concat(engine.Datasets[0].Adapter.Symbols!));
        Assert.Equal(ClassTexts, engine.Datasets[0].Classes);

        var e = Assert.Throws<PotException>(() => EngineResolver.FromConfig(PotConfigLoader.Load(folder.Write("bad.yml", text.Replace("    alphabet:", "    alphabat:")))));
        Assert.Equal("EngineInvalid", e.ErrorId);
        var problem = e.GetConfigProblems().First(p => p.KeyPath == "engine.adapter.alphabat");
        Assert.Equal(5, problem.Line);
        Assert.Contains("Did you mean 'alphabet'?", problem.Message);
    }

    [Theory]
    [InlineData(ConfigFormat.Yaml, "0123456789", "0x10")]
    // JSON has no number 0123 or 0x10: those become their values (a YAML export keeps them).
    [InlineData(ConfigFormat.Json, "123456789", "16")]
    public void Export_keeps_an_inline_engines_numbers_as_written_where_the_format_can(ConfigFormat format, string alphabet, string hex)
    {
        using var folder = new ConfigTestFolder();
        NpyWriter.Save(folder.File("data/input.npy"), new float[8], new long[] { 2, 4 }, "<f4");
        string text = "model: { model: model.onnx }\nengine:\n  adapter: { type: ctc_greedy, alphabet: 0123456789 }\n" +
                      "  dataset: { data_source: data, classes: [1e3, 0x10, 1.50, 7, -0.0] }\ncompression: { algorithms: [ { name: DefaultQuantization } ] }\n";
        var config = PotConfigLoader.Load(folder.Write("c.yml", text));
        var export = PotConfigWriter.Save(config, folder.File(format == ConfigFormat.Json ? "e.json" : "e.yml"));
        var back = PotConfigLoader.Load(export.Config.Path);
        Assert.Equal(config, back);
        // Nothing changes silently: digits that JSON loses are named (0x10 is another spelling of 16).
        if (format == ConfigFormat.Yaml) Assert.Empty(export.Warnings);
        else Assert.Contains("lose them: engine.adapter.alphabet: 0123456789 -> 123456789. Quote them", Assert.Single(export.Warnings));
        var again = EngineResolver.FromConfig(back);
        Assert.Equal(alphabet, string.Concat(again.Datasets[0].Adapter.Symbols!));
        Assert.Equal(new[] { "1e3", hex, "1.50", "7", "-0.0" }, again.Datasets[0].Classes);
    }

    [Fact]
    public void Pot_keys_type_the_same_scalars_by_pots_rules()
    {
        using var folder = new ConfigTestFolder();
        string Config(string model, string parameters) =>
            $"model: {{ model_name: {model}, model: model.onnx }}\nengine: {{ config: engine.yml }}\n" +
            $"compression:\n  algorithms:\n    - name: DefaultQuantization\n      params: {{ {parameters} }}\n";
        // Text keys get the text as written; whole numbers accept YAML 1.2 integers (0x10 is 16).
        var c = PotConfigLoader.Load(folder.Write("ok.yml", Config("0123456789", "stat_subset_size: 0x10, preset: ~")));
        Assert.Equal("0123456789", c.Model.ModelName);
        Assert.Equal(16, c.Compression.Algorithms[0].Params.StatSubsetSize);

        var e = Assert.Throws<PotException>(() => PotConfigLoader.Load(folder.Write("bad.yml", Config("1e3", "stat_subset_size: 1e3, use_fast_bias: yes"))));
        var problems = e.GetConfigProblems().ToDictionary(p => p.KeyPath, p => p.Message);
        Assert.StartsWith("must be a whole number.", problems["compression.algorithms[0].params.stat_subset_size"]);
        Assert.Contains("('yes'/'no' are text in YAML 1.2)", problems["compression.algorithms[0].params.use_fast_bias"]);
        Assert.Equal(2, problems.Count); // model_name: 1e3 is the text "1e3"
    }

    [Fact]
    public void A_plain_word_that_dotnet_reads_as_a_number_is_not_called_quoted()
    {
        using var folder = new ConfigTestFolder();
        string text = "model: { model: model.onnx }\nengine: { config: engine.yml }\ncompression:\n  algorithms:\n    - name: DefaultQuantization\n" +
                      "      params: { stat_subset_size: Infinity }\n";
        var problems = Assert.Throws<PotException>(() => PotConfigLoader.Load(folder.Write("c.yml", text))).GetConfigProblems();
        Assert.DoesNotContain("quoted", problems.Single(p => p.KeyPath.EndsWith("stat_subset_size", StringComparison.Ordinal)).Message);
    }

    // Limits and wording: the same document refused the same way, whether it is a config or an engine file.
    public static TheoryData<string, string, string> Hostile => new()
    {
        { "alias bomb", AliasBomb(), "TooLarge" },
        { "deep nesting", "a: " + new string('[', 20_000) + new string(']', 20_000) + "\n", "TooDeep" },
        { "deep maps", "a: " + string.Concat(Enumerable.Repeat("{a: ", 200)) + "1" + new string('}', 200) + "\n", "TooDeep" },
        { "many keys", "a:\n" + string.Concat(Enumerable.Range(0, TreeLimits.MaxKeys + 1).Select(i => $"  k{i}: 1\n")), "TooManyKeys" },
        { "syntax", "a:\n  b: [unclosed\n", "Syntax" },
    };

    private static string AliasBomb()
    {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
        for (int i = 1; i < 10; i++) text += $"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]\n";
        return text;
    }

    [Theory]
    [MemberData(nameof(Hostile))]
    public void A_hostile_engine_file_hits_the_config_limits_with_the_same_wording(string what, string text, string limit)
    {
        using var folder = new ConfigTestFolder();
        var asConfig = Assert.Throws<PotException>(() => PotConfigLoader.Load(folder.Write("doc.yml", text)));
        var asEngine = Assert.Throws<PotException>(() => EngineDefinition.Load(folder.Write("engine-doc.yml", text)));
        Assert.Equal(limit == "Syntax" ? ("ConfigSyntaxError", "EngineInvalid") : ("Config" + limit, "Engine" + limit), (asConfig.ErrorId, asEngine.ErrorId));
        string Neutral(PotException e, string file) =>
            e.Message.Replace(folder.File(file), "<file>").Replace("The config file '", "The '").Replace("The engine '", "The '");
        Assert.True(Neutral(asConfig, "doc.yml") == Neutral(asEngine, "engine-doc.yml"), what + ": " + asConfig.Message + " | " + asEngine.Message);
    }

    [Fact]
    public void A_json_engine_file_is_read_as_json_with_the_same_limits()
    {
        using var folder = new ConfigTestFolder();
        string deep = "{ \"a\": " + new string('[', 20_000) + new string(']', 20_000) + " }";
        Assert.Equal("EngineTooDeep", Assert.Throws<PotException>(() => EngineDefinition.Load(folder.Write("engine.json", deep))).ErrorId);
        // JSON with comments, as POT's own JSON files: read by the JSON reader, not as YAML.
        NpyWriter.Save(folder.File("data/input.npy"), new float[8], new long[] { 2, 4 }, "<f4");
        var engine = EngineDefinition.Load(folder.Write("e.json", "{ // digits\n \"dataset\": { \"data_source\": \"data\", \"classes\": [\"007\", 1.50] }, }"));
        Assert.Equal(new[] { "007", "1.50" }, engine.Datasets[0].Classes);
    }

    [Fact]
    public void A_duplicate_key_in_an_engine_file_is_the_configs_problem_with_path_and_line()
    {
        using var folder = new ConfigTestFolder();
        var e = Assert.Throws<PotException>(() => EngineDefinition.Load(folder.Write("engine-dup.yml", "dataset:\n  data_source: data\n  data_source: data\n")));
        Assert.Equal("EngineInvalid", e.ErrorId);
        var problem = Assert.Single(e.GetConfigProblems());
        Assert.Equal(new ConfigProblem("dataset.data_source", null, "the key appears twice in the same section; keep one.", 3) { Whole = "(engine)" }, problem);
    }

    [Fact]
    public void An_unknown_key_has_one_wording_in_configurations_and_engines()
    {
        using var folder = new ConfigTestFolder();
        NpyWriter.Save(folder.File("data/input.npy"), new float[8], new long[] { 2, 4 }, "<f4");
        const string Compression = "compression: { algorithms: [ { name: DefaultQuantization } ] }\n";
        // A POT key and an inline engine's key, both near a known key.
        var config = Assert.Throws<PotException>(() => PotConfigLoader.Load(folder.Write("c.yml", "model: { model: model.onnx, model_nam: m }\nengine: { type: simplified, data_source: data }\n" + Compression)));
        Assert.Equal(new ConfigProblem("model.model_nam", null, "is not a known key in 'model'. Did you mean 'model_name'?", 1), Assert.Single(config.GetConfigProblems()));
        var inline = Assert.Throws<PotException>(() => EngineResolver.FromConfig(PotConfigLoader.Load(folder.Write("i.yml",
            "model: { model: model.onnx }\nengine:\n  dataset: { data_source: data, subsample_siz: 3 }\n" + Compression))));
        Assert.Equal(new ConfigProblem("engine.dataset.subsample_siz", null, "is not a known key in 'engine.dataset'. Did you mean 'subsample_size'?", 3) { Whole = "(engine)" },
            Assert.Single(inline.GetConfigProblems()));
        // Far from every known key: the known keys, in ordinal order, in both.
        config = Assert.Throws<PotException>(() => PotConfigLoader.Load(folder.Write("c2.yml", "model: { model: model.onnx, colour: m }\nengine: { type: simplified, data_source: data }\n" + Compression)));
        Assert.Equal("is not a known key in 'model'. Known keys: model, model_name, weights.", Assert.Single(config.GetConfigProblems()).Message);
        var file = Assert.Throws<PotException>(() => EngineDefinition.Load(folder.Write("e.yml", "colour: 3\ndataset: { data_source: data }\n")));
        Assert.Equal("is not a known key at the top level. Known keys: adapter, batch_size, cache_mb, dataset, datasets, metrics, name, threads.",
            Assert.Single(file.GetConfigProblems()).Message);
    }
}
