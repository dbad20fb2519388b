namespace PotPowerShell.Core.Tests.Config;

/// <summary>
/// A temporary folder laid out like a project: model.onnx, engine.yml and data/ exist (the loader only checks that
/// referenced files exist; their content belongs to other parts), so configs can point at them.
/// </summary>
public sealed class ConfigTestFolder : IDisposable
{
    private readonly TempFolder _folder = new();

    public ConfigTestFolder()
    {
        System.IO.File.WriteAllBytes(File("model.onnx"), new byte[] { 8, 7 });
        System.IO.File.WriteAllText(File("engine.yml"), "# engine file (parsed by the evaluation engine)\n");
        Directory.CreateDirectory(File("data"));
    }

    public string Path => _folder.Path;

    public string File(string name) => _folder.File(name);

    /// <summary>Writes a config file and returns its path.</summary>
    public string Write(string name, string text)
    {
        string path = File(name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    public void Dispose() => _folder.Dispose();

    /// <summary>A minimal valid JSON config around the given algorithms array text.</summary>
    public static string Json(string algorithms, string engine = "{ \"config\": \"engine.yml\" }", string model = "{ \"model_name\": \"m\", \"model\": \"model.onnx\" }") =>
        $"{{ \"model\": {model}, \"engine\": {engine}, \"compression\": {{ \"algorithms\": {algorithms} }} }}";

    /// <summary>A minimal valid JSON config with one algorithm and these params (JSON object text).</summary>
    public static string JsonParams(string name, string paramsJson) => Json($"[ {{ \"name\": \"{name}\", \"params\": {paramsJson} }} ]");
}
