using System.IO.Compression;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Evaluation;

public class EngineResolverTests
{
    private static void Npy(string path, int items, float first)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        NpyWriter.Save(path, Enumerable.Range(0, items * 2).Select(i => first + i).ToArray(), new long[] { items, 2 }, "<f4");
    }

    private static PotConfig Config(TempFolder tmp, string engine)
    {
        File.WriteAllText(tmp.File("m.onnx"), "not read here");
        File.WriteAllText(tmp.File("pot.json"),
            $$"""
            { "model": { "model_name": "m", "model": "m.onnx" }, "engine": {{engine}},
              "compression": { "algorithms": [ { "name": "DefaultQuantization", "params": {} } ] } }
            """);
        return PotConfigLoader.Load(tmp.File("pot.json"));
    }

    [Fact]
    public void A_pattern_of_npy_files_feeds_one_input_per_matching_file()
    {
        using var tmp = new TempFolder();
        Npy(tmp.File("data/calib_a.npy"), 3, 0);
        Npy(tmp.File("data/calib_b.npy"), 3, 100);
        Npy(tmp.File("data/other.npy"), 5, 0);
        Npy(tmp.File("data/labels.npy"), 3, 0);
        var engine = EngineResolver.Simplified("data/*_?.npy", baseFolder: tmp.Path);
        Assert.True(engine.IsSimplified);
        Assert.Equal(tmp.File("data/*_?.npy"), engine.Source);
        using var data = engine.OpenDataset();
        Assert.Equal(new[] { "calib_a", "calib_b" }, data.InputNames.OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal(3, data.Count);
        Assert.Equal(new[] { 102f, 103f }, data.Get(1).Inputs["calib_b"].ToFloats());
        Assert.Null(data.Get(0).Annotation);
    }

    [Fact]
    public void A_pattern_that_matches_one_npz_opens_that_archive()
    {
        using var tmp = new TempFolder();
        Npy(tmp.File("x.npy"), 4, 1);
        using (var zip = ZipFile.Open(tmp.File("calib-2024.npz"), ZipArchiveMode.Create)) zip.CreateEntryFromFile(tmp.File("x.npy"), "x.npy");
        using var data = EngineResolver.Simplified(tmp.File("calib-*.npz")).OpenDataset();
        Assert.Equal(new[] { "x" }, data.InputNames);
        Assert.Equal(4, data.Count);
    }

    [Fact]
    public void An_image_pattern_selects_the_matching_images_as_POT_s_glob_does()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("img"));
        PngFiles.Save(tmp.File("img/a.png"), 4, 4, 3, new byte[48]);
        PngFiles.Save(tmp.File("img/b.png"), 4, 4, 3, new byte[48]);
        File.WriteAllBytes(tmp.File("img/c.bmp"), new byte[10]); // not an image the pattern selects: never decoded
        using (var data = EngineResolver.Simplified(tmp.File("img/*.png")).OpenDataset()) Assert.Equal(2, data.Count);
        // More than an extension: only the matching images (it was refused: "image patterns select by extension only").
        using (var one = EngineResolver.Simplified(tmp.File("img/a*.png")).OpenDataset())
        {
            Assert.Equal(1, one.Count);
            Assert.Equal(new byte[48].Select(b => (float)b), one.Get(0).Inputs.Values.Single().ToFloats());
        }
        // Images of several extensions: the pattern's choice too; c.bmp is selected now, and decoding it fails by name.
        using var both = EngineResolver.Simplified(tmp.File("img/*.*")).OpenDataset();
        Assert.Equal(3, both.Count);
        var ex = Assert.Throws<PotException>(() => both.Get(2));
        Assert.Contains("c.bmp", ex.Message);
    }

    [Fact]
    public void An_image_pattern_in_a_folder_that_also_holds_npy_files_reads_the_images()
    {
        // The folder alone is NumPy data (it holds .npy files); the pattern selects its images. They were read as the
        // .npy arrays instead, without a word.
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("mixed"));
        PngFiles.Save(tmp.File("mixed/a.png"), 4, 4, 3, Enumerable.Range(0, 48).Select(i => (byte)i).ToArray());
        Npy(tmp.File("mixed/x.npy"), 5, 0);
        using var data = EngineResolver.Simplified(tmp.File("mixed/*.png")).OpenDataset();
        Assert.Equal(1, data.Count);
        Assert.Equal(new long[] { 1, 3, 4, 4 }, data.Get(0).Inputs.Values.Single().Shape);
        using var arrays = EngineResolver.Simplified(tmp.File("mixed")).OpenDataset();
        Assert.Equal(5, arrays.Count);
    }

    [Theory]
    [InlineData("data/*.txt", "no file")]
    [InlineData("data/*", "'a.npy', 'notes.txt'")]
    [InlineData("missing/*.npy", "does not exist")]
    public void Patterns_that_select_nothing_usable_are_refused_with_the_key_and_the_reason(string pattern, string why)
    {
        using var tmp = new TempFolder();
        Npy(tmp.File("data/a.npy"), 2, 0);
        File.WriteAllText(tmp.File("data/notes.txt"), "x");
        if (pattern.EndsWith(".txt")) File.Delete(tmp.File("data/notes.txt"));
        var ex = Assert.Throws<PotException>(() => EngineResolver.Simplified(pattern, "engine.data_source", tmp.Path));
        Assert.Equal("EngineDataPatternInvalid", ex.ErrorId);
        Assert.StartsWith("engine.data_source:", ex.Message);
        Assert.Contains(why, ex.Message);
    }

    [Fact]
    public void A_config_gives_its_simplified_file_and_inline_engines()
    {
        using var tmp = new TempFolder();
        Npy(tmp.File("calib/input.npy"), 3, 0);
        Npy(tmp.File("val/input.npy"), 5, 0);
        NpyWriter.Save(tmp.File("val/labels.npy"), new long[] { 0, 1, 0, 1, 1 }, new long[] { 5 }, "<i8");

        var simplified = EngineResolver.FromConfig(Config(tmp, """{ "type": "simplified", "data_source": "calib" }"""));
        Assert.True(simplified.IsSimplified);
        using (var d = simplified.OpenDataset()) Assert.Equal(3, d.Count);

        var pattern = EngineResolver.FromConfig(Config(tmp, """{ "type": "simplified", "data_source": "calib/*.npy" }"""));
        using (var d = pattern.OpenDataset()) Assert.Equal(new[] { "input" }, d.InputNames);

        File.WriteAllText(tmp.File("engine.yml"), "dataset:\n  data_source: val\nadapter: classification\nmetrics:\n  - type: accuracy\n");
        var file = EngineResolver.FromConfig(Config(tmp, """{ "config": "engine.yml" }"""));
        Assert.Equal(tmp.File("engine.yml"), file.Source);
        Assert.Equal("accuracy@top1", Assert.Single(file.Metrics).Name);

        var inline = EngineResolver.FromConfig(Config(tmp, """{ "dataset": { "data_source": "val" }, "adapter": "classification", "metrics": [ { "type": "accuracy" } ] }"""));
        Assert.False(inline.IsSimplified);
        using (var d = inline.OpenDataset()) Assert.Equal(5, d.Count);
    }
}
