using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Tests.Onnx;

/// <summary>External data: kept inside the model's folder (canonical paths, links resolved), offsets and lengths checked.</summary>
public class ExternalDataTests
{
    /// <summary>Writes &lt;folder&gt;/m.onnx whose weight lives in <paramref name="location"/> with these offset and length texts.</summary>
    private static string WriteModel(string folder, string location, string? offset = null, string? length = null)
    {
        Directory.CreateDirectory(folder);
        var model = OnnxModelFileTests.TinyConv();
        var t = model.Graph.Initializer[0];
        t.RawData = ByteString.Empty;
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        if (offset != null) t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset });
        if (length != null) t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length });
        t.DataLocation = TensorProto.Types.DataLocation.External;
        string path = Path.Combine(folder, "m.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    private static byte[] Weights => OnnxModelFileTests.TinyConv().Graph.Initializer[0].RawData.ToByteArray();

    [Fact]
    public void A_sibling_folder_that_shares_the_models_folder_prefix_is_outside()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("models/pre_secret"));
        File.WriteAllBytes(tmp.File("models/pre_secret/w.bin"), Weights);
        string model = WriteModel(tmp.File("models/pre"), "../pre_secret/w.bin");
        var e = Assert.Throws<PotException>(() => OnnxModelFile.Load(model));
        Assert.Equal("ExternalDataOutsideModel", e.ErrorId);
        Assert.Contains("'w'", e.Message);
        Assert.Contains("../pre_secret/w.bin", e.Message);
    }

    [Fact]
    public void A_link_inside_the_models_folder_that_points_outside_is_refused()
    {
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp.File("secret.bin"), Weights);
        string model = WriteModel(tmp.File("models/pre"), "w.bin");
        File.CreateSymbolicLink(tmp.File("models/pre/w.bin"), tmp.File("secret.bin"));
        var e = Assert.Throws<PotException>(() => OnnxModelFile.Load(model));
        Assert.Equal("ExternalDataOutsideModel", e.ErrorId);
        Assert.Contains("secret.bin", e.Message);

        // A linked folder inside the model's folder that leads out is refused the same way.
        Directory.CreateDirectory(tmp.File("elsewhere"));
        File.WriteAllBytes(tmp.File("elsewhere/w.bin"), Weights);
        Directory.CreateSymbolicLink(tmp.File("models/pre/sub"), tmp.File("elsewhere"));
        model = WriteModel(tmp.File("models/pre"), "sub/w.bin");
        Assert.Equal("ExternalDataOutsideModel", Assert.Throws<PotException>(() => OnnxModelFile.Load(model)).ErrorId);
    }

    [Fact]
    public void Links_that_stay_inside_and_a_linked_model_folder_are_fine()
    {
        using var tmp = new TempFolder();
        string model = WriteModel(tmp.File("models/pre"), "w.bin");
        File.WriteAllBytes(tmp.File("models/pre/real.bin"), Weights);
        File.CreateSymbolicLink(tmp.File("models/pre/w.bin"), "real.bin");
        Assert.Equal(Weights, OnnxModelFile.Load(model).Graph.Initializer[0].RawData.ToByteArray());
        // The model reached through a link to its folder: both sides are resolved.
        Directory.CreateSymbolicLink(tmp.File("link"), tmp.File("models/pre"));
        Assert.Equal(Weights, OnnxModelFile.Load(tmp.File("link/m.onnx")).Graph.Initializer[0].RawData.ToByteArray());
    }

    [Theory]
    [InlineData("abc", null, "offset as 'abc'")]
    [InlineData("-100", null, "offset as '-100'")]
    [InlineData("9223372036854775807", null, "beyond the end")]
    [InlineData("99999999999999999999", null, "offset as '99999999999999999999'")]
    [InlineData("0", "abc", "length as 'abc'")]
    [InlineData("0", "-1", "length as '-1'")]
    [InlineData("0", "9223372036854775807", "beyond the end")]
    [InlineData("30", "10", "beyond the end")]
    [InlineData(" 4", null, "offset as ' 4'")]
    public void Offsets_and_lengths_that_are_not_in_the_file_are_clear_errors(string offset, string? length, string text)
    {
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp.File("w.bin"), Weights);
        string model = WriteModel(tmp.Path, "w.bin", offset, length);
        var e = Assert.Throws<PotException>(() => OnnxModelFile.Load(model));
        Assert.Equal("ExternalDataInvalid", e.ErrorId);
        Assert.Contains("Tensor 'w'", e.Message);
        Assert.Contains("w.bin", e.Message);
        Assert.Contains(text, e.Message);
    }

    [Fact]
    public void A_key_given_twice_is_a_clear_error()
    {
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp.File("w.bin"), Weights);
        string model = WriteModel(tmp.Path, "w.bin", "0", "36");
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(model));
        proto.Graph.Initializer[0].ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "4" });
        File.WriteAllBytes(model, proto.ToByteArray());
        var e = Assert.Throws<PotException>(() => OnnxModelFile.Load(model));
        Assert.Equal("ExternalDataInvalid", e.ErrorId);
        Assert.Contains("'offset' twice", e.Message);
    }
}
