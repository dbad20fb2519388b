using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Tests.Evaluation;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Data;

public class ClassFoldersTests
{
    private static readonly string[] Png = { ".png" };

    [Fact]
    public void Classes_are_the_sub_folders_in_code_point_order_and_an_empty_one_keeps_its_number()
    {
        using var tmp = new TempFolder();
        // U+FF21 (fullwidth A) comes before U+1D400 (mathematical bold A) by code point, although its UTF-16 unit
        // (FF21) is above the surrogate D835 that starts U+1D400: Python's sort, which Accuracy Checker uses, gives
        // fullwidth first. '10' sorts before '9' as text.
        foreach (var c in new[] { "\U0001D400", "\uFF21", "9", "10", "empty" }) Directory.CreateDirectory(tmp.File(c));
        foreach (var f in new[] { "\U0001D400/p.png", "\uFF21/q.png", "9/b.png", "9/a.png", "10/c.png" }) File.WriteAllBytes(tmp.File(f), new byte[] { 1 });
        File.WriteAllText(tmp.File("top.png"), "in no class folder");

        var set = ClassFolders.Read(tmp.Path, Png);
        Assert.Equal(new[] { "10", "9", "empty", "\uFF21", "\U0001D400" }, set.Classes);
        Assert.Equal(new[] { "10/c.png", "9/a.png", "9/b.png", "\uFF21/q.png", "\U0001D400/p.png" }, set.Files);
        Assert.Equal(new object?[] { 0L, 1L, 1L, 3L, 4L }, set.Labels);
    }

    [Fact]
    public void An_entry_that_is_not_an_image_is_an_error_naming_it()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("cat"));
        File.WriteAllBytes(tmp.File("cat/a.png"), new byte[] { 1 });
        File.WriteAllText(tmp.File("cat/notes.txt"), "x");
        var e = Assert.Throws<PotException>(() => ClassFolders.Read(tmp.Path, Png));
        Assert.Equal("DatasetEntryNotImage", e.ErrorId);
        Assert.Contains("notes.txt", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, ClassFolders.Read(tmp.Path, new[] { ".png", ".txt" }).Files.Count);
    }

    [Fact]
    public void Engine_files_take_class_folders_alone_and_annotation_separator_with_line_files_only()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("set/a"));
        PngFiles.Save(tmp.File("set/a/x.png"), 1, 1, 3, new byte[] { 1, 2, 3 });
        File.WriteAllText(tmp.File("val.txt"), "a/x.png, 0\n");
        File.WriteAllText(tmp.File("val.csv"), "file,label\na/x.png,0\n");
        EngineDefinition Load(string dataset)
        {
            File.WriteAllText(tmp.File("e.yml"), "adapter: classification\ndatasets:\n  - data_source: set\n" + dataset + "    metrics: [{type: accuracy}]\n");
            return EngineDefinition.Load(tmp.File("e.yml"));
        }
        string[] Problems(string dataset) => (string[])Assert.Throws<PotException>(() => Load(dataset)).Data["Problems"]!;

        Assert.Equal(tmp.File("set"), Load("    class_folders: set\n").Datasets[0].ClassFolders);
        var comma = Load("    annotation_file: val.txt\n    annotation_separator: comma\n");
        using (var data = comma.OpenDataset()) Assert.Equal("0", data.Get(0).Annotation);
        Assert.Contains(Problems("    class_folders: set\n    annotation_file: val.txt\n"), p => p.Contains("class_folders", StringComparison.Ordinal) && p.Contains("not more than one", StringComparison.Ordinal));
        Assert.Contains(Problems("    class_folders: set\n    classes: [a]\n"), p => p.StartsWith("datasets[0].classes", StringComparison.Ordinal));
        Assert.Contains(Problems("    annotation_file: val.csv\n    annotation_separator: comma\n"), p => p.StartsWith("datasets[0].annotation_separator", StringComparison.Ordinal));
        Assert.Contains(Problems("    annotation_file: val.txt\n    annotation_separator: tab\n"), p => p.StartsWith("datasets[0].annotation_separator", StringComparison.Ordinal));
    }
}
