using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// Open Model Zoo's layout: a model's configuration names its dataset, data/dataset_definitions.yml defines it with
/// paths relative to DATA_DIR (AccuracyCheckerDefinitions), and POT's engine section may be a model entry in place.
/// </summary>
public class AccuracyCheckerDefinitionsTests
{
    private const string Definitions =
        "datasets:\n" +
        "  - name: other\n    data_source: elsewhere\n" +
        "  - name: digits\n" +
        "    data_source: images\n" +
        "    annotation_conversion:\n      converter: imagenet\n      annotation_file: val.txt\n" +
        "    annotation: digits.pickle\n" +
        "    metrics:\n      - name: top1\n        type: accuracy\n        top_k: 1\n";

    private const string Model =
        "models:\n  - name: m\n    launchers:\n      - framework: onnx_runtime\n        adapter: classification\n" +
        "    datasets:\n      - name: digits\n        preprocessing:\n          - type: bgr_to_gray\n";

    /// <summary>data/dataset_definitions.yml, models/m/ac.yml and the data in datasets/ (images/ and val.txt).</summary>
    private static TempFolder Layout(string definitions = Definitions, string model = Model + "global_definitions: ../../data/dataset_definitions.yml\n")
    {
        var tmp = new TempFolder();
        foreach (var folder in new[] { "data", "models/m", "datasets/images" }) Directory.CreateDirectory(tmp.File(folder));
        File.WriteAllText(tmp.File("data/dataset_definitions.yml"), definitions);
        File.WriteAllText(tmp.File("models/m/ac.yml"), model);
        File.WriteAllBytes(tmp.File("datasets/images/a.png"), PngFiles.Rgb(1, 1, new byte[] { 200, 10, 20 }));
        File.WriteAllText(tmp.File("datasets/val.txt"), "a.png 0\n");
        return tmp;
    }

    private static EngineDefinition Load(TempFolder tmp, AccuracyCheckerEnvironment environment, string file = "models/m/ac.yml")
    {
        string full = tmp.File(file);
        return EngineParser.Parse(EngineTree.Read(full), "", Path.GetDirectoryName(full)!, full, environment: environment);
    }

    private static PotException Refused(TempFolder tmp, AccuracyCheckerEnvironment environment)
    {
        var e = Assert.Throws<PotException>(() => Load(tmp, environment));
        Assert.Equal("EngineInvalid", e.ErrorId);
        return e;
    }

    [Fact]
    public void A_dataset_named_in_the_configuration_takes_its_definition_with_paths_in_DATA_DIR()
    {
        using var tmp = Layout();
        var engine = Load(tmp, new AccuracyCheckerEnvironment(DataDir: tmp.File("datasets")));

        // The same dataset written out whole in one configuration, with the data's absolute paths.
        File.WriteAllText(tmp.File("whole.yml"), Model.Replace("      - name: digits\n",
            $"      - name: digits\n        data_source: {tmp.File("datasets/images")}\n        annotation_conversion:\n" +
            $"          converter: imagenet\n          annotation_file: {tmp.File("datasets/val.txt")}\n" +
            "        metrics:\n          - {name: top1, type: accuracy, top_k: 1}\n", StringComparison.Ordinal));
        var whole = Load(tmp, new AccuracyCheckerEnvironment(), "whole.yml");

        var (d, w) = (engine.Datasets.Single(), whole.Datasets.Single());
        Assert.Equal(w.DataSource, d.DataSource);
        Assert.Equal(w.AnnotationFile, d.AnnotationFile);
        Assert.Equal(1, d.Image!.Channels); // the configuration's own preprocessing
        Assert.Equal(whole.Metrics.Select(m => (m.Name, m.TopK)), engine.Metrics.Select(m => (m.Name, m.TopK)));
        // The definition's pickle is what Accuracy Checker would convert again: read and ignored, as in a whole file.
        Assert.Contains(engine.Warnings, x => x.StartsWith("models[0].datasets[0].annotation: read and ignored", StringComparison.Ordinal));
        using var data = engine.OpenDataset();
        Assert.Equal(1, data.Count);
    }

    [Fact]
    public void Keys_of_the_configuration_replace_the_definitions_whole_and_shared_entries_complete_those_of_their_type()
    {
        string definitions = Definitions.Replace("        top_k: 1\n", "", StringComparison.Ordinal) + "metrics:\n  - type: accuracy\n    top_k: 5\n    name: shared\n";
        using var tmp = Layout(definitions);
        var env = new AccuracyCheckerEnvironment(DataDir: tmp.File("datasets"));
        // The definition's metric of type accuracy takes the shared entry's keys it does not give (top_k), not those it gives (name).
        var m = Load(tmp, env).Metrics.Single();
        Assert.Equal(("top1", 5), (m.Name, m.TopK));

        File.WriteAllText(tmp.File("models/m/ac.yml"), Model + "        metrics:\n          - type: accuracy\n" + "global_definitions: ../../data/dataset_definitions.yml\n");
        // The configuration's metrics replace the definition's list; its entry is completed from the shared entry only
        // in the definitions file itself, as Accuracy Checker merges them.
        var own = Load(tmp, env).Metrics.Single();
        Assert.Equal(1, own.TopK);
        Assert.NotEqual("top1", own.Name);
    }

    [Fact]
    public void Without_DATA_DIR_a_definitions_path_stands_in_its_folder_and_a_configurations_path_in_the_configurations()
    {
        using var tmp = Layout(Definitions.Replace("data_source: images", "data_source: ../datasets/images", StringComparison.Ordinal)
            .Replace("annotation_file: val.txt", "annotation_file: ../datasets/val.txt", StringComparison.Ordinal));
        var d = Load(tmp, new AccuracyCheckerEnvironment()).Datasets.Single();
        Assert.Equal(tmp.File("datasets/images"), d.DataSource);
        Assert.Equal(tmp.File("datasets/val.txt"), d.AnnotationFile);

        File.WriteAllText(tmp.File("models/m/ac.yml"), Model.Replace("        preprocessing:", "        data_source: ../../datasets/images\n        preprocessing:", StringComparison.Ordinal) +
            "global_definitions: ../../data/dataset_definitions.yml\n");
        Assert.Equal(tmp.File("datasets/images"), Load(tmp, new AccuracyCheckerEnvironment()).Datasets.Single().DataSource);
    }

    [Fact]
    public void DEFINITIONS_FILE_names_the_definitions_over_global_definitions_with_a_warning()
    {
        using var tmp = Layout(model: Model + "global_definitions: missing.yml\n");
        var engine = Load(tmp, new AccuracyCheckerEnvironment(DefinitionsFile: "../../data/dataset_definitions.yml", DataDir: tmp.File("datasets")));
        Assert.Equal(tmp.File("datasets/images"), engine.Datasets.Single().DataSource);
        Assert.Contains(engine.Warnings, w => w.StartsWith("global_definitions: read and ignored: the DEFINITIONS_FILE", StringComparison.Ordinal));

        var e = Refused(tmp, new AccuracyCheckerEnvironment(DefinitionsFile: "nowhere.yml"));
        Assert.Contains("DEFINITIONS_FILE environment variable", e.Message, StringComparison.Ordinal);
        Assert.Contains(tmp.File("models/m/nowhere.yml"), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_problem_in_a_value_taken_from_the_definitions_says_where_it_came_from()
    {
        using var tmp = Layout();
        // DATA_DIR not set: the definition's 'images' stands beside the definitions file, where there is none.
        var e = Refused(tmp, new AccuracyCheckerEnvironment());
        Assert.Contains($"'{tmp.File("data/images")}' does not exist.", e.Message, StringComparison.Ordinal);
        Assert.Contains($"data_source, annotation_conversion, annotation, metrics come from the dataset 'digits' of '{tmp.File("data/dataset_definitions.yml")}' (line 4)", e.Message, StringComparison.Ordinal);
        Assert.Contains("set DATA_DIR", e.Message, StringComparison.Ordinal);
        // The metrics are not said to lack annotations: the data was not read.
        Assert.Equal(1, ((string[])e.Data["Problems"]!).Length);

        // With DATA_DIR: the note names the paths it prefixed.
        e = Refused(tmp, new AccuracyCheckerEnvironment(DataDir: tmp.File("nowhere")));
        Assert.Contains("The DATA_DIR environment variable prefixes the relative paths of models[0].datasets[0].data_source, models[0].datasets[0].annotation_conversion.annotation_file.",
            e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_dataset_the_definitions_do_not_define_is_named_with_the_nearest_that_they_do()
    {
        using var tmp = Layout(model: Model.Replace("name: digits", "name: digitz", StringComparison.Ordinal) + "global_definitions: ../../data/dataset_definitions.yml\n");
        var e = Refused(tmp, new AccuracyCheckerEnvironment(DataDir: tmp.File("datasets")));
        Assert.Contains("models[0].datasets[0]: 'digitz' is not a dataset of", e.Message, StringComparison.Ordinal);
        Assert.Contains("(did you mean 'digits'?)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_dataset_given_by_name_only_without_definitions_says_how_to_name_them()
    {
        using var tmp = Layout(model: Model);
        var e = Refused(tmp, new AccuracyCheckerEnvironment());
        Assert.Contains("models[0].datasets[0].data_source", e.Message, StringComparison.Ordinal);
        Assert.Contains("global_definitions: in this configuration or the DEFINITIONS_FILE environment variable", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_definitions_file_that_is_not_one_is_refused_at_its_key_and_its_unknown_keys_warn()
    {
        using var tmp = Layout(model: Model + "global_definitions: [a, b]\n");
        Assert.Contains("global_definitions (line", Refused(tmp, new AccuracyCheckerEnvironment()).Message, StringComparison.Ordinal);

        File.WriteAllText(tmp.File("data/dataset_definitions.yml"), Definitions + "evaluations: []\n");
        File.WriteAllText(tmp.File("models/m/ac.yml"), Model + "global_definitions: ../../data/dataset_definitions.yml\n");
        var engine = Load(tmp, new AccuracyCheckerEnvironment(DataDir: tmp.File("datasets")));
        Assert.Contains(engine.Warnings, w => w.Contains("dataset_definitions.yml': evaluations is read and ignored", StringComparison.Ordinal));
    }

    [Fact]
    public void An_adapter_file_is_looked_for_in_MODEL_ATTRIBUTES_DIR_then_MODELS_DIR()
    {
        using var tmp = Layout();
        Directory.CreateDirectory(tmp.File("attributes"));
        Directory.CreateDirectory(tmp.File("models/shared"));
        File.WriteAllText(tmp.File("models/shared/chars.txt"), "a\nb\n");
        File.WriteAllText(tmp.File("models/m/ac.yml"),
            "models:\n  - name: m\n    launchers:\n      - framework: onnx_runtime\n" +
            "        adapter: {type: ctc_greedy_search_decoder, blank_label: 0, shift_labels: true, vocabulary_file: chars.txt}\n" +
            "    datasets:\n      - name: digits\n        metrics:\n          - type: character_recognition_accuracy\n" +
            "global_definitions: ../../data/dataset_definitions.yml\n");
        File.WriteAllText(tmp.File("data/dataset_definitions.yml"), Definitions.Replace("converter: imagenet", "converter: icdar13_recognition", StringComparison.Ordinal));
        File.WriteAllText(tmp.File("datasets/val.txt"), "a.png ab\n");
        // Not in the attributes folder, so the models folder (where it is) prefixes it.
        var engine = Load(tmp, new AccuracyCheckerEnvironment(DataDir: tmp.File("datasets"), ModelsDir: tmp.File("models/shared"), ModelAttributesDir: tmp.File("attributes")));
        Assert.Equal(new[] { "a", "b" }, engine.Datasets.Single().Adapter.Symbols!.Where(s => s.Length > 0).Take(2));
        // In the attributes folder too: that one comes first.
        File.WriteAllText(tmp.File("attributes/chars.txt"), "x\ny\n");
        engine = Load(tmp, new AccuracyCheckerEnvironment(DataDir: tmp.File("datasets"), ModelsDir: tmp.File("models/shared"), ModelAttributesDir: tmp.File("attributes")));
        Assert.Equal(new[] { "x", "y" }, engine.Datasets.Single().Adapter.Symbols!.Where(s => s.Length > 0).Take(2));
    }

    [Fact]
    public void A_model_entry_written_in_place_reads_as_the_file_with_its_key_paths()
    {
        using var tmp = Layout();
        var env = new AccuracyCheckerEnvironment(DataDir: tmp.File("datasets"));
        var file = Load(tmp, env);
        // POT's engine section: name, launchers and datasets without models:, here with the definitions key as well.
        var tree = (ConfigMap)((ConfigList)EngineTree.Read(tmp.File("models/m/ac.yml"))["models"]!).Items[0];
        tree.Add("global_definitions", ConfigScalar.From("../../data/dataset_definitions.yml"));
        var inPlace = EngineParser.Parse(tree, "engine", tmp.File("models/m"), "engine", environment: env);
        Assert.Equal(file.Datasets.Single().DataSource, inPlace.Datasets.Single().DataSource);
        Assert.Equal(file.Metrics.Select(m => m.Name), inPlace.Metrics.Select(m => m.Name));

        tree.Add("device", ConfigScalar.From("CPU"));
        var e = Assert.Throws<PotException>(() => EngineParser.Parse(tree, "engine", tmp.File("models/m"), "engine", environment: env));
        Assert.Contains("engine.device", e.Message, StringComparison.Ordinal);
    }
}
