using System.IO.Compression;
using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Tests.Data;

[Collection(ProcessTempFolderUsers.Name)]
public class NpyReaderTests
{
    [Fact]
    public void Reads_float32_in_c_order()
    {
        var bytes = NpyWriter.Encode(new[] { 1f, 2f, 3f, 4f, 5f, 6f }, new long[] { 2, 3 }, "<f4");
        var t = NpyReader.Read(new MemoryStream(bytes), "x.npy");
        Assert.Equal(TensorElementKind.Float, t.Kind);
        Assert.Equal(new long[] { 2, 3 }, t.Shape);
        Assert.Equal(new[] { 1f, 2f, 3f, 4f, 5f, 6f }, (float[])t.Data);
    }

    [Theory]
    [InlineData("<f2", TensorElementKind.Float16)]
    [InlineData("<i8", TensorElementKind.Int64)]
    [InlineData("<i4", TensorElementKind.Int32)]
    [InlineData("|u1", TensorElementKind.UInt8)]
    public void Reads_each_supported_dtype(string descr, TensorElementKind kind)
    {
        byte[] bytes = kind switch
        {
            TensorElementKind.Float16 => NpyWriter.Encode(new[] { (Half)1.5f, (Half)(-2f) }, new long[] { 2 }, descr),
            TensorElementKind.Int64 => NpyWriter.Encode(new[] { 7L, -3L }, new long[] { 2 }, descr),
            TensorElementKind.Int32 => NpyWriter.Encode(new[] { 7, -3 }, new long[] { 2 }, descr),
            _ => NpyWriter.Encode(new byte[] { 7, 200 }, new long[] { 2 }, descr),
        };
        var t = NpyReader.Read(new MemoryStream(bytes), "x.npy");
        Assert.Equal(kind, t.Kind);
        var expected = kind switch
        {
            TensorElementKind.Float16 => new[] { 1.5f, -2f },
            TensorElementKind.UInt8 => new[] { 7f, 200f },
            _ => new[] { 7f, -3f },
        };
        Assert.Equal(expected, t.ToFloats());
    }

    [Fact]
    public void Fortran_order_is_refused_with_advice()
    {
        var bytes = NpyWriter.Encode(new[] { 1f, 2f }, new long[] { 1, 2 }, "<f4", fortran: true);
        var e = Assert.Throws<PotException>(() => NpyReader.Read(new MemoryStream(bytes), "f.npy"));
        Assert.Equal("NpyFortranOrder", e.ErrorId);
        Assert.Contains("ascontiguousarray", e.Message);
    }

    [Fact]
    public void Unsupported_dtype_names_the_type()
    {
        var bytes = NpyWriter.Encode(new[] { 1f, 2f }, new long[] { 2 }, "<c8");
        var e = Assert.Throws<PotException>(() => NpyReader.Read(new MemoryStream(bytes), "c.npy"));
        Assert.Equal("NpyUnsupportedType", e.ErrorId);
        Assert.Contains("<c8", e.Message);
    }

    [Fact]
    public void Npz_archive_and_folder_give_the_same_dataset()
    {
        using var tmp = new TempFolder();
        var x = Enumerable.Range(0, 12).Select(i => (float)i).ToArray();
        var labels = new long[] { 0, 1, 2 };
        Directory.CreateDirectory(tmp.File("folder"));
        NpyWriter.Save(tmp.File("folder/input.npy"), x, new long[] { 3, 4 }, "<f4");
        NpyWriter.Save(tmp.File("folder/labels.npy"), labels, new long[] { 3 }, "<i8");
        using (var zip = ZipFile.Open(tmp.File("data.npz"), ZipArchiveMode.Create))
        {
            using (var s = zip.CreateEntry("input.npy").Open()) s.Write(NpyWriter.Encode(x, new long[] { 3, 4 }, "<f4"));
            using (var s = zip.CreateEntry("labels.npy").Open()) s.Write(NpyWriter.Encode(labels, new long[] { 3 }, "<i8"));
        }
        // The .npz read into memory, and unpacked into temporary .npy files (what happens to large members).
        foreach (var ds in new[] { NpyDataset.Open(tmp.File("folder")), NpyDataset.Open(tmp.File("data.npz")), NpyDataset.Open(tmp.File("data.npz"), npzInMemoryBytes: 0) })
        {
            Assert.Equal(3, ds.Count);
            Assert.Equal(new[] { "input" }, ds.InputNames);
            Assert.True(ds.HasAnnotations);
            var item = ds.Get(2);
            Assert.Equal(new long[] { 1, 4 }, item.Inputs["input"].Shape);
            Assert.Equal(new[] { 8f, 9f, 10f, 11f }, item.Inputs["input"].ToFloats());
            Assert.Equal(2L, item.Annotation);
        }
    }

    [Fact]
    public void Large_npz_members_are_read_item_by_item_from_temporary_files_deleted_on_dispose()
    {
        using var tmp = new TempFolder();
        var x = Enumerable.Range(0, 4000).Select(i => (float)i).ToArray();
        using (var zip = ZipFile.Open(tmp.File("big.npz"), ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("input.npy", CompressionLevel.Optimal).Open())
            s.Write(NpyWriter.Encode(x, new long[] { 1000, 4 }, "<f4"));
        string[] Unpacked() => Directory.GetFiles(ProcessTempFolder.Path, "*.npy");
        var before = Unpacked();
        var ds = NpyDataset.Open(tmp.File("big.npz"), npzInMemoryBytes: 1024);
        var created = Unpacked().Except(before).ToArray();
        Assert.Single(created);
        Assert.Equal(1000, ds.Count);
        Assert.Equal(new[] { 3996f, 3997f, 3998f, 3999f }, ds.Get(999).Inputs["input"].ToFloats());
        ds.Dispose();
        Assert.False(File.Exists(created[0]));

        // Ctrl+C while unpacking: stopped, and no temporary file is left behind.
        using var stop = new CancellationTokenSource();
        stop.Cancel();
        Assert.Throws<OperationCanceledException>(() => NpyDataset.Open(tmp.File("big.npz"), npzInMemoryBytes: 1024, stop.Token));
        Assert.Empty(Unpacked().Except(before));

        // A corrupt member names the archive and member, and leaves no temporary file behind.
        using (var zip = ZipFile.Open(tmp.File("cut.npz"), ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("input.npy").Open())
            s.Write(NpyWriter.Encode(x, new long[] { 1000, 4 }, "<f4").AsSpan(0, 2000));
        var e = Assert.Throws<PotException>(() => NpyDataset.Open(tmp.File("cut.npz"), npzInMemoryBytes: 1024));
        Assert.Equal("NpyInvalid", e.ErrorId);
        Assert.Contains("cut.npz:input.npy", e.Message);
        Assert.Empty(Unpacked().Except(before));
    }

    [Fact]
    public void Inputs_with_different_item_counts_are_refused()
    {
        using var tmp = new TempFolder();
        NpyWriter.Save(tmp.File("a.npy"), new float[6], new long[] { 3, 2 }, "<f4");
        NpyWriter.Save(tmp.File("b.npy"), new float[4], new long[] { 2, 2 }, "<f4");
        var e = Assert.Throws<PotException>(() => NpyDataset.Open(tmp.Path));
        Assert.Equal("DatasetCountMismatch", e.ErrorId);
    }

    [Fact]
    public void An_empty_array_with_more_items_than_a_data_set_can_hold_is_refused()
    {
        // A zero-sized axis makes the array hold no bytes, so no size limit stops its first axis (a fuzzing finding,
        // Fuzz/FuzzCorpus/npy/finding-item-count-over-int-with-empty-axis.npy).
        using var tmp = new TempFolder();
        NpyWriter.Save(tmp.File("input.npy"), Array.Empty<float>(), new long[] { 1L << 32, 0 }, "<f4");
        var e = Assert.Throws<PotException>(() => NpyDataset.Open(tmp.Path));
        Assert.Equal("DatasetTooLarge", e.ErrorId);
        Assert.Contains("4294967296 items", e.Message);
        Assert.Contains("'input'", e.Message);
    }
}
