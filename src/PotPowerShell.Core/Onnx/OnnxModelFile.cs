using Google.Protobuf;
using Onnx;

namespace PotPowerShell.Core.Onnx;

/// <summary>Reads and writes ONNX model files, including weights kept in external data files.</summary>
public static class OnnxModelFile
{
    /// <summary>Above this many bytes of tensor data a model is written with external data (protobuf's limit is 2 GiB).</summary>
    public const long ExternalDataThreshold = 1_800_000_000;

    /// <summary>Reads a model and pulls every external tensor into memory so the rest of the core sees plain tensors.</summary>
    public static ModelProto Load(string path)
    {
        if (!File.Exists(path))
            throw new PotException("ModelNotFound", PotErrorCategory.ObjectNotFound,
                $"The model file '{path}' does not exist. Check the path; a relative path is resolved against the current location.", path);
        ModelProto model;
        try
        {
            using var stream = File.OpenRead(path);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw Corrupt(path, e.Message, e);
        }
        if (model.Graph == null || (model.Graph.Node.Count == 0 && model.Graph.Output.Count == 0))
            throw Corrupt(path, "it holds no graph", null);
        if (ProducedTwice(model.Graph) is { } twice)
            throw Corrupt(path, $"tensor '{twice}' has more than one producer (two nodes, or a node and a graph input or initializer); ONNX allows one", null);
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        foreach (var tensor in AllTensors(model.Graph))
            if (tensor.DataLocation == TensorProto.Types.DataLocation.External)
                ReadExternal(tensor, folder, path);
        return model;
    }

    /// <summary>A model file as an ONNX Runtime session reads it from memory: external data pulled in (ORT resolves none from bytes).</summary>
    public static byte[] ReadBytes(string path) => Load(path).ToByteArray();

    /// <summary>The first tensor of the main graph written by two nodes, or by a node while also a graph input or initializer.</summary>
    private static string? ProducedTwice(GraphProto graph)
    {
        var produced = graph.Input.Select(i => i.Name).Concat(graph.Initializer.Select(t => t.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var node in graph.Node)
            foreach (var output in node.Output)
                if (output.Length > 0 && !produced.Add(output)) return output;
        return null;
    }

    private static PotException Corrupt(string path, string why, Exception? inner) =>
        new("ModelCorrupt", PotErrorCategory.InvalidData,
            $"'{path}' is not a readable ONNX model ({why}). Check that the file is a complete .onnx file and not, for example, an OpenVINO .xml or a truncated download.",
            path, inner);

    /// <summary>Every tensor held by the graph and its subgraphs: initializers and Constant node values.</summary>
    public static IEnumerable<TensorProto> AllTensors(GraphProto graph)
    {
        foreach (var t in graph.Initializer) yield return t;
        foreach (var node in graph.Node)
            foreach (var attr in node.Attribute)
            {
                if (attr.T != null) yield return attr.T;
                foreach (var t in attr.Tensors) yield return t;
                if (attr.G != null) foreach (var t in AllTensors(attr.G)) yield return t;
                foreach (var g in attr.Graphs) foreach (var t in AllTensors(g)) yield return t;
            }
    }

    // External data (TensorProto.external_data of onnx.proto, whose descriptor is build/onnx.fds): 'location' relative
    // to the model's folder, optional 'offset' and 'length' in bytes. The file must be inside the folder after every
    // link is resolved, and the bytes inside the file.
    private static void ReadExternal(TensorProto tensor, string folder, string modelPath)
    {
        var info = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in tensor.ExternalData)
            if (!info.TryAdd(e.Key, e.Value))
                throw ExternalInvalid(tensor, modelPath, modelPath, $"names '{e.Key}' twice");
        if (!info.TryGetValue("location", out var location) || location.Length == 0)
            throw Corrupt(modelPath, $"tensor '{tensor.Name}' is external but names no location", null);
        string file;
        try
        {
            file = Path.GetFullPath(Path.Combine(folder, location));
            if (!CanonicalPath.IsInside(folder, file))
                throw new PotException("ExternalDataOutsideModel", PotErrorCategory.InvalidData,
                    $"Tensor '{tensor.Name}' of '{modelPath}' keeps its data in '{location}', which is outside the model's folder '{folder}' " +
                    $"(symbolic links count as their target: '{CanonicalPath.Resolve(file)}'). External data must be in the model's folder or below it; copy the file there.", file);
        }
        catch (Exception e) when (e is IOException or ArgumentException or NotSupportedException or UnauthorizedAccessException)
        {
            throw ExternalInvalid(tensor, modelPath, location, $"names the location '{location}', which is not a usable path ({e.Message})");
        }
        if (!File.Exists(file))
            throw new PotException("ExternalDataNotFound", PotErrorCategory.ObjectNotFound,
                $"The external data file '{file}' of tensor '{tensor.Name}' in '{modelPath}' does not exist. Keep it next to the model.", file);
        using var fs = File.OpenRead(file);
        long offset = Number(info, "offset", tensor, modelPath, file) ?? 0;
        if (offset > fs.Length)
            throw ExternalInvalid(tensor, modelPath, file, $"starts at offset {offset}, beyond the end of the file ({fs.Length} bytes)");
        long length = Number(info, "length", tensor, modelPath, file) ?? fs.Length - offset;
        if (length > fs.Length - offset)
            throw ExternalInvalid(tensor, modelPath, file, $"reads {length} bytes from offset {offset}, beyond the end of the file ({fs.Length} bytes)");
        if (length > Array.MaxLength)
            throw ExternalInvalid(tensor, modelPath, file, $"reads {length} bytes, more than one tensor can hold in memory ({Array.MaxLength})");
        var bytes = new byte[length];
        fs.Seek(offset, SeekOrigin.Begin);
        fs.ReadExactly(bytes);
        tensor.RawData = ByteString.CopyFrom(bytes);
        tensor.ExternalData.Clear();
        tensor.ClearDataLocation();
    }

    // A byte count or offset: a whole number from 0 to 2^63-1 in decimal, or null when the key is absent.
    private static long? Number(Dictionary<string, string> info, string key, TensorProto tensor, string modelPath, string file)
    {
        if (!info.TryGetValue(key, out var text)) return null;
        if (long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n)) return n;
        string shown = text.Length > 30 ? text[..30] + "..." : text;
        throw ExternalInvalid(tensor, modelPath, file, $"gives its {key} as '{shown}', not a whole number of bytes from 0 to {long.MaxValue}");
    }

    private static PotException ExternalInvalid(TensorProto tensor, string modelPath, string file, string why) =>
        new("ExternalDataInvalid", PotErrorCategory.InvalidData,
            $"Tensor '{tensor.Name}' of '{modelPath}' {why} (external data file '{file}'). The model or its data file is damaged: export the model again.", file);

    /// <summary>
    /// Writes the model to <paramref name="path"/> through a temporary file in the same folder (see
    /// <see cref="OutputFiles"/>), so a failure or cancellation never leaves a partial model. Large models get their
    /// tensors in '&lt;file&gt;.data'. Without <paramref name="overwrite"/> an existing file is OutputExists.
    /// </summary>
    public static void Save(ModelProto model, string path, CancellationToken cancellationToken = default, bool overwrite = true)
    {
        string full = Path.GetFullPath(path);
        long tensorBytes = model.Graph.Initializer.Sum(t => (long)t.RawData.Length);
        string? tmpData = null;
        try
        {
            OutputFiles.Write(full, overwrite, tmp =>
            {
                var toWrite = model;
                if (tensorBytes > ExternalDataThreshold)
                {
                    toWrite = model.Clone();
                    tmpData = tmp + ".data";
                    WriteExternal(toWrite, tmpData, Path.GetFileName(full) + ".data", cancellationToken);
                }
                using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
                {
                    toWrite.WriteTo(fs);
                }
                cancellationToken.ThrowIfCancellationRequested();
                if (tmpData != null) OutputFiles.MoveIntoPlace(tmpData, full + ".data", overwrite);
            }, (target, e) => new PotException("OutputWriteFailed", PotErrorCategory.WriteError,
                $"Could not write the model '{target}': {e.Message} Check that the folder can be written to and has free space, or choose another output path.", target, e));
        }
        finally
        {
            if (tmpData != null && File.Exists(tmpData)) File.Delete(tmpData);
        }
    }

    private static void WriteExternal(ModelProto model, string dataPath, string location, CancellationToken ct)
    {
        using var data = new FileStream(dataPath, FileMode.CreateNew, FileAccess.Write);
        foreach (var t in model.Graph.Initializer)
        {
            ct.ThrowIfCancellationRequested();
            if (t.RawData.Length < 1024) continue;
            // 4 KiB alignment lets ORT memory-map the tensors.
            long pad = (4096 - data.Position % 4096) % 4096;
            data.Write(new byte[pad]);
            long offset = data.Position;
            t.RawData.WriteTo(data);
            t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
            t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString() });
            t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = t.RawData.Length.ToString() });
            t.DataLocation = TensorProto.Types.DataLocation.External;
            t.RawData = ByteString.Empty;
        }
    }
}
