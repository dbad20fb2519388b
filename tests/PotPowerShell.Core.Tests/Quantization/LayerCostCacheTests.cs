using System.Text;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Tests.Quantization;

public class LayerCostCacheTests
{
    private static readonly CostCacheIdentity Cpu = new("Some CPU (X64 AVX2)", "1.31.1");

    [Fact]
    public void The_file_holds_the_identity_and_sorted_rounded_costs()
    {
        using var tmp = new TempFolder();
        var cache = LayerCostCache.Load(tmp.File("c.json"), Cpu);
        Assert.Equal(0.1235, cache.Set("int8|b", 0.12345678));   // rounded to 0.1 µs, and the rounded value is what is used
        cache.Set("float|a", 1.5);
        cache.Set("enter|c", -0.001);                              // a negative net time is stored as 0
        cache.Save();
        string expected = "{\n  \"format\": \"PotPowerShell.LayerCosts/1\",\n  \"cpu\": \"Some CPU (X64 AVX2)\",\n  \"onnxRuntime\": \"1.31.1\",\n  \"threads\": 1,\n" +
                          "  \"costs\": {\n    \"enter|c\": 0.0,\n    \"float|a\": 1.5,\n    \"int8|b\": 0.1235\n  }\n}\n";
        Assert.Equal(expected, Encoding.UTF8.GetString(File.ReadAllBytes(tmp.File("c.json"))));
        Assert.Equal(new[] { "c.json" }, Directory.GetFiles(tmp.Path).Select(Path.GetFileName));   // no temporary file left

        var again = LayerCostCache.Load(tmp.File("c.json"), Cpu);
        Assert.Null(again.Discarded);
        Assert.True(again.TryGet("int8|b", out double ms));
        Assert.Equal(0.1235, ms);
        Assert.Equal(File.ReadAllBytes(tmp.File("c.json")), again.ToBytes());   // same cache, same bytes
    }

    [Theory]
    [InlineData("Other CPU (X64 AVX512F AVX512-VNNI)", "1.31.1", "another CPU")]
    [InlineData("Some CPU (X64 AVX2)", "1.32.0", "ONNX Runtime 1.31.1")]
    public void A_file_from_another_cpu_or_onnx_runtime_version_is_not_used(string cpu, string ort, string why)
    {
        using var tmp = new TempFolder();
        var cache = LayerCostCache.Load(tmp.File("c.json"), Cpu);
        cache.Set("float|a", 1);
        cache.Save();
        var other = LayerCostCache.Load(tmp.File("c.json"), new CostCacheIdentity(cpu, ort));
        Assert.Equal(0, other.Count);
        Assert.Contains(why, other.Discarded);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{ \"format\": \"PotPowerShell.LayerCosts/0\" }")]
    [InlineData("[ 1, 2 ]")]
    public void An_unreadable_or_foreign_file_is_discarded_with_a_reason(string text)
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("c.json"), text);
        var cache = LayerCostCache.Load(tmp.File("c.json"), Cpu);
        Assert.Equal(0, cache.Count);
        Assert.NotNull(cache.Discarded);
    }

    [Fact]
    public void A_file_whose_strings_are_not_utf8_is_discarded()
    {
        // JSON parses the string; reading it fails (the fuzzer's COCO finding of the forty-fifth session, here too).
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp.File("c.json"), System.Text.Encoding.ASCII.GetBytes("{ \"format\": \"x\" }").Select(b => b == (byte)'x' ? (byte)0x80 : b).ToArray());
        var cache = LayerCostCache.Load(tmp.File("c.json"), Cpu);
        Assert.Equal(0, cache.Count);
        Assert.Contains("could not be read", cache.Discarded);
    }

    [Fact]
    public void The_default_folder_follows_the_override_then_the_platform_cache_folder()
    {
        string? saved = Environment.GetEnvironmentVariable("POTPOWERSHELL_CACHE_HOME");
        try
        {
            Environment.SetEnvironmentVariable("POTPOWERSHELL_CACHE_HOME", "/some/where");
            Assert.Equal(Path.Combine("/some/where", "layer-costs.json"), LayerCostCache.DefaultPath());
            Environment.SetEnvironmentVariable("POTPOWERSHELL_CACHE_HOME", null);
            string folder = LayerCostCache.DefaultFolder();
            if (OperatingSystem.IsWindows())
                Assert.Equal(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "PotPowerShell"), folder);
            else
                Assert.EndsWith(Path.Combine("", "potpowershell"), folder);
        }
        finally
        {
            Environment.SetEnvironmentVariable("POTPOWERSHELL_CACHE_HOME", saved);
        }
    }

    [Fact]
    public void An_account_without_a_profile_folder_caches_in_the_temporary_folder_not_the_current_one()
    {
        static string? NoVariables(string name) => null;
        static string NoFolders(Environment.SpecialFolder f) => "";
        Assert.Equal(Path.Combine(Path.GetTempPath(), "PotPowerShell"), LayerCostCache.DefaultFolder(NoVariables, NoFolders, windows: true));
        Assert.Equal(Path.Combine(Path.GetTempPath(), ".cache", "potpowershell"), LayerCostCache.DefaultFolder(NoVariables, NoFolders, windows: false));
        Assert.Equal(Path.Combine("/home/me", ".cache", "potpowershell"), LayerCostCache.DefaultFolder(NoVariables, _ => "/home/me", windows: false));
    }
}
