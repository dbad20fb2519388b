using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Config;

public class PrecisionConfigTests
{
    private static PotConfig Load(ConfigTestFolder folder, string parameters) =>
        PotConfigLoader.Load(folder.Write("c.json", ConfigTestFolder.JsonParams("DefaultQuantization", parameters)));

    [Theory]
    [InlineData("{ }", PrecisionMode.Fastest, 1)]
    [InlineData("{ \"precision\": \"fastest\", \"latency_batch_size\": 32 }", PrecisionMode.Fastest, 32)]
    [InlineData("{ \"precision\": \"all_int8\" }", PrecisionMode.AllInt8, 1)]
    public void Precision_and_latency_batch_size_map_onto_the_options(string parameters, PrecisionMode precision, int batch)
    {
        using var folder = new ConfigTestFolder();
        var c = Load(folder, parameters);
        var o = c.ToDefaultQuantizationOptions();
        Assert.Equal((precision, batch), (o.Precision, o.BatchSize));
        Assert.Empty(c.Warnings);
    }

    [Fact]
    public void Quantize_stem_convolutions_is_a_deprecated_alias_of_all_int8_with_a_warning()
    {
        using var folder = new ConfigTestFolder();
        var on = Load(folder, "{ \"quantize_stem_convolutions\": true }");
        Assert.Equal(PrecisionMode.AllInt8, on.ToDefaultQuantizationOptions().Precision);
        Assert.Contains(on.Warnings, w => w.Contains("quantize_stem_convolutions") && w.Contains("precision: all_int8"));
        var off = Load(folder, "{ \"quantize_stem_convolutions\": false }");
        Assert.Equal(PrecisionMode.Fastest, off.ToDefaultQuantizationOptions().Precision);
        Assert.Contains(off.Warnings, w => w.Contains("quantize_stem_convolutions") && w.Contains("no effect"));
        // An explicit precision wins over the alias.
        Assert.Equal(PrecisionMode.Fastest, Load(folder, "{ \"quantize_stem_convolutions\": true, \"precision\": \"fastest\" }").ToDefaultQuantizationOptions().Precision);
    }

    [Fact]
    public void Unknown_precision_and_bad_batch_sizes_are_refused()
    {
        using var folder = new ConfigTestFolder();
        Assert.Throws<PotException>(() => Load(folder, "{ \"precision\": \"int4\" }"));
        Assert.Throws<PotException>(() => Load(folder, "{ \"latency_batch_size\": 0 }"));
    }
}
