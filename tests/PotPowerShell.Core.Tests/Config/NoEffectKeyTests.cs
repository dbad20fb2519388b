using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Tests.Config;

/// <summary>Every accepted key changes behaviour or draws a warning that says it has none.</summary>
public class NoEffectKeyTests
{
    [Fact]
    public void Keys_without_effect_are_accepted_with_a_warning_naming_them()
    {
        using var folder = new ConfigTestFolder();
        string text = ConfigTestFolder.Json("[ { \"name\": \"AccuracyAwareQuantization\", \"params\": { \"annotation_conf_threshold\": 0.7 } } ]",
            engine: "{ \"config\": \"engine.yml\", \"stat_requests_number\": 2, \"eval_requests_number\": 3 }");
        var c = PotConfigLoader.Load(folder.Write("c.json", text));
        foreach (var key in new[] { "engine.stat_requests_number", "compression.algorithms[0].params.annotation_conf_threshold" })
            Assert.Contains(c.Warnings, w => w.StartsWith(key + ":", StringComparison.Ordinal) && w.Contains("has no effect", StringComparison.Ordinal));
        // eval_requests_number sets AccuracyAwareQuantization's evaluation sessions.
        Assert.DoesNotContain(c.Warnings, w => w.StartsWith("engine.eval_requests_number", StringComparison.Ordinal));
        Assert.Equal(3, c.ToAccuracyAwareOptions().EvaluationWorkers);
    }

    [Fact]
    public void An_empty_weights_path_means_no_weights_file()
    {
        using var folder = new ConfigTestFolder();
        string text = ConfigTestFolder.Json("[ { \"name\": \"DefaultQuantization\" } ]", model: "{ \"model_name\": \"m\", \"model\": \"model.onnx\", \"weights\": \"\" }");
        var c = PotConfigLoader.Load(folder.Write("c.json", text));
        Assert.Null(c.Model.WeightsPath);
        Assert.DoesNotContain(c.Warnings, w => w.StartsWith("model.weights", StringComparison.Ordinal));
    }
}
