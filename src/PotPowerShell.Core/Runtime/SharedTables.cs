using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Runtime;

/// <summary>
/// Lookup tables that every model of a run carries unchanged (large initializers read only as the data of Gather with
/// computed indices: a transformer's token and position embeddings), held once in native memory and given to each
/// ONNX Runtime session (<c>SessionOptions.AddInitializer</c>) instead of being serialized into every model and loaded
/// again. AccuracyAware creates a session for every candidate, and loading MiniLM's 47 MB token embeddings was half of
/// each creation (bench/Bench-AccuracyAware.ps1, NOTES). A model serialized here (<see cref="Serialize"/>) names each
/// table it shares as external data in an empty placeholder file, which ONNX Runtime never reads: the session is given
/// the table itself. Only Gather's data qualifies because graph optimizations read other weights (a float Conv's are
/// reordered, a constant Gather is folded); a model ONNX Runtime still cannot load that way is loaded whole
/// (<see cref="Whole"/>).
/// </summary>
public sealed class SharedTables : IDisposable
{
    /// <summary>Smaller tables cost little to load, so they stay in the model.</summary>
    public const long MinimumBytes = 1 << 20;

    private const string PlaceholderName = "shared-table";

    private sealed record Table(TensorProto Tensor, OrtValue Value, IntPtr Memory);

    private sealed record Serialized(string[] Names, ModelProto Model);

    private readonly Dictionary<string, Table> _tables;
    private readonly ConditionalWeakTable<byte[], Serialized> _serialized = new();
    private static readonly Lazy<string?> PlaceholderFolder = new(CreatePlaceholder, LazyThreadSafetyMode.ExecutionAndPublication);
    private int _disposed;

    private SharedTables(Dictionary<string, Table> tables) => _tables = tables;

    /// <summary>The names of the tables shared (tests and the log read them).</summary>
    public IReadOnlyCollection<string> Names => _tables.Keys;

    /// <summary>The bytes of the tables held.</summary>
    public long Bytes => _tables.Values.Sum(t => (long)t.Tensor.RawData.Length);

    /// <summary>The tables of <paramref name="model"/> worth sharing, or null when it has none.</summary>
    public static SharedTables? Find(ModelProto model, long minimumBytes = MinimumBytes)
    {
        var names = TableNames(model.Graph);
        var tables = new Dictionary<string, Table>(StringComparer.Ordinal);
        try
        {
            foreach (var t in model.Graph.Initializer)
            {
                if (!names.Contains(t.Name) || t.RawData.Length < minimumBytes || tables.ContainsKey(t.Name) || ElementType(t) is not { } type) continue;
                tables[t.Name] = Hold(t, type);
            }
        }
        catch
        {
            foreach (var table in tables.Values) Release(table);
            throw;
        }
        return tables.Count == 0 ? null : new SharedTables(tables);
    }

    /// <summary>
    /// <paramref name="model"/> serialized with each shared table it carries unchanged (same bytes, type and shape, still
    /// read only by Gather) named as external data instead; the model itself is not changed. A session of these bytes
    /// must be configured by <see cref="Configure"/>.
    /// </summary>
    public byte[] Serialize(ModelProto model)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (PlaceholderFolder.Value == null) return model.ToByteArray();
        var eligible = TableNames(model.Graph);
        var light = model.Clone();
        var names = new List<string>();
        var initializers = light.Graph.Initializer;
        for (int i = 0; i < initializers.Count; i++)
        {
            var t = initializers[i];
            if (!_tables.TryGetValue(t.Name, out var table) || !eligible.Contains(t.Name) || names.Contains(t.Name) || !Same(t, table.Tensor)) continue;
            initializers[i] = Placeholder(t);
            names.Add(t.Name);
        }
        var bytes = light.ToByteArray();
        if (names.Count > 0) _serialized.AddOrUpdate(bytes, new Serialized(names.ToArray(), model));
        return bytes;
    }

    /// <summary>
    /// Gives a session of <paramref name="model"/> the tables <see cref="Serialize"/> left out of it; false (options
    /// unchanged) when these bytes did not come from <see cref="Serialize"/> or share nothing.
    /// </summary>
    internal bool Configure(byte[] model, SessionOptions options)
    {
        if (!_serialized.TryGetValue(model, out var serialized)) return false;
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        options.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", PlaceholderFolder.Value!);
        foreach (var name in serialized.Names) options.AddInitializer(name, _tables[name].Value);
        return true;
    }

    /// <summary>The whole model of bytes <see cref="Serialize"/> gave (every table in it), or null for other bytes.</summary>
    internal byte[]? Whole(byte[] model) => _serialized.TryGetValue(model, out var serialized) ? serialized.Model.ToByteArray() : null;

    /// <summary>Frees the tables: only once no session created with them runs any more.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var table in _tables.Values) Release(table);
    }

    /// <summary>
    /// Initializers of <paramref name="graph"/> whose every use is the data input of a Gather whose indices are computed
    /// (neither an initializer nor a Constant's output), used in no subgraph, and not a graph input or output.
    /// </summary>
    private static HashSet<string> TableNames(GraphProto graph)
    {
        var constants = graph.Initializer.Select(t => t.Name).Concat(graph.Node.Where(n => n.OpType == "Constant").SelectMany(n => n.Output)).ToHashSet(StringComparer.Ordinal);
        var gathered = new HashSet<string>(StringComparer.Ordinal);
        var otherwise = graph.Input.Select(i => i.Name).Concat(graph.Output.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            bool table = node.OpType == "Gather" && node.Domain is "" or "ai.onnx" && node.Input.Count == 2 && !constants.Contains(node.Input[1]);
            for (int k = 0; k < node.Input.Count; k++)
                (table && k == 0 ? gathered : otherwise).Add(node.Input[k]);
            otherwise.UnionWith(Subgraphs(node).SelectMany(NamesUsed));
        }
        gathered.ExceptWith(otherwise);
        gathered.IntersectWith(graph.Initializer.Select(t => t.Name));
        return gathered;
    }

    /// <summary>Every name the nodes of <paramref name="graph"/> and its subgraphs read.</summary>
    private static IEnumerable<string> NamesUsed(GraphProto graph) => graph.Node.SelectMany(n => n.Input.Concat(Subgraphs(n).SelectMany(NamesUsed)));

    private static IEnumerable<GraphProto> Subgraphs(NodeProto node) => node.Attribute.SelectMany(a => a.G is { } g ? a.Graphs.Prepend(g) : a.Graphs);

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
    private static unsafe Table Hold(TensorProto t, TensorElementType type)
    {
        // Before any ORT object: the loader must register the native library resolver first.
        OnnxRuntimeLoader.Ensure();
        var data = t.RawData.Span;
        var memory = (IntPtr)NativeMemory.AlignedAlloc((nuint)data.Length, 64);
        try
        {
            data.CopyTo(new Span<byte>((void*)memory, data.Length));
            var value = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, t.Dims.ToArray(), memory, data.Length);
            return new Table(t, value, memory);
        }
        catch
        {
            NativeMemory.AlignedFree((void*)memory);
            throw;
        }
    }

    private static unsafe void Release(Table table)
    {
        table.Value.Dispose();
        NativeMemory.AlignedFree((void*)table.Memory);
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
    /// external data file exists before it takes the given table instead. Null when it cannot be written: then models
    /// are serialized whole.
    /// </summary>
    private static string? CreatePlaceholder()
    {
        try
        {
            string folder = Path.Combine(ProcessTempFolder.Path, "shared-tables");
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
