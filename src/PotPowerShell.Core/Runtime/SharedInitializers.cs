using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Runtime;

/// <summary>
/// Large initializers that every model of a run carries unchanged, held once in native memory and given to each ONNX
/// Runtime session (<c>SessionOptions.AddInitializer</c>) instead of being serialized into every model and loaded
/// again: lookup tables (initializers read only as the data of Gather with computed indices: a transformer's token and
/// position embeddings) and quantized weights (integer initializers read only as the input of DequantizeLinear).
/// AccuracyAware creates a session for every candidate: loading MiniLM's 47 MB token embeddings was half of each
/// creation, and loading its INT8 weights 40 % of what was left (bench/Bench-AccuracyAware.ps1, NOTES). A model
/// serialized here (<see cref="Serialize"/>) names each initializer it shares as external data in an empty placeholder
/// file, which ONNX Runtime never reads: the session is given the initializer itself. Only these two kinds qualify
/// because graph optimizations read other weights (a float Conv's are reordered, a constant Gather is folded), while a
/// fused QDQ kernel takes the quantized weight as it is and packs its own copy; a model ONNX Runtime still cannot load
/// that way is loaded whole (<see cref="Whole"/>).
/// </summary>
public sealed class SharedInitializers : IDisposable
{
    /// <summary>
    /// Smaller initializers cost little to load, so they stay in the model (MiniLM's smallest INT8 weights hold 144 KB).
    /// </summary>
    public const long MinimumBytes = 64 << 10;

    private const string PlaceholderName = "shared-initializer";

    private sealed record Held(TensorProto Tensor, OrtValue Value, IntPtr Memory);

    private sealed record Serialized(string[] Names, ModelProto Model);

    private readonly Dictionary<string, Held> _held;
    private readonly ConditionalWeakTable<byte[], Serialized> _serialized = new();
    private static readonly Lazy<string?> PlaceholderFolder = new(CreatePlaceholder, LazyThreadSafetyMode.ExecutionAndPublication);
    private int _disposed;

    private SharedInitializers(Dictionary<string, Held> held) => _held = held;

    /// <summary>The names of the initializers shared (tests and the log read them).</summary>
    public IReadOnlyCollection<string> Names => _held.Keys;

    /// <summary>The names of the lookup tables among <see cref="Names"/> (the others are quantized weights).</summary>
    public IReadOnlyList<string> Lookups => _held.Where(t => !Quantized(t.Value.Tensor)).Select(t => t.Key).ToList();

    /// <summary>The bytes of the initializers held.</summary>
    public long Bytes => _held.Values.Sum(t => (long)t.Tensor.RawData.Length);

    /// <summary>The initializers of <paramref name="model"/> worth sharing, or null when it has none.</summary>
    public static SharedInitializers? Find(ModelProto model, long minimumBytes = MinimumBytes)
    {
        var names = EligibleNames(model.Graph);
        var held = new Dictionary<string, Held>(StringComparer.Ordinal);
        try
        {
            foreach (var t in model.Graph.Initializer)
            {
                if (!names.Contains(t.Name) || t.RawData.Length < minimumBytes || held.ContainsKey(t.Name) || ElementType(t) is not { } type) continue;
                held[t.Name] = Hold(t, type);
            }
        }
        catch
        {
            foreach (var h in held.Values) Release(h);
            throw;
        }
        return held.Count == 0 ? null : new SharedInitializers(held);
    }

    /// <summary>
    /// <paramref name="model"/> serialized with each shared initializer it carries unchanged (same bytes, type and
    /// shape, still read only as it was) named as external data instead; the model itself is not changed. A session of
    /// these bytes must be configured by <see cref="Configure"/>.
    /// </summary>
    public byte[] Serialize(ModelProto model)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (PlaceholderFolder.Value == null) return model.ToByteArray();
        var eligible = EligibleNames(model.Graph);
        var light = model.Clone();
        var names = new List<string>();
        var initializers = light.Graph.Initializer;
        for (int i = 0; i < initializers.Count; i++)
        {
            var t = initializers[i];
            if (!_held.TryGetValue(t.Name, out var held) || !eligible.Contains(t.Name) || names.Contains(t.Name) || !Same(t, held.Tensor)) continue;
            initializers[i] = Placeholder(t);
            names.Add(t.Name);
        }
        var bytes = light.ToByteArray();
        if (names.Count > 0) _serialized.AddOrUpdate(bytes, new Serialized(names.ToArray(), model));
        return bytes;
    }

    /// <summary>
    /// Gives a session of <paramref name="model"/> the initializers <see cref="Serialize"/> left out of it; false (options
    /// unchanged) when these bytes did not come from <see cref="Serialize"/> or share nothing.
    /// </summary>
    internal bool Configure(byte[] model, SessionOptions options)
    {
        if (!_serialized.TryGetValue(model, out var serialized)) return false;
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        options.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", PlaceholderFolder.Value!);
        foreach (var name in serialized.Names) options.AddInitializer(name, _held[name].Value);
        return true;
    }

    /// <summary>The whole model of bytes <see cref="Serialize"/> gave (every initializer in it), or null for other bytes.</summary>
    internal byte[]? Whole(byte[] model) => _serialized.TryGetValue(model, out var serialized) ? serialized.Model.ToByteArray() : null;

    /// <summary>Frees the initializers: only once no session created with them runs any more.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var held in _held.Values) Release(held);
    }

    /// <summary>
    /// Initializers of <paramref name="graph"/> whose every use is the data input of a Gather whose indices are computed
    /// (neither an initializer nor a Constant's output) or, for an integer tensor (<see cref="Quantized"/>), the
    /// quantized input of DequantizeLinear; used in no subgraph, and not a graph input or output.
    /// </summary>
    private static HashSet<string> EligibleNames(GraphProto graph)
    {
        var constants = graph.Initializer.Select(t => t.Name).Concat(graph.Node.Where(n => n.OpType == "Constant").SelectMany(n => n.Output)).ToHashSet(StringComparer.Ordinal);
        var integers = graph.Initializer.Where(Quantized).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var eligible = new HashSet<string>(StringComparer.Ordinal);
        var otherwise = graph.Input.Select(i => i.Name).Concat(graph.Output.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            bool standard = node.Domain is "" or "ai.onnx";
            bool table = standard && node.OpType == "Gather" && node.Input.Count == 2 && !constants.Contains(node.Input[1]);
            bool weight = standard && node.OpType == "DequantizeLinear" && node.Input.Count > 0 && integers.Contains(node.Input[0]);
            for (int k = 0; k < node.Input.Count; k++)
                ((table || weight) && k == 0 ? eligible : otherwise).Add(node.Input[k]);
            otherwise.UnionWith(Subgraphs.Of(node).SelectMany(g => g.Node.SelectMany(Subgraphs.NamesRead)));
        }
        eligible.ExceptWith(otherwise);
        eligible.IntersectWith(graph.Initializer.Select(t => t.Name));
        return eligible;
    }

    /// <summary>An integer tensor: what DequantizeLinear reads as quantized data (a float one there is a scale-like constant).</summary>
    private static bool Quantized(TensorProto t) => (TensorProto.Types.DataType)t.DataType is TensorProto.Types.DataType.Int8
        or TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Int16 or TensorProto.Types.DataType.Uint16 or TensorProto.Types.DataType.Int32;

    private static bool Same(TensorProto a, TensorProto b) =>
        a.DataType == b.DataType && a.DataLocation == b.DataLocation && a.Dims.SequenceEqual(b.Dims) && a.RawData.Equals(b.RawData);

    /// <summary>ORT's element type of a raw-data tensor it can hold in plain memory; null for others (strings, external data).</summary>
    private static TensorElementType? ElementType(TensorProto t)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External || t.RawData.Length == 0) return null;
        return (TensorProto.Types.DataType)t.DataType switch
        {
            TensorProto.Types.DataType.Float => TensorElementType.Float,
            TensorProto.Types.DataType.Double => TensorElementType.Double,
            TensorProto.Types.DataType.Float16 => TensorElementType.Float16,
            TensorProto.Types.DataType.Bfloat16 => TensorElementType.BFloat16,
            TensorProto.Types.DataType.Int8 => TensorElementType.Int8,
            TensorProto.Types.DataType.Uint8 => TensorElementType.UInt8,
            TensorProto.Types.DataType.Int16 => TensorElementType.Int16,
            TensorProto.Types.DataType.Uint16 => TensorElementType.UInt16,
            TensorProto.Types.DataType.Int32 => TensorElementType.Int32,
            TensorProto.Types.DataType.Int64 => TensorElementType.Int64,
            _ => null,
        };
    }

    /// <summary>A copy of the tensor's bytes in native memory (ORT's CPU allocator alignment), wrapped by an OrtValue.</summary>
    private static unsafe Held Hold(TensorProto t, TensorElementType type)
    {
        // Before any ORT object: the loader must register the native library resolver first.
        OnnxRuntimeLoader.Ensure();
        var data = t.RawData.Span;
        var memory = (IntPtr)NativeMemory.AlignedAlloc((nuint)data.Length, 64);
        try
        {
            data.CopyTo(new Span<byte>((void*)memory, data.Length));
            var value = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, t.Dims.ToArray(), memory, data.Length);
            return new Held(t, value, memory);
        }
        catch
        {
            NativeMemory.AlignedFree((void*)memory);
            throw;
        }
    }

    private static unsafe void Release(Held held)
    {
        held.Value.Dispose();
        NativeMemory.AlignedFree((void*)held.Memory);
    }

    /// <summary>The tensor without its data, named as external data of the placeholder file.</summary>
    private static TensorProto Placeholder(TensorProto t)
    {
        var placeholder = new TensorProto { Name = t.Name, DataType = t.DataType, DataLocation = TensorProto.Types.DataLocation.External };
        placeholder.Dims.AddRange(t.Dims);
        placeholder.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = PlaceholderName });
        placeholder.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = "0" });
        placeholder.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = t.RawData.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        return placeholder;
    }

    /// <summary>
    /// The folder of the empty placeholder file (in this process's temporary folder): ONNX Runtime checks that an
    /// external data file exists before it takes the given initializer instead. Null when it cannot be written: then models
    /// are serialized whole.
    /// </summary>
    private static string? CreatePlaceholder()
    {
        try
        {
            string folder = Path.Combine(ProcessTempFolder.Path, "shared-initializers");
            Directory.CreateDirectory(folder);
            using (File.Create(Path.Combine(folder, PlaceholderName))) { }
            return folder;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
