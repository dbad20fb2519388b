using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Tests.Data;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Evaluation;

public class EngineParserTests
{
    private static TempFolder Folder()
    {
        var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("data"));
        NpyWriter.Save(tmp.File("data/input.npy"), new float[8], new long[] { 2, 4 }, "<f4");
        NpyWriter.Save(tmp.File("data/labels.npy"), new[] { 0L, 1L }, new long[] { 2 }, "<i8");
        Directory.CreateDirectory(tmp.File("img"));
        File.WriteAllBytes(tmp.File("img/a.png"), PngFiles.Rgb(1, 1, new byte[] { 1, 2, 3 }));
        File.WriteAllText(tmp.File("chars.txt"), "-\na\nb\n");
        File.WriteAllText(tmp.File("m.ps1"), "param($Outputs, $Annotation) 1");
        return tmp;
    }

    private static EngineDefinition Load(TempFolder tmp, string yaml)
    {
        File.WriteAllText(tmp.File("engine.yml"), yaml);
        return EngineDefinition.Load(tmp.File("engine.yml"));
    }

    private static string[] Problems(TempFolder tmp, string yaml)
    {
        var e = Assert.Throws<PotException>(() => Load(tmp, yaml));
        Assert.Equal("EngineInvalid", e.ErrorId);
        return (string[])e.Data["Problems"]!;
    }

    [Fact]
    public void Engine_problems_are_config_problems_with_key_path_and_line()
    {
        using var tmp = new TempFolder();
        var e = Assert.Throws<PotException>(() => Load(tmp, "threads: 2\ndataset:\n  data_source: nowhere\n"));
        var problem = Assert.Single(PotPowerShell.Core.Config.ConfigErrors.GetConfigProblems(e));
        Assert.Equal(("dataset.data_source", 3), (problem.KeyPath, problem.Line));
        Assert.Equal(problem.ToString(), Assert.Single((string[])e.Data["Problems"]!));
    }

    [Fact]
    public void Full_engine_file_parses_with_resolved_paths_and_defaults()
    {
        using var tmp = Folder();
        var engine = Load(tmp, string.Join("\n",
            "# digits",
            "batch_size: 16",
            "threads: 2",
            "cache_mb: 64",
            "adapter: classification",
            "metrics:",
            "  - type: accuracy",
            "  - name: top2",
            "    type: accuracy",
            "    top_k: 2",
            "  - type: f1",
            "    average: weighted",
            "  - type: mse",
            "    reference: fp32",
            "  - name: mine",
            "    type: script",
            "    path: m.ps1",
            "    direction: higher-worse",
            "dataset:",
            "  name: digits",
            "  data_source: data",
            ""));
        Assert.Equal(16, engine.BatchSize);
        Assert.Equal(2, engine.Threads);
        Assert.Equal(64, engine.CacheMegabytes);
        var d = Assert.Single(engine.Datasets);
        Assert.Equal("digits", d.Name);
        Assert.Equal(tmp.File("data"), d.DataSource);
        Assert.Equal(tmp.File("data/labels.npy"), d.LabelsPath);
        Assert.Equal(new[] { "input" }, d.InputFiles.Keys);
        Assert.Equal(AdapterType.Classification, d.Adapter.Type);
        Assert.True(engine.HasAnnotations);
        Assert.Equal(new[] { "accuracy@top1", "top2", "f1", "mse", "mine" }, engine.Metrics.Select(m => m.Name));
        Assert.Equal(2, engine.Metrics[1].TopK);
        Assert.Equal(AverageKind.Weighted, engine.Metrics[2].Average);
        Assert.Equal(MetricDirection.HigherWorse, engine.Metrics[3].Direction);
        Assert.True(engine.Metrics[3].RequiresReference);
        Assert.Equal(tmp.File("m.ps1"), engine.Metrics[4].ScriptPath);
        Assert.Equal(MetricDirection.HigherWorse, engine.Metrics[4].Direction);
    }

    [Fact]
    public void Neutral_tree_with_numbers_bools_and_lists_gives_the_same_engine()
    {
        using var tmp = Folder();
        // Typed scalars built in code (an integer, a boolean) are read by their text, as a file's are.
        var tree = EngineTree.Map(0,
            ("batch_size", ConfigScalar.From(8L)),
            ("threads", ConfigScalar.From(1L)),
            ("adapter", EngineTree.Map(0, ("type", ConfigScalar.From("ctc_greedy")), ("dictionary", ConfigScalar.From("chars.txt")), ("blank_index", ConfigScalar.From(0L)))),
            ("metrics", EngineTree.List(new[]
            {
                EngineTree.Map(0, ("type", ConfigScalar.From("character_recognition_accuracy"))),
                EngineTree.Map(0, ("name", ConfigScalar.From("s")), ("type", ConfigScalar.From("script")), ("path", ConfigScalar.From("m.ps1")), ("requires_annotation", ConfigScalar.From(false))),
            })),
            ("datasets", EngineTree.List(new[] { EngineTree.Map(0, ("data_source", ConfigScalar.From("img")), ("labels", ConfigScalar.From("chars.txt")), ("channels", ConfigScalar.From(1L))) })));
        // chars.txt has 3 lines, img has 1 image: the parser does not open data, so this parses.
        var engine = EngineDefinition.FromTree(tree, "engine", tmp.Path);
        Assert.Equal(8, engine.BatchSize);
        Assert.Equal(new[] { "-", "a", "b" }, engine.Datasets[0].Adapter.Symbols);
        Assert.False(engine.Metrics[1].RequiresAnnotation);
        Assert.Equal(1, engine.Datasets[0].Image!.Channels);
    }

    [Fact]
    public void Tree_problems_carry_the_callers_prefix()
    {
        using var tmp = Folder();
        var tree = EngineTree.Map(0, ("dataset", EngineTree.Map(0, ("data_source", ConfigScalar.From("data")), ("batchsize", ConfigScalar.From(3L)))));
        var e = Assert.Throws<PotException>(() => EngineDefinition.FromTree(tree, "engine", tmp.Path));
        var problems = (string[])e.Data["Problems"]!;
        Assert.Contains(problems, p => p.StartsWith("engine.dataset.batchsize:") && p.Contains("is not a known key in 'engine.dataset'. Known keys: adapter, annotation_file,"));
    }

    [Theory]
    [InlineData("dataset:\n  data_source: data\n  batch_size: 3\n", "dataset.batch_size", "is not a known key in 'dataset'. Known keys: adapter, annotation_file, annotation_separator,")]
    [InlineData("batch_sise: 3\ndataset:\n  data_source: data\n", "batch_sise", "Did you mean 'batch_size'")]
    [InlineData("batch_size: many\ndataset:\n  data_source: data\n", "batch_size", "whole number")]
    [InlineData("batch_size: 0\ndataset:\n  data_source: data\n", "batch_size", "out of range")]
    [InlineData("threads: -1\ndataset:\n  data_source: data\n", "threads", "out of range")]
    [InlineData("dataset:\n  data_source: nowhere\n", "dataset.data_source", "does not exist")]
    [InlineData("dataset:\n  name: x\n", "dataset.data_source", "is required")]
    [InlineData("metrics: []\n", "(engine)", "has no data")]
    [InlineData("dataset:\n  data_source: data\ndatasets:\n  - data_source: data\n", "datasets", "not both")]
    [InlineData("datasets: []\n", "datasets", "is empty")]
    [InlineData("datasets:\n  - data\n", "datasets[0]", "must be a mapping")]
    [InlineData("dataset:\n  data_source: data\nmetrics:\n  - type: acuracy\n", "metrics[0].type", "Did you mean 'accuracy'")]
    [InlineData("dataset:\n  data_source: data\nmetrics:\n  - name: x\n", "metrics[0].type", "is required")]
    [InlineData("dataset:\n  data_source: data\nmetrics:\n  - type: accuracy\n    top_k: 0\n", "metrics[0].top_k", "out of range")]
    [InlineData("dataset:\n  data_source: data\nmetrics:\n  - type: accuracy\n    average: macro\n", "metrics[0].average", "is not a known key in 'metrics[0]'. Known keys: name, top_k, type.")]
    [InlineData("dataset:\n  data_source: data\nmetrics:\n  - type: f1\n    average: mean\n", "metrics[0].average", "not one of")]
    [InlineData("dataset:\n  data_source: data\nmetrics:\n  - type: accuracy\n  - type: accuracy\n", "metrics[1].name", "used twice")]
    [InlineData("dataset:\n  data_source: data\nmetrics:\n  - type: psnr\n    max_value: 0\n", "metrics[0].max_value", "out of range")]
    [InlineData("dataset:\n  data_source: data\nmetrics:\n  - type: script\n", "metrics[0].path", "is required")]
    [InlineData("dataset:\n  data_source: data\nmetrics:\n  - type: script\n    path: chars.txt\n", "metrics[0].path", "not a .ps1")]
    [InlineData("dataset:\n  data_source: data\nmetrics:\n  - type: script\n    path: m.ps1\n    direction: up\n", "metrics[0].direction", "not one of")]
    [InlineData("dataset:\n  data_source: data\nmetrics:\n  - accuracy\n", "metrics[0]", "must be a mapping")]
    [InlineData("dataset:\n  data_source: data\nadapter: softmax\n", "adapter", "not one of")]
    [InlineData("dataset:\n  data_source: data\nadapter: ctc_greedy\n", "adapter", "needs a dictionary")]
    [InlineData("dataset:\n  data_source: data\nadapter:\n  type: ctc_greedy\n", "adapter.dictionary", "is required")]
    [InlineData("dataset:\n  data_source: data\nadapter:\n  type: classification\n  blank_index: 0\n", "adapter.blank_index", "ctc_greedy adapter only")]
    [InlineData("dataset:\n  data_source: data\nadapter:\n  type: ctc_greedy\n  alphabet: ab\n  layout: CTN\n", "adapter.layout", "not one of")]
    [InlineData("dataset:\n  data_source: data\nadapter:\n  type: ctc_greedy\n  alphabet: ab\nmetrics:\n  - type: accuracy\n", "metrics[0].type", "needs class scores")]
    [InlineData("dataset:\n  data_source: data\nmetrics:\n  - type: character_level_accuracy\n", "metrics[0].type", "no ctc_greedy adapter")]
    [InlineData("dataset:\n  data_source: img\nmetrics:\n  - type: accuracy\n", "metrics[0]", "has none")]
    [InlineData("dataset:\n  data_source: data\n  labels: chars.csv\n", "dataset.labels", "does not exist")]
    [InlineData("dataset:\n  data_source: data\n  labels: m.ps1\n", "dataset.labels", "neither a .npy")]
    [InlineData("dataset:\n  data_source: data\n  preprocessing: []\n", "dataset.preprocessing", "image folders only")]
    [InlineData("dataset:\n  data_source: data\n  inputs:\n    x: missing.npy\n", "dataset.inputs.x", "does not exist")]
    [InlineData("dataset:\n  data_source: data\n  inputs: input.npy\n", "dataset.inputs", "must map")]
    [InlineData("dataset:\n  data_source: data\n  format: csv\n", "dataset.format", "not one of")]
    [InlineData("dataset:\n  data_source: img\n  channels: 2\n", "dataset.channels", "3 (colour) or 1")]
    [InlineData("dataset:\n  data_source: img\n  layout: CHW\n", "dataset.layout", "not one of")]
    [InlineData("dataset:\n  data_source: img\n  preprocessing:\n    - type: resize\n", "dataset.preprocessing[0].size", "is required")]
    [InlineData("dataset:\n  data_source: img\n  preprocessing:\n    - type: resize\n      width: 4\n", "dataset.preprocessing[0].height", "together with")]
    [InlineData("dataset:\n  data_source: img\n  preprocessing:\n    - type: resize\n      size: 4\n      width: 4\n", "dataset.preprocessing[0].size", "not both")]
    [InlineData("dataset:\n  data_source: img\n  preprocessing:\n    - type: resize\n      width: 4\n      height: 4\n      aspect: shorter_side\n", "dataset.preprocessing[0].aspect", "give size")]
    [InlineData("dataset:\n  data_source: img\n  preprocessing:\n    - type: blur\n", "dataset.preprocessing[0].type", "not one of")]
    [InlineData("dataset:\n  data_source: img\n  preprocessing:\n    - type: normalization\n      mean: [1, 2]\n", "dataset.preprocessing[0].mean", "3 channels")]
    [InlineData("dataset:\n  data_source: img\n  preprocessing:\n    - type: normalization\n      std: 0\n", "dataset.preprocessing[0].std", "must not contain 0")]
    [InlineData("dataset:\n  data_source: img\n  preprocessing:\n    - type: normalization\n      mean: [1, x, 3]\n", "dataset.preprocessing[0].mean[1]", "must be a number")]
    [InlineData("dataset:\n  data_source: img\n  preprocessing:\n    - type: scale\n      size: 3\n", "dataset.preprocessing[0].size", "does not apply to a scale step")]
    [InlineData("dataset:\n  data_source: img\n  preprocessing:\n    - type: crop\n      size: 0\n", "dataset.preprocessing[0].size", "out of range")]
    [InlineData("dataset:\n  data_source: img\n  file_column: f\n", "dataset.file_column", ".csv annotation_file only")]
    public void Each_problem_names_its_key_path(string yaml, string keyPath, string text)
    {
        using var tmp = Folder();
        var problems = Problems(tmp, yaml);
        Assert.Contains(problems, p => p.StartsWith(keyPath + " (line ") || p.StartsWith(keyPath + ":") ? p.Contains(text) : false);
    }

    [Theory]
    [InlineData("  annotation_file: missing.txt\n", "dataset.annotation_file")]
    [InlineData("  voc_annotations: missing\n", "dataset.voc_annotations")]
    public void Annotations_that_do_not_exist_are_one_problem_not_one_more_per_metric(string annotations, string keyPath)
    {
        using var tmp = Folder();
        var problems = Problems(tmp, "dataset:\n  data_source: img\n" + annotations + "metrics:\n  - type: accuracy\n  - {name: a5, type: accuracy, top_k: 5}\n");
        Assert.StartsWith(keyPath + " (line ", Assert.Single(problems));
    }

    [Fact]
    public void Every_problem_is_reported_at_once_with_line_numbers()
    {
        using var tmp = Folder();
        var problems = Problems(tmp, "batch_size: 0\nthreads: x\ndataset:\n  data_source: data\n  colour: RGB\nmetrics:\n  - type: nope\n");
        Assert.Equal(4, problems.Length);
        Assert.StartsWith("batch_size (line 1):", problems[0]);
        Assert.Contains(problems, p => p.StartsWith("dataset.colour (line 5):"));
        Assert.Contains(problems, p => p.StartsWith("metrics[0].type (line 7):"));
    }

    [Fact]
    public void Invalid_yaml_is_engine_invalid_with_the_line()
    {
        using var tmp = Folder();
        var e = Assert.Throws<PotException>(() => Load(tmp, "dataset:\n  data_source: [unclosed\n"));
        Assert.Equal("EngineInvalid", e.ErrorId);
        Assert.Contains("line", e.Message);
    }

    [Fact]
    public void Duplicate_keys_are_engine_invalid()
    {
        using var tmp = Folder();
        var e = Assert.Throws<PotException>(() => Load(tmp, "dataset:\n  data_source: data\n  data_source: data\n"));
        Assert.Equal("EngineInvalid", e.ErrorId);
    }

    [Fact]
    public void Missing_engine_file_is_engine_not_found()
    {
        var e = Assert.Throws<PotException>(() => EngineDefinition.Load(Path.Combine(Path.GetTempPath(), "no-such-engine.yml")));
        Assert.Equal("EngineNotFound", e.ErrorId);
    }

    [Fact]
    public void Environment_variables_expand_in_paths()
    {
        using var tmp = Folder();
        Environment.SetEnvironmentVariable("POT_TEST_DATA_DIR", tmp.File("data"));
        var engine = Load(tmp, "dataset:\n  data_source: ${POT_TEST_DATA_DIR}\n");
        Assert.Equal(tmp.File("data"), engine.Datasets[0].DataSource);
    }

    [Fact]
    public void Simplified_engine_has_data_but_no_annotations_and_is_refused_for_accuracy()
    {
        using var tmp = Folder();
        var engine = EngineDefinition.FromTree(EngineTree.Map(0, ("type", ConfigScalar.From("simplified")), ("data_source", ConfigScalar.From("data"))), "engine", tmp.Path);
        Assert.True(engine.IsSimplified);
        Assert.False(engine.HasAnnotations); // labels.npy is ignored: simplified means unlabelled
        Assert.Empty(engine.Metrics);
        using (var ds = engine.OpenDataset()) Assert.Equal(2, ds.Count);
        var e = Assert.Throws<PotException>(() => engine.EnsureEvaluable("AccuracyAwareQuantization"));
        Assert.Equal("EngineHasNoAnnotations", e.ErrorId);
        Assert.Contains("simplified", e.Message);
        Assert.Equal(engine.Datasets[0].DataSource, EngineDefinition.Simplified(tmp.File("data")).Datasets[0].DataSource);
    }

    [Fact]
    public void Simplified_engine_rejects_other_types_and_keys()
    {
        using var tmp = Folder();
        var e = Assert.Throws<PotException>(() => EngineDefinition.FromTree(
            EngineTree.Map(0, ("type", ConfigScalar.From("accuracy_checker")), ("data_source", ConfigScalar.From("data")), ("metrics", new ConfigList())), "engine", tmp.Path));
        var problems = (string[])e.Data["Problems"]!;
        Assert.Contains(problems, p => p.StartsWith("engine.type:"));
        Assert.Contains(problems, p => p.StartsWith("engine.metrics:"));
    }

    [Fact]
    public void Data_path_engine_gets_accuracy_when_labels_exist()
    {
        using var tmp = Folder();
        var labelled = EngineDefinition.FromDataPath(tmp.File("data"));
        Assert.Equal("accuracy@top1", Assert.Single(labelled.Metrics).Name);
        labelled.EnsureEvaluable("test");
        File.Delete(tmp.File("data/labels.npy"));
        var unlabelled = EngineDefinition.FromDataPath(tmp.File("data"));
        Assert.Empty(unlabelled.Metrics);
        Assert.Empty(unlabelled.Warnings);
        Assert.Equal("EngineHasNoAnnotations", Assert.Throws<PotException>(() => unlabelled.EnsureEvaluable("test")).ErrorId);
        // Labels as text beside the arrays are not read, and it says so.
        File.WriteAllText(tmp.File("data/labels.txt"), "0\n1\n");
        var text = EngineDefinition.FromDataPath(tmp.File("data"));
        Assert.Empty(text.Metrics);
        Assert.Contains("labels.txt' is not read as the labels of", Assert.Single(text.Warnings));
    }

    [Fact]
    public void A_data_path_of_one_npy_file_per_item_reads_its_items_and_labels_npy_as_labels()
    {
        // Three sequences of 2, 3 and 4 values, a file each, and labels.npy: items of several lengths cannot be one
        // array per input, so the folder is read as format npy_files, and labels.npy is its labels, not an item.
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("items"));
        for (int n = 0; n < 3; n++) NpyWriter.Save(tmp.File($"items/{n}.npy"), new float[2 + n], new long[] { 2 + n }, "<f4");
        NpyWriter.Save(tmp.File("items/labels.npy"), new[] { 2L, 0L, 1L }, new long[] { 3 }, "<i8");
        var engine = EngineDefinition.FromDataPath(tmp.File("items"));
        Assert.Equal(DatasetFormat.NpyFiles, Assert.Single(engine.Datasets).Format);
        Assert.Equal("accuracy@top1", Assert.Single(engine.Metrics).Name);
        using var data = engine.OpenDataset();
        Assert.Equal(3, data.Count);
        Assert.Equal(new long[] { 1, 4 }, data.Get(2).Inputs.Values.Single().Shape);
        Assert.Equal(1L, Convert.ToInt64(data.Get(2).Annotation));
    }

    [Fact]
    public void Dataset_level_metrics_cover_their_dataset_only()
    {
        using var tmp = Folder();
        var engine = Load(tmp, string.Join("\n",
            "metrics:",
            "  - type: accuracy",
            "datasets:",
            "  - name: one",
            "    data_source: data",
            "  - name: two",
            "    data_source: data",
            "    metrics:",
            "      - name: two_f1",
            "        type: f1",
            ""));
        Assert.Equal(new[] { 0, 1 }, engine.Metrics[0].Datasets);
        Assert.Equal(new[] { 1 }, engine.Metrics[1].Datasets);
    }
}
