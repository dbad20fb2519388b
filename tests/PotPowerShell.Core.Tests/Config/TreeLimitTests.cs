using System.Text;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;

namespace PotPowerShell.Core.Tests.Config;

/// <summary>
/// The resource limits of the YAML and JSON readers (TreeLimits): alias expansion, nesting depth, keys per map and
/// the length of a problem list. Every hostile document is generated here and must end in a clear error, in-process.
/// </summary>
public class TreeLimitTests
{
    /// <summary>10 anchors of 10 aliases each: 1 KB of text, 10^10 values once expanded.</summary>
    private static string AliasBomb()
    {
        var sb = new StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 10; i++)
            sb.Append($"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]\n");
        return sb.ToString();
    }

    private static string Nested(int depth, string open = "[", string close = "]") =>
        string.Concat(Enumerable.Repeat(open, depth)) + string.Concat(Enumerable.Repeat(close, depth));

    private static PotException LoadConfig(string name, string text)
    {
        using var folder = new ConfigTestFolder();
        return Assert.Throws<PotException>(() => PotConfigLoader.Load(folder.Write(name, text)));
    }

    private static PotException LoadEngine(string text)
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("engine.yml"), text);
        return Assert.Throws<PotException>(() => EngineDefinition.Load(folder.File("engine.yml")));
    }

    [Fact]
    public void Yaml_alias_bomb_in_a_config_is_refused_before_it_expands()
    {
        string text = "model:\n  model_name: m\n  model: model.onnx\nengine:\n  config: engine.yml\n" + AliasBomb();
        Assert.True(text.Length < 1200);
        var e = LoadConfig("c.yml", text);
        Assert.Equal("ConfigTooLarge", e.ErrorId);
        Assert.Contains("c.yml", e.Message);
        Assert.Contains("1,000,000", e.Message);
    }

    [Fact]
    public void Yaml_alias_bomb_in_an_engine_file_is_refused_before_it_expands()
    {
        var e = LoadEngine("dataset:\n  data_source: data\n" + AliasBomb());
        Assert.Equal("EngineTooLarge", e.ErrorId);
        Assert.Contains("engine.yml", e.Message);
    }

    [Fact]
    public void Yaml_alias_bomb_in_an_inline_engine_is_refused()
    {
        string bomb = string.Join("\n", AliasBomb().Split('\n').Select(l => "    " + l));
        var e = LoadConfig("c.yml", "model:\n  model_name: m\n  model: model.onnx\nengine:\n  dataset:\n    data_source: data\n  extra:\n" + bomb +
                                    "\ncompression:\n  algorithms:\n    - name: DefaultQuantization\n");
        Assert.Equal("ConfigTooLarge", e.ErrorId);
    }

    [Fact]
    public void Aliases_within_the_budget_still_work()
    {
        using var folder = new ConfigTestFolder();
        string path = folder.Write("t.yml", "a: &a [1, 2, 3]\nb: [*a, *a, *a]\n");
        var root = (ConfigMap)ConfigTree.Read(path);
        Assert.Equal(3, ((ConfigList)root["b"]!).Count);
    }

    [Theory]
    [InlineData("c.yml", 30_000)]
    [InlineData("c.json", 30_000)]
    public void Deep_nesting_in_a_config_is_a_clear_error_not_a_stack_overflow(string name, int depth)
    {
        string text = name.EndsWith(".json", StringComparison.Ordinal) ? "{ \"model\": " + Nested(depth) + " }" : "model: " + Nested(depth) + "\n";
        var e = LoadConfig(name, text);
        Assert.Equal("ConfigTooDeep", e.ErrorId);
        Assert.Contains("128", e.Message);
        Assert.Contains(name, e.Message);
    }

    [Fact]
    public void Deep_nesting_in_an_engine_file_is_a_clear_error_not_a_stack_overflow()
    {
        var e = LoadEngine("dataset: " + Nested(20_000, "{a: ", "}") + "\n");
        Assert.Equal("EngineTooDeep", e.ErrorId);
        Assert.Contains("128", e.Message);
    }

    [Theory]
    [InlineData("t.yml")]
    [InlineData("t.json")]
    public void Yaml_and_json_share_one_depth_limit(string name)
    {
        using var folder = new ConfigTestFolder();
        // The root list is level 1.
        string atLimit = folder.Write("ok-" + name, Nested(TreeLimits.MaxDepth));
        Assert.IsType<ConfigList>(ConfigTree.Read(atLimit));
        string beyond = folder.Write("deep-" + name, Nested(TreeLimits.MaxDepth + 1));
        Assert.Equal("ConfigTooDeep", Assert.Throws<PotException>(() => ConfigTree.Read(beyond)).ErrorId);
    }

    [Fact]
    public void An_alias_that_nests_beyond_the_limit_is_too_deep()
    {
        // The anchored list is 100 levels high; used 100 levels down it would make a tree 200 deep.
        string text = "a: &a " + Nested(100) + "\nb: " + Nested(99).Insert(99, "*a") + "\n";
        using var folder = new ConfigTestFolder();
        var e = Assert.Throws<PotException>(() => ConfigTree.Read(folder.Write("t.yml", text)));
        Assert.Equal("ConfigTooDeep", e.ErrorId);
    }

    [Theory]
    [InlineData("c.yml")]
    [InlineData("c.json")]
    public void Too_many_keys_in_one_map_is_a_clear_error(string name)
    {
        var keys = Enumerable.Range(0, TreeLimits.MaxKeys + 1).Select(i => $"k{i}");
        string text = name.EndsWith(".json", StringComparison.Ordinal)
            ? "{ \"model\": { " + string.Join(", ", keys.Select(k => $"\"{k}\": 1")) + " } }"
            : "model:\n" + string.Concat(keys.Select(k => $"  {k}: 1\n"));
        var e = LoadConfig(name, text);
        Assert.Equal("ConfigTooManyKeys", e.ErrorId);
        Assert.Contains("10,000", e.Message);
    }

    [Fact]
    public void Too_many_keys_in_an_engine_file_is_a_clear_error()
    {
        var e = LoadEngine("dataset:\n" + string.Concat(Enumerable.Range(0, TreeLimits.MaxKeys + 1).Select(i => $"  k{i}: 1\n")));
        Assert.Equal("EngineTooManyKeys", e.ErrorId);
    }

    [Fact]
    public void Many_unknown_keys_give_a_bounded_message_that_says_how_many_more()
    {
        const int unknown = 5_000;
        string text = "model:\n  model_name: m\n  model: model.onnx\n" + string.Concat(Enumerable.Range(0, unknown).Select(i => $"  unknown_key_{i}: 1\n")) +
                      "engine:\n  config: engine.yml\ncompression:\n  algorithms:\n    - name: DefaultQuantization\n";
        var e = LoadConfig("c.yml", text);
        Assert.Equal("ConfigInvalid", e.ErrorId);
        Assert.Equal(unknown, e.GetConfigProblems().Count);
        Assert.Contains($"and {unknown - TreeLimits.MaxListedProblems} more", e.Message);
        Assert.True(e.Message.Split('\n').Length <= TreeLimits.MaxListedProblems + 3, "the message lists at most the first problems");
    }

    [Fact]
    public void Many_unknown_keys_in_an_engine_file_give_a_bounded_message()
    {
        var e = LoadEngine("batch_size: 1\n" + string.Concat(Enumerable.Range(0, 500).Select(i => $"unknown_{i}: 1\n")));
        Assert.Equal("EngineInvalid", e.ErrorId);
        Assert.True(((string[])e.Data["Problems"]!).Length >= 500);
        Assert.Contains("more (fix these first)", e.Message);
        Assert.True(e.Message.Split('\n').Length <= TreeLimits.MaxListedProblems + 3);
    }
}
