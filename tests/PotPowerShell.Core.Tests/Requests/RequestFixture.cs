using PotPowerShell.Core.Config;
using PotPowerShell.Core.Tests.Evaluation;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Requests;

/// <summary>
/// Files of the request tests: an identity model over two floats with .npy data, and one over 3x2x3 images with a
/// folder of 6x4 PNG images (so a simplified engine works only when fitted to the model), engines and configurations.
/// </summary>
internal sealed class RequestFixture : IDisposable
{
    public TempFolder Folder { get; } = new();

    public RequestFixture()
    {
        Directory.CreateDirectory(File("data"));
        NpyWriter.Save(File("data/x.npy"), new float[] { 1, 2, 3, 4, 5, 6 }, new long[] { 3, 2 }, "<f4");
        System.IO.File.WriteAllBytes(File("flat.onnx"), TestModels.Identity("batch", 2L));
        System.IO.File.WriteAllText(File("plain.yml"), "dataset:\n  data_source: data\n");
        System.IO.File.WriteAllText(File("reference.yml"), "metrics:\n  - type: mse\n    reference: fp32\ndataset:\n  data_source: data\n");
        Directory.CreateDirectory(File("img"));
        for (int n = 0; n < 2; n++)
            PngFiles.Save(File($"img/{n}.png"), 6, 4, 3, Enumerable.Range(0, 6 * 4 * 3).Select(i => (byte)((i * 37 + n * 11) % 251)).ToArray());
        System.IO.File.WriteAllBytes(File("image.onnx"), TestModels.Identity("batch", 3L, 2L, 3L));
    }

    public string File(string name) => Folder.File(name);

    /// <summary>A configuration of <paramref name="model"/> with <paramref name="engine"/> (JSON) and <paramref name="algorithms"/> (JSON list).</summary>
    public PotConfig Config(string name, string model, string engine, string algorithms = """[ { "name": "DefaultQuantization", "params": { "stat_subset_size": 16 } } ]""")
    {
        System.IO.File.WriteAllText(File(name + ".json"),
            $$"""
            { "model": { "model_name": "{{name}}", "model": "{{model}}" }, "engine": {{engine}},
              "compression": { "algorithms": {{algorithms}} } }
            """);
        return PotConfigLoader.Load(File(name + ".json"));
    }

    /// <summary>POT's simplified engine over the image folder.</summary>
    public PotConfig ImageConfig() => Config("images", "image.onnx", """{ "type": "simplified", "data_source": "img" }""");

    public void Dispose() => Folder.Dispose();
}
