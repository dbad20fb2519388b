using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Tests.Config;

/// <summary>A configuration of compression only (Open Model Zoo's quantization.yml templates) with its model and engine given apart.</summary>
public class GivenSectionsTests
{
    /// <summary>bert-base-ner's quantization.yml in Open Model Zoo, as written.</summary>
    private const string Template = """
        compression:
          model_type: transformer
          algorithms:
            - name: DefaultQuantization
              params:
                preset: mixed
                stat_subset_size: 300
                use_fast_bias: False
                activations:
                  range_estimator:
                    max:
                      aggregator: max
                      type: abs_max
                    min:
                      aggregator: min
                      type: min
        """;

    [Fact]
    public void A_template_takes_the_model_and_engine_given()
    {
        using var folder = new ConfigTestFolder();
        string path = folder.Write("quantization.yml", Template);
        var c = PotConfigLoader.Load(path, new GivenSections(folder.File("model.onnx"), folder.File("engine.yml")));
        Assert.Equal(("model", folder.File("model.onnx")), (c.Model.ModelName, c.Model.ModelPath));
        Assert.Equal((EngineKind.File, folder.File("engine.yml")), (c.Engine.Kind, c.Engine.ConfigPath));
        Assert.Equal("transformer", c.Compression.ModelType);
        // A folder is calibration data (type: simplified).
        var simplified = PotConfigLoader.Load(path, new GivenSections(folder.File("model.onnx"), folder.File("data")));
        Assert.Equal((EngineKind.Simplified, folder.File("data")), (simplified.Engine.Kind, simplified.Engine.DataSource));
    }

    [Fact]
    public void The_sections_given_replace_the_files_which_are_not_read()
    {
        using var folder = new ConfigTestFolder();
        // The file's model does not exist: given apart, it is not read.
        string path = folder.Write("c.json", ConfigTestFolder.Json("[ { \"name\": \"DefaultQuantization\", \"params\": {} } ]", model: "{ \"model_name\": \"m\", \"model\": \"missing.onnx\" }"));
        var c = PotConfigLoader.Load(path, new GivenSections(folder.File("model.onnx"), null));
        Assert.Equal(folder.File("model.onnx"), c.Model.ModelPath);
        Assert.Equal(folder.File("engine.yml"), c.Engine.ConfigPath);
    }

    [Fact]
    public void Without_them_a_template_says_how_to_give_them()
    {
        using var folder = new ConfigTestFolder();
        string path = folder.Write("quantization.yml", Template);
        var e = Assert.Throws<PotException>(() => PotConfigLoader.Load(path));
        Assert.Contains("-ModelPath", e.Message);
        Assert.Contains("-EnginePath", e.Message);
        var missing = Assert.Throws<PotException>(() => PotConfigLoader.Load(path, new GivenSections(folder.File("nothing.onnx"), folder.File("nothing.yml"))));
        Assert.Contains("(-ModelPath) '" + folder.File("nothing.onnx") + "' does not exist", missing.Message);
        Assert.Contains("(-EnginePath) '" + folder.File("nothing.yml") + "' does not exist", missing.Message);
    }
}
