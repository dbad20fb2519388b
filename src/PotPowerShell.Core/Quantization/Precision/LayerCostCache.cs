using System.Globalization;
using System.Text;
using System.Text.Json;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// Measured micro-benchmark timings (milliseconds, net of the per-inference overhead) by signature, kept in a small
/// JSON file so that a model is measured once per machine and decisions are reproducible (same cache, same bytes):
/// <code>
/// { "format": "PotPowerShell.LayerCosts/1", "cpu": "...", "onnxRuntime": "1.32.0", "threads": 1,
///   "costs": { "float|Conv|x=1x8x14x14|...": 0.0123, ... } }
/// </code>
/// Keys are sorted and values rounded to 0.1 µs, so equal contents give equal bytes. A file written for another CPU
/// or ONNX Runtime version (or in another format) is ignored and replaced: that is the invalidation.
/// </summary>
public sealed class LayerCostCache
{
    public const string Format = "PotPowerShell.LayerCosts/1";
    public const string FileName = "layer-costs.json";
    /// <summary>Reader limit: a cache file larger than this is not read (and is rebuilt).</summary>
    public const long MaxFileBytes = 8 << 20;

    private readonly SortedDictionary<string, double> _costs = new(StringComparer.Ordinal);

    private LayerCostCache(string path, CostCacheIdentity identity)
    {
        Path = path;
        Identity = identity;
    }

    public string Path { get; }
    public CostCacheIdentity Identity { get; }
    public int Count => _costs.Count;
    public bool Changed { get; private set; }

    /// <summary>Why an existing file was not used (other CPU or ORT version, unreadable), or null.</summary>
    public string? Discarded { get; private set; }

    public bool TryGet(string key, out double ms) => _costs.TryGetValue(key, out ms);

    /// <summary>Stores a timing rounded as the file stores it, so the value used now is the one read later.</summary>
    public double Set(string key, double ms)
    {
        double stored = Round(ms);
        _costs[key] = stored;
        Changed = true;
        return stored;
    }

    public static double Round(double ms) => Math.Round(Math.Max(0, ms), 4, MidpointRounding.ToEven);

    /// <summary>
    /// The cache folder: $POTPOWERSHELL_CACHE_HOME when set; else %LOCALAPPDATA%\PotPowerShell on Windows, and
    /// $XDG_CACHE_HOME/potpowershell (default ~/.cache/potpowershell) elsewhere.
    /// </summary>
    public static string DefaultFolder() => DefaultFolder(Environment.GetEnvironmentVariable, Environment.GetFolderPath, OperatingSystem.IsWindows());

    /// <summary>
    /// <see cref="DefaultFolder()"/> from these lookups. An account without a profile folder (a service or a scheduled
    /// task can have none: the lookup gives "") falls back to the temporary folder, never to a path relative to the
    /// current directory (C:\Windows\System32 for such a task).
    /// </summary>
    internal static string DefaultFolder(Func<string, string?> variable, Func<Environment.SpecialFolder, string> folder, bool windows)
    {
        string? own = variable("POTPOWERSHELL_CACHE_HOME");
        if (!string.IsNullOrEmpty(own)) return own;
        static string Rooted(string path) => System.IO.Path.IsPathRooted(path) ? path : System.IO.Path.GetTempPath();
        if (windows) return System.IO.Path.Combine(Rooted(folder(Environment.SpecialFolder.LocalApplicationData)), "PotPowerShell");
        string? xdg = variable("XDG_CACHE_HOME");
        string root = !string.IsNullOrEmpty(xdg) && System.IO.Path.IsPathRooted(xdg)
            ? xdg
            : System.IO.Path.Combine(Rooted(folder(Environment.SpecialFolder.UserProfile)), ".cache");
        return System.IO.Path.Combine(root, "potpowershell");
    }

    public static string DefaultPath() => System.IO.Path.Combine(DefaultFolder(), FileName);

    /// <summary>Reads <paramref name="path"/>; a missing file gives an empty cache, a foreign or unreadable one an empty cache with <see cref="Discarded"/> set.</summary>
    public static LayerCostCache Load(string path, CostCacheIdentity identity)
    {
        var cache = new LayerCostCache(path, identity);
        var file = new FileInfo(path);
        if (!file.Exists) return cache;
        if (file.Length > MaxFileBytes)
        {
            cache.Discarded = $"it is larger than {MaxFileBytes >> 20} MB";
            return cache;
        }
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 8 });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) { cache.Discarded = "it is not a JSON object"; return cache; }
            string? Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            if (Text("format") != Format) { cache.Discarded = $"its format is not {Format}"; return cache; }
            if (Text("cpu") != identity.Cpu) { cache.Discarded = $"it was measured on another CPU ({Text("cpu")})"; return cache; }
            if (Text("onnxRuntime") != identity.OnnxRuntime) { cache.Discarded = $"it was measured with ONNX Runtime {Text("onnxRuntime")}"; return cache; }
            if (!root.TryGetProperty("costs", out var costs) || costs.ValueKind != JsonValueKind.Object) { cache.Discarded = "it has no costs"; return cache; }
            foreach (var entry in costs.EnumerateObject())
                if (entry.Value.ValueKind == JsonValueKind.Number && entry.Value.TryGetDouble(out double ms) && double.IsFinite(ms) && ms >= 0)
                    cache._costs[entry.Name] = ms;
        }
        // InvalidOperationException: a string or name that JSON parsed but that is not UTF-8 text when read.
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            cache._costs.Clear();
            cache.Discarded = $"it could not be read ({e.Message})";
        }
        return cache;
    }

    /// <summary>The file's bytes: sorted keys, invariant numbers, LF line ends.</summary>
    public byte[] ToBytes()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("format", Format);
            json.WriteString("cpu", Identity.Cpu);
            json.WriteString("onnxRuntime", Identity.OnnxRuntime);
            json.WriteNumber("threads", 1);
            json.WriteStartObject("costs");
            foreach (var (key, ms) in _costs)
            {
                json.WritePropertyName(key);
                json.WriteRawValue(ms.ToString("0.0###", CultureInfo.InvariantCulture));
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(stream.ToArray()).Replace("\r\n", "\n") + "\n");
    }

    /// <summary>
    /// After measuring: the warnings a run gives about this cache (a discarded file that was replaced, a file that could
    /// not be written), saving it first when it changed.
    /// </summary>
    public IEnumerable<string> SaveAfterMeasuring(bool measured)
    {
        var warnings = new List<string>();
        if (Discarded != null && measured)
            warnings.Add($"The layer timing cache '{Path}' was not used because {Discarded}; it was measured again and replaced.");
        if (!Changed) return warnings;
        try
        {
            Save();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            warnings.Add($"The layer timing cache '{Path}' could not be written ({e.Message}): the next run measures the layers again. Set POTPOWERSHELL_CACHE_HOME to a writable folder.");
        }
        return warnings;
    }

    /// <summary>Writes the file atomically (temporary file in the same folder, then moved into place).</summary>
    public void Save()
    {
        string folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!;
        Directory.CreateDirectory(folder);
        string temp = System.IO.Path.Combine(folder, $".{FileName}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllBytes(temp, ToBytes());
            File.Move(temp, Path, overwrite: true);
            Changed = false;
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
