using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Tests.Onnx;

/// <summary>Outputs: create-new without overwrite (also at the final move), only regular files replaced, folders refused up front.</summary>
public class OutputFilesTests
{
    private static PotException Failure(string target, Exception e) => new("OutputWriteFailed", PotErrorCategory.WriteError, e.Message, target, e);

    [Fact]
    public void Without_overwrite_a_file_that_appears_during_the_write_is_kept_and_the_writer_gets_OutputExists()
    {
        using var tmp = new TempFolder();
        string target = tmp.File("out.bin");
        OutputFiles.CheckTarget(target, overwrite: false);
        // Another process creates the file after the up-front check, while this one is still writing.
        var e = Assert.Throws<PotException>(() => OutputFiles.Write(target, overwrite: false, t =>
        {
            File.WriteAllText(t, "mine");
            File.WriteAllText(target, "theirs");
        }, Failure));
        Assert.Equal("OutputExists", e.ErrorId);
        Assert.Equal("theirs", File.ReadAllText(target));
        Assert.Equal(new[] { target }, Directory.GetFiles(tmp.Path));
    }

    [Fact]
    public void With_overwrite_a_regular_file_is_replaced()
    {
        using var tmp = new TempFolder();
        string target = tmp.File("out.bin");
        File.WriteAllText(target, "old");
        Assert.Equal("OutputExists", Assert.Throws<PotException>(() => OutputFiles.CheckTarget(target, overwrite: false)).ErrorId);
        OutputFiles.CheckTarget(target, overwrite: true);
        OutputFiles.Write(target, overwrite: true, t => File.WriteAllText(t, "new"), Failure);
        Assert.Equal("new", File.ReadAllText(target));
    }

    [Fact]
    public void Devices_and_symbolic_links_are_never_replaced()
    {
        using var tmp = new TempFolder();
        string link = tmp.File("link.bin");
        File.WriteAllText(tmp.File("real.bin"), "real");
        File.CreateSymbolicLink(link, tmp.File("real.bin"));
        Assert.Equal("OutputNotRegularFile", Assert.Throws<PotException>(() => OutputFiles.CheckTarget(link, overwrite: true)).ErrorId);
        var e = Assert.Throws<PotException>(() => OutputFiles.Write(link, overwrite: true, t => File.WriteAllText(t, "new"), Failure));
        Assert.Equal("OutputNotRegularFile", e.ErrorId);
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.Equal("real", File.ReadAllText(tmp.File("real.bin")));
        if (!OperatingSystem.IsWindows())
        {
            // Checked without writing anything: a broken check must not be able to replace /dev/null.
            var device = Assert.Throws<PotException>(() => OutputFiles.CheckTarget("/dev/null", overwrite: true));
            Assert.Equal("OutputNotRegularFile", device.ErrorId);
            Assert.Contains("device", device.Message);
        }
    }

    [Fact]
    public void A_folder_or_a_path_ending_in_a_separator_is_refused_before_anything_is_created()
    {
        using var tmp = new TempFolder();
        string newFolder = tmp.File("newdir") + Path.DirectorySeparatorChar;
        Assert.Equal("OutputIsFolder", Assert.Throws<PotException>(() => OutputFiles.CheckTarget(newFolder, overwrite: true)).ErrorId);
        Assert.Equal("OutputIsFolder", Assert.Throws<PotException>(() => OutputFiles.Write(newFolder, true, t => File.WriteAllText(t, "x"), Failure)).ErrorId);
        Assert.False(Directory.Exists(tmp.File("newdir")));
        Assert.Equal("OutputIsFolder", Assert.Throws<PotException>(() => OutputFiles.CheckTarget(tmp.Path, overwrite: true)).ErrorId);
        // Export-PotConfig's target: a folder never becomes '<folder>.json'.
        Assert.Equal("OutputIsFolder", Assert.Throws<PotException>(() => PotConfigWriter.ResolveTarget(tmp.Path, null)).ErrorId);
        Assert.Empty(Directory.GetFileSystemEntries(tmp.Path));
    }
}
