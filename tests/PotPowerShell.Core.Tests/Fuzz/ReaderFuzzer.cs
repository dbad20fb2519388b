using System.Globalization;
using System.IO.Compression;
using System.Text;
using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Fuzzing;

/// <summary>What one input did to a reader.</summary>
public enum FuzzOutcome
{
    /// <summary>Read without error.</summary>
    Loaded,

    /// <summary>Refused with a PotException carrying an error id: the contract.</summary>
    ClearError,

    /// <summary>Any other exception (or a PotException without an id): a finding.</summary>
    Crash,

    /// <summary>Did not finish within the time budget: a finding.</summary>
    Hang,
}

/// <summary>The result of one input: outcome, and the error id or exception that explains it.</summary>
public sealed record FuzzResult(FuzzOutcome Outcome, string Detail);

/// <summary>
/// A seeded mutation fuzzer over every file reader of the module: the ONNX loader (as Import-PotModel reads a model),
/// .npy and .npz data (read whole, lazily and unpacked), POT configs in JSON and YAML (with their inline engines) and
/// engine files. The contract: every input either loads or fails with a PotException that carries an error id, within
/// a time budget. Shared by the replay test (tests/PotPowerShell.Core.Tests/Fuzz/FuzzReplayTests.cs) and the campaign
/// tool bench/FuzzReaders (run by bench/Fuzz-Readers.ps1); System.Random with a seed makes every campaign repeatable.
/// </summary>
public sealed class ReaderFuzzer : IDisposable
{
    /// <summary>The readers, each fed files of one kind.</summary>
    public static readonly IReadOnlyList<string> Targets = new[] { "onnx", "npy", "npz", "config-json", "config-yaml", "engine" };

    /// <summary>Inputs are cut to this size, so a case stays fast.</summary>
    public const int MaxInputBytes = 64 * 1024;

    private readonly string _work = Path.Combine(Path.GetTempPath(), "pot-fuzz-" + Guid.NewGuid().ToString("N"));

    public ReaderFuzzer()
    {
        // What configs and engines may point at: a model, an engine file and a data folder with inputs and labels.
        Directory.CreateDirectory(Path.Combine(_work, "data"));
        OnnxModelFile.Save(TinyModel(), Path.Combine(_work, "model.onnx"));
        File.WriteAllText(Path.Combine(_work, "engine.yml"), EngineSeed);
        NpyWriter.Write(Path.Combine(_work, "data", "x.npy"), TensorData.FromFloats(new float[] { 1, 2, 3, 4, 5, 6 }, 3, 2));
        NpyWriter.Write(Path.Combine(_work, "data", "labels.npy"), new TensorData(TensorElementKind.Int64, new long[] { 3 }, new long[] { 0, 1, 0 }));
    }

    public void Dispose()
    {
        try { Directory.Delete(_work, recursive: true); } catch (IOException) { }
    }

    /// <summary>Runs one input through a target's reader on its own thread, within <paramref name="budget"/>.</summary>
    public FuzzResult Execute(string target, byte[] input, TimeSpan budget)
    {
        string folder = Path.Combine(_work, target);
        Directory.CreateDirectory(folder);
        FuzzResult? result = null;
        // The default stack size: recursion that would overflow a real caller overflows here too.
        var thread = new Thread(() => result = Classify(() => Read(target, input, folder))) { IsBackground = true };
        thread.Start();
        if (!thread.Join(budget)) return new FuzzResult(FuzzOutcome.Hang, $"no result within {budget.TotalSeconds} s");
        return result!;
    }

    private static FuzzResult Classify(Action read)
    {
        try
        {
            read();
            return new FuzzResult(FuzzOutcome.Loaded, "");
        }
        catch (PotException e) when (!string.IsNullOrEmpty(e.ErrorId))
        {
            return new FuzzResult(FuzzOutcome.ClearError, e.ErrorId);
        }
        catch (Exception e)
        {
            return new FuzzResult(FuzzOutcome.Crash, $"{e.GetType().FullName}: {e.Message}{Environment.NewLine}{e.StackTrace}");
        }
    }

    private void Read(string target, byte[] input, string folder)
    {
        switch (target)
        {
            case "onnx":
                string model = Path.Combine(folder, "m.onnx");
                File.WriteAllBytes(model, input);
                File.WriteAllBytes(Path.Combine(folder, "w.bin"), ExternalWeights);
                ModelInspector.Inspect(model);
                break;
            case "npy":
                string npyFolder = Path.Combine(folder, "items");
                Directory.CreateDirectory(npyFolder);
                string npy = Path.Combine(npyFolder, "x.npy");
                File.WriteAllBytes(npy, input);
                NpyReader.ReadFile(npy);
                ReadAll(NpyDataset.Open(npyFolder));
                break;
            case "npz":
                string npz = Path.Combine(folder, "x.npz");
                File.WriteAllBytes(npz, input);
                ReadAll(NpyDataset.Open(npz));
                ReadAll(NpyDataset.Open(npz, npzInMemoryBytes: 0));
                break;
            case "config-json" or "config-yaml":
                string config = Path.Combine(_work, target == "config-json" ? "c.json" : "c.yml");
                File.WriteAllBytes(config, input);
                var loaded = PotConfigLoader.Load(config);
                EngineResolver.FromConfig(loaded);
                break;
            case "engine":
                string engine = Path.Combine(_work, "e.yml");
                File.WriteAllBytes(engine, input);
                EngineDefinition.Load(engine);
                break;
            default:
                throw new ArgumentException($"Unknown fuzz target '{target}'. Targets: {string.Join(", ", Targets)}.", nameof(target));
        }
    }

    // The first and last items, as calibration and evaluation would read them.
    private static void ReadAll(NpyDataset dataset)
    {
        using (dataset)
        {
            if (dataset.Count == 0) return;
            dataset.Get(0);
            dataset.Get(dataset.Count - 1);
        }
    }

    /// <summary>
    /// Mutates seeds for <paramref name="executions"/> cases (or until <paramref name="until"/>), calling
    /// <paramref name="onFinding"/> with each crash or hang and its input.
    /// </summary>
    public FuzzTally Campaign(string target, IReadOnlyList<byte[]> seeds, int seed, long executions, DateTime? until, TimeSpan budget,
        Action<byte[], FuzzResult>? onFinding = null)
    {
        var random = new Random(seed);
        var tally = new FuzzTally(target);
        for (long i = 0; i < executions && (until == null || DateTime.UtcNow < until); i++)
        {
            byte[] input = Mutate(random, seeds);
            var result = Execute(target, input, budget);
            tally.Add(result);
            if (result.Outcome is FuzzOutcome.Crash or FuzzOutcome.Hang) onFinding?.Invoke(input, result);
        }
        return tally;
    }

    private static readonly string[] Numbers =
    {
        "-1", "0", "-100", "2147483648", "4294967296", "9223372036854775807", "18446744073709551616", new string('9', 99),
        "abc", "1e308", "-1e308", ".nan", "NaN", "1.5", "100000",
    };

    private static readonly string[] Snippets =
    {
        "[[[[[[[[[[[[[[[[", "{a: {a: {a: {a: ", "&a [x, x, x, x]", "*a", "<<: *a", "\"\"", "null", "~", "---\n", "\t", "\0",
        ": ", "- ", "'", "\"", "${HOME}", "%PATH%", "../", "/dev/zero", "\u00e9", "\ufeff",
    };

    /// <summary>One case: a seed with one to four mutations stacked.</summary>
    public static byte[] Mutate(Random random, IReadOnlyList<byte[]> seeds)
    {
        var data = new List<byte>(seeds[random.Next(seeds.Count)]);
        int count = 1 + random.Next(4);
        for (int m = 0; m < count; m++) MutateOnce(random, data, seeds);
        if (data.Count > MaxInputBytes) data.RemoveRange(MaxInputBytes, data.Count - MaxInputBytes);
        return data.ToArray();
    }

    private static void MutateOnce(Random random, List<byte> data, IReadOnlyList<byte[]> seeds)
    {
        int at = data.Count == 0 ? 0 : random.Next(data.Count);
        int span = Math.Min(data.Count - at, 1 + random.Next(16));
        switch (random.Next(9))
        {
            case 0 when data.Count > 0:
                data[at] ^= (byte)(1 << random.Next(8));
                break;
            case 1 when data.Count > 0:
                data[at] = new byte[] { 0, 0xFF, 0x7F, 0x80, 1, (byte)'[', (byte)'{', (byte)':', (byte)',', (byte)'\n', (byte)'-' }[random.Next(11)];
                break;
            case 2:
                data.RemoveRange(at, span);
                break;
            case 3:
                data.InsertRange(random.Next(data.Count + 1), data.GetRange(at, span));
                break;
            case 4:
                var bytes = new byte[1 + random.Next(8)];
                random.NextBytes(bytes);
                data.InsertRange(at, bytes);
                break;
            case 5:
                ReplaceNumber(random, data);
                break;
            case 6:
                data.RemoveRange(at, data.Count - at);
                break;
            case 7:
                var other = seeds[random.Next(seeds.Count)];
                int from = other.Length == 0 ? 0 : random.Next(other.Length);
                data.RemoveRange(at, data.Count - at);
                data.AddRange(other.Skip(from));
                break;
            default:
                var snippet = Encoding.UTF8.GetBytes(Snippets[random.Next(Snippets.Length)]);
                for (int r = random.Next(3) == 0 ? 1 + random.Next(64) : 1; r > 0; r--) data.InsertRange(at, snippet);
                break;
        }
    }

    // Replaces a run of digits (a dimension, an offset, a length, a count) with a hostile number.
    private static void ReplaceNumber(Random random, List<byte> data)
    {
        var runs = new List<(int Start, int Length)>();
        for (int i = 0; i < data.Count; i++)
        {
            if (data[i] is < (byte)'0' or > (byte)'9') continue;
            int start = i;
            while (i < data.Count && data[i] is >= (byte)'0' and <= (byte)'9') i++;
            runs.Add((start, i - start));
        }
        if (runs.Count == 0) return;
        var (s, l) = runs[random.Next(runs.Count)];
        data.RemoveRange(s, l);
        data.InsertRange(s, Encoding.ASCII.GetBytes(Numbers[random.Next(Numbers.Length)]));
    }

    /// <summary>Valid inputs for a target, generated here, which mutation starts from (the corpus adds findings).</summary>
    public static IReadOnlyList<(string Name, byte[] Data)> Seeds(string target) => target switch
    {
        "onnx" => new[] { ("tiny-conv.onnx", TinyModel().ToByteArray()), ("external-data.onnx", ExternalModel().ToByteArray()) },
        "npy" => new[]
        {
            ("float32.npy", Npy(TensorData.FromFloats(new float[] { 1, 2, 3, 4, 5, 6 }, 3, 2))),
            ("int64.npy", Npy(new TensorData(TensorElementKind.Int64, new long[] { 3 }, new long[] { 7, 8, 9 }))),
        },
        "npz" => new[] { ("inputs-and-labels.npz", Npz(stored: false)), ("stored.npz", Npz(stored: true)) },
        "config-json" => new[] { ("dq.json", Encoding.UTF8.GetBytes(ConfigJsonSeed)) },
        "config-yaml" => new[] { ("aaq-inline-engine.yml", Encoding.UTF8.GetBytes(ConfigYamlSeed)) },
        "engine" => new[] { ("engine.yml", Encoding.UTF8.GetBytes(EngineSeed)) },
        _ => throw new ArgumentException($"Unknown fuzz target '{target}'.", nameof(target)),
    };

    private static ModelProto TinyModel()
    {
        var b = new GraphBuilder("tiny");
        var x = b.Input("x", "batch", 1, 4, 4);
        var w = b.Initializer("w", Enumerable.Repeat(0.5f, 9).ToArray(), 1, 1, 3, 3);
        var y = b.Node("Conv", new[] { x, w }, "conv", ("pads", new long[] { 1, 1, 1, 1 }));
        b.Output(b.Node("Relu", new[] { y }, "relu"));
        return b.Build();
    }

    private static byte[] ExternalWeights => TinyModel().Graph.Initializer[0].RawData.ToByteArray();

    private static ModelProto ExternalModel()
    {
        var model = TinyModel();
        var t = model.Graph.Initializer[0];
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "w.bin" });
        t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "0" });
        t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = t.RawData.Length.ToString(CultureInfo.InvariantCulture) });
        t.DataLocation = TensorProto.Types.DataLocation.External;
        t.RawData = ByteString.Empty;
        return model;
    }

    private static byte[] Npy(TensorData tensor)
    {
        string path = Path.Combine(Path.GetTempPath(), "pot-fuzz-seed-" + Guid.NewGuid().ToString("N") + ".npy");
        try
        {
            NpyWriter.Write(path, tensor);
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static byte[] Npz(bool stored)
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            var level = stored ? CompressionLevel.NoCompression : CompressionLevel.Optimal;
            using (var s = zip.CreateEntry("x.npy", level).Open()) s.Write(Npy(TensorData.FromFloats(new float[] { 1, 2, 3, 4, 5, 6 }, 3, 2)));
            using (var s = zip.CreateEntry("labels.npy", level).Open()) s.Write(Npy(new TensorData(TensorElementKind.Int64, new long[] { 3 }, new long[] { 0, 1, 0 })));
        }
        return ms.ToArray();
    }

    private const string EngineSeed =
        "batch_size: 2\nthreads: 1\ncache_mb: 16\ndataset:\n  name: d\n  data_source: data\n  format: npy\n  labels: data/labels.npy\n" +
        "adapter: classification\nmetrics:\n  - type: accuracy\n    top_k: 1\n  - name: mse\n    type: mse\n";

    private const string ConfigJsonSeed =
        "{\n  // POT style, with a comment\n  \"model\": { \"model_name\": \"m\", \"model\": \"model.onnx\" },\n" +
        "  \"engine\": { \"config\": \"engine.yml\" },\n" +
        "  \"compression\": { \"target_device\": \"CPU\", \"algorithms\": [ { \"name\": \"DefaultQuantization\", \"params\": {\n" +
        "    \"preset\": \"performance\", \"stat_subset_size\": 300, \"threads\": 2,\n" +
        "    \"activations\": { \"range_estimator\": { \"max\": { \"type\": \"quantile\", \"outlier_prob\": 0.0001 } } },\n" +
        "    \"ignored\": { \"scope\": [ \"conv\" ] } } } ] },\n}\n";

    private const string ConfigYamlSeed =
        "model:\n  model_name: m\n  model: model.onnx\nengine:\n  batch_size: 2\n  dataset:\n    data_source: data\n    labels: data/labels.npy\n" +
        "  adapter: classification\n  metrics:\n    - type: accuracy\ncompression:\n  algorithms:\n    - name: AccuracyAwareQuantization\n" +
        "      params: &p\n        preset: mixed\n        maximal_drop: 0.01\n        stat_subset_size: 300\n        drop_type: absolute\n" +
        "        metrics:\n          - name: accuracy\n            baseline_value: 0.9\n";
}

/// <summary>Counts of one campaign: executions by outcome, and how often each error id came up.</summary>
public sealed class FuzzTally(string target)
{
    public string Target { get; } = target;
    public long Executions { get; private set; }
    public long Loaded { get; private set; }
    public long ClearErrors { get; private set; }
    public long Crashes { get; private set; }
    public long Hangs { get; private set; }
    public SortedDictionary<string, long> ErrorIds { get; } = new(StringComparer.Ordinal);

    public void Add(FuzzResult result)
    {
        Executions++;
        switch (result.Outcome)
        {
            case FuzzOutcome.Loaded: Loaded++; break;
            case FuzzOutcome.ClearError:
                ClearErrors++;
                ErrorIds[result.Detail] = ErrorIds.GetValueOrDefault(result.Detail) + 1;
                break;
            case FuzzOutcome.Crash: Crashes++; break;
            default: Hangs++; break;
        }
    }
}
