using System.Globalization;
using System.IO.Compression;
using System.Text;
using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Tests.Data;

/// <summary>
/// Hostile .npy headers and .npz members: every bad number is a clear error with an id, and an archive member is
/// checked (header, declared size, budget) before any byte of it is unpacked.
/// </summary>
[Collection(ProcessTempFolderUsers.Name)]
public class NpyLimitTests
{
    /// <summary>An .npy file with this header text (shape and all) and version, followed by <paramref name="dataBytes"/> zero bytes.</summary>
    private static byte[] Npy(string shape, int major = 1, long? headerLength = null, int dataBytes = 16)
    {
        string header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({shape}), }}\n";
        using var ms = new MemoryStream();
        ms.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0 });
        long length = headerLength ?? header.Length;
        if (major == 1) ms.Write(BitConverter.GetBytes((ushort)length));
        else ms.Write(BitConverter.GetBytes((uint)length));
        ms.Write(Encoding.Latin1.GetBytes(header));
        ms.Write(new byte[dataBytes]);
        return ms.ToArray();
    }

    public static TheoryData<string, byte[], string, string> BadHeaders => new()
    {
        // case, file, error id, text the message must hold
        { "negative dimension", Npy("-3, 4"), "NpyInvalid", "'-3'" },
        { "2^32 dimension", Npy("4294967296,"), "NpyInvalid", "4294967296 elements" },
        { "2^32 x 2^32 elements", Npy("4294967296, 4294967296"), "NpyInvalid", "2^63" },
        { "99-digit dimension", Npy(new string('9', 99) + ","), "NpyInvalid", "not a whole number" },
        { "dimension that is not a number", Npy("abc, 4"), "NpyInvalid", "'abc'" },
        { "v2 header length 2^31", Npy("4,", major: 2, headerLength: 1L << 31), "NpyHeaderTooLarge", "65536" },
        { "v2 header length 2^32-1", Npy("4,", major: 2, headerLength: uint.MaxValue), "NpyHeaderTooLarge", "65536" },
        { "unknown version", Npy("4,", major: 9), "NpyInvalid", "version 9" },
        { "65 dimensions", Npy(string.Join(",", Enumerable.Repeat("1", 65))), "NpyInvalid", "64" },
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public void Bad_numbers_in_an_npy_header_are_clear_errors(string name, byte[] file, string errorId, string text)
    {
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp.File("x.npy"), file);
        // Read whole, read lazily from a folder, and as an .npz member (read into memory and unpacked).
        using (var zip = ZipFile.Open(tmp.File("x.npz"), ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("x.npy").Open()) s.Write(file);
        foreach (var read in new Action[]
                 {
                     () => NpyReader.ReadFile(tmp.File("x.npy")),
                     () => NpyDataset.Open(tmp.Path).Dispose(),
                     () => NpyDataset.Open(tmp.File("x.npz")).Dispose(),
                     () => NpyDataset.Open(tmp.File("x.npz"), npzInMemoryBytes: 0).Dispose(),
                 })
        {
            var e = Assert.Throws<PotException>(read);
            Assert.True(e.ErrorId == errorId, $"{name}: {e.ErrorId}: {e.Message}");
            Assert.Contains(text, e.Message);
            Assert.Contains("x.np", e.Message);
        }
    }

    [Fact]
    public void An_npy_file_too_large_to_read_whole_is_refused_before_allocating()
    {
        using var tmp = new TempFolder();
        // 2^31 uint8 elements, written as a sparse file: present on disk as declared, larger than one array.
        string header = "{'descr': '|u1', 'fortran_order': False, 'shape': (2147483648,), }\n";
        using (var f = File.Create(tmp.File("big.npy")))
        {
            f.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 });
            f.Write(BitConverter.GetBytes((ushort)header.Length));
            f.Write(Encoding.Latin1.GetBytes(header));
            f.SetLength(f.Position + (1L << 31));
        }
        var e = Assert.Throws<PotException>(() => NpyReader.ReadFile(tmp.File("big.npy")));
        Assert.Equal("NpyTooLarge", e.ErrorId);
        Assert.Contains("big.npy", e.Message);
    }

    [Fact]
    public void An_npz_member_whose_header_needs_more_than_the_zip_declares_is_refused_before_unpacking()
    {
        using var tmp = new TempFolder();
        // 23 bytes of zeros would be declared as 10^9 x 10 floats (40 GB): refused from the header, nothing written.
        using (var zip = ZipFile.Open(tmp.File("lie.npz"), ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("input.npy").Open()) s.Write(Npy("1000000000, 10"));
        var before = Directory.GetFiles(ProcessTempFolder.Path);
        var e = Assert.Throws<PotException>(() => NpyDataset.Open(tmp.File("lie.npz"), npzInMemoryBytes: 0));
        Assert.Equal("NpyInvalid", e.ErrorId);
        Assert.Contains("lie.npz:input.npy", e.Message);
        Assert.Contains("40000000", e.Message);
        Assert.Equal(before, Directory.GetFiles(ProcessTempFolder.Path));
    }

    [Fact]
    public void An_array_of_an_npz_item_beyond_the_in_memory_limit_is_refused_before_it_is_read()
    {
        using var tmp = new TempFolder();
        using (var zip = ZipFile.Open(tmp.File("item.npz"), ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("input.npy").Open()) s.Write(NpyWriter.Encode(new float[4000], new long[] { 1000, 4 }, "<f4"));
        using (var fits = NpzArchive.Open(tmp.File("item.npz"), inMemoryBytes: 16_200))
            Assert.Equal(new long[] { 1000, 4 }, fits.Read("input").Shape);
        using var archive = NpzArchive.Open(tmp.File("item.npz"), inMemoryBytes: 16_000);
        var e = Assert.Throws<PotException>(() => archive.Read("input"));
        Assert.Equal("NpzMemberTooLarge", e.ErrorId);
        Assert.Contains("item.npz:input.npy", e.Message);
        Assert.Contains("an array of one item", e.Message);
    }

    [Fact]
    public void An_npz_member_beyond_the_unpack_budget_is_refused_before_unpacking()
    {
        using var tmp = new TempFolder();
        using (var zip = ZipFile.Open(tmp.File("big.npz"), ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("input.npy").Open()) s.Write(NpyWriter.Encode(new float[4000], new long[] { 1000, 4 }, "<f4"));
        var before = Directory.GetFiles(ProcessTempFolder.Path);
        using var archive = NpzArchive.Open(tmp.File("big.npz"), inMemoryBytes: 0, unpackBudget: 10_000);
        var e = Assert.Throws<PotException>(() => archive.Take("input"));
        Assert.Equal("NpzMemberTooLarge", e.ErrorId);
        Assert.Contains("big.npz:input.npy", e.Message);
        Assert.Contains("folder of .npy files", e.Message);
        Assert.Equal(before, Directory.GetFiles(ProcessTempFolder.Path));
    }

    [Fact]
    public void Temporary_folders_of_processes_that_no_longer_run_are_deleted()
    {
        using var tmp = new TempFolder();
        // int.MaxValue is above every operating system's process ids.
        string dead = Directory.CreateDirectory(tmp.File(int.MaxValue.ToString(CultureInfo.InvariantCulture))).FullName;
        File.WriteAllBytes(Path.Combine(dead, "orphan.npy"), new byte[10]);
        string alive = Directory.CreateDirectory(tmp.File(Environment.ProcessId.ToString(CultureInfo.InvariantCulture))).FullName;
        string other = Directory.CreateDirectory(tmp.File("not-a-process")).FullName;
        ProcessTempFolder.DeleteStale(tmp.Path);
        Assert.False(Directory.Exists(dead));
        Assert.True(Directory.Exists(alive));
        Assert.True(Directory.Exists(other));
        Assert.StartsWith(ProcessTempFolder.Root, ProcessTempFolder.Path);
    }
}
