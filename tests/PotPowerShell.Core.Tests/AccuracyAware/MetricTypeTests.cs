using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Tests.Config;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>metrics[].type: POT names a watched metric by its name or by its type.</summary>
public class MetricTypeTests
{
    private static readonly MetricDefinition[] Engine =
    {
        new("accuracy@top1", MetricDirection.HigherBetter) { Type = "accuracy" },
        new("cosine_similarity", MetricDirection.HigherBetter) { Type = "cosine_similarity" },
        new("ocr", MetricDirection.HigherBetter) { Type = "character_recognition_accuracy" },
    };

    private static AccuracyAwareOptions Bind(string metrics)
    {
        using var folder = new ConfigTestFolder();
        string text = $"model: {{ model: model.onnx }}\nengine: {{ config: engine.yml }}\ncompression:\n  algorithms:\n    - name: AccuracyAwareQuantization\n      params:\n        metrics: {metrics}\n";
        return PotConfigLoader.Load(folder.Write("c.yml", text)).ToAccuracyAwareOptions();
    }

    [Fact]
    public void A_type_names_the_one_engine_metric_of_that_type()
    {
        var options = Bind("[ { type: accuracy, baseline_value: 0.9 }, { type: character_recognition_accuracy, baseline_value: 0.8 } ]");
        Assert.Equal(new[] { ("accuracy", "accuracy"), ("character_recognition_accuracy", "character_recognition_accuracy") },
            options.Metrics.Select(m => (m.Name, m.Type!)));
        var criteria = MetricCriteria.Create(options, Engine, null);
        Assert.Equal(new[] { "accuracy@top1", "ocr" }, criteria.Metrics.Select(m => m.Name));
        Assert.Equal(new[] { 0.9, 0.8 }, criteria.Metrics.Select(m => m.Baseline));
    }

    [Fact]
    public void A_name_wins_over_a_type_and_an_ambiguous_type_is_refused()
    {
        var criteria = MetricCriteria.Create(Bind("[ { name: cosine_similarity, type: accuracy, baseline_value: 1 } ]"), Engine, null);
        Assert.Equal("cosine_similarity", Assert.Single(criteria.Metrics).Name);

        var twice = Engine.Append(new MetricDefinition("top5", MetricDirection.HigherBetter) { Type = "accuracy" }).ToList();
        var e = Assert.Throws<PotException>(() => MetricCriteria.Create(Bind("[ { type: accuracy, baseline_value: 1 } ]"), twice, null));
        Assert.Equal("MetricAmbiguous", e.ErrorId);
        Assert.Contains("accuracy@top1, top5", e.Message);
    }

    [Fact]
    public void An_entry_without_name_or_type_is_a_config_problem()
    {
        var e = Assert.ThrowsAny<PotException>(() => Bind("[ { baseline_value: 1 } ]"));
        Assert.Contains("name", e.Message);
    }
}
