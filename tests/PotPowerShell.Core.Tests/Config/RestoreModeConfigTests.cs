using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Tests.Config;

/// <summary>restore_mode (NNCF's RestoreMode names): binding, errors, export.</summary>
public class RestoreModeConfigTests
{
    private static string Config(string? restoreMode) => $$"""
        model: { model: model.onnx }
        engine: { config: engine.yml }
        compression:
          algorithms:
            - name: AccuracyAwareQuantization
              params:
                maximal_drop: 0.02
        {{(restoreMode == null ? "" : "        restore_mode: " + restoreMode)}}
        """;

    [Theory]
    [InlineData(null, RestoreMode.ActivationsAndWeights)]
    [InlineData("activations_and_weights", RestoreMode.ActivationsAndWeights)]
    [InlineData("only_activations", RestoreMode.OnlyActivations)]
    [InlineData("ONLY_ACTIVATIONS", RestoreMode.OnlyActivations)]   // as NNCF's enum member is written
    public void Restore_mode_binds_to_the_options(string? text, RestoreMode expected)
    {
        using var folder = new ConfigTestFolder();
        var c = PotConfigLoader.Load(folder.Write("c.yml", Config(text)));
        Assert.Equal(expected, c.ToAccuracyAwareOptions().RestoreMode);
        Assert.Empty(c.Warnings);
    }

    [Fact]
    public void A_misspelled_restore_mode_names_the_key_and_the_values()
    {
        using var folder = new ConfigTestFolder();
        var e = Assert.Throws<PotException>(() => PotConfigLoader.Load(folder.Write("c.yml", Config("only_activation"))));
        Assert.Equal("ConfigInvalid", e.ErrorId);
        var problem = Assert.Single(e.GetConfigProblems());
        Assert.Equal("compression.algorithms[0].params.restore_mode", problem.KeyPath);
        Assert.Contains("only_activations", problem.Message);
    }

    [Theory]
    [InlineData(ConfigFormat.Yaml)]
    [InlineData(ConfigFormat.Json)]
    public void Restore_mode_survives_export(ConfigFormat format)
    {
        using var folder = new ConfigTestFolder();
        var c = PotConfigLoader.Load(folder.Write("c.yml", Config("only_activations")));
        string text = PotConfigWriter.ToText(c, format, folder.Path);
        Assert.Contains("only_activations", text);
        var back = PotConfigLoader.Load(folder.Write(format == ConfigFormat.Json ? "back.json" : "back.yml", text));
        Assert.Equal(RestoreMode.OnlyActivations, back.ToAccuracyAwareOptions().RestoreMode);
        Assert.Equal(c, back);
    }
}
