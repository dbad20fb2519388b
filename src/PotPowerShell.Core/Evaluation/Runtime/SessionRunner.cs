using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// One ONNX Runtime session and the pinned input buffers it is fed from: items are copied into the buffers, which
/// OrtValues wrap without another copy; outputs are converted to float32 into reusable arrays.
/// </summary>
internal sealed class SessionRunner : IDisposable
{
    private sealed class Input
    {
        public required string ModelName;
        public required string DataName;
        public required TensorElementType OrtType;
        public required TensorElementKind Kind;
        public required int[] ModelDims;
        public long[]? ItemShape;
        public long ItemBytes;
        public byte[] Buffer = Array.Empty<byte>();
        public IntPtr Address;
    }

    private readonly InferenceSession _session;
    private readonly Input[] _inputs;
    private readonly RunOptions _runOptions;
    private readonly string _source;
    private string[] _outputNames;

    public SessionRunner(byte[] model, string source, int threads, int? requestedBatch, IReadOnlyList<string> dataInputs, string dataSource)
    {
        _source = source;
        // Before any ORT object: the loader must register the native library resolver first.
        OnnxRuntimeLoader.Ensure();
        _runOptions = new RunOptions();
        var clock = Stopwatch.StartNew();
        using (var options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, threads))
            _session = OrtSessions.Create(model, options, source);
        CreationTime = clock.Elapsed;
        try
        {
            var modelInputs = _session.InputNames.ToList();
            var binding = InputBinding.Bind(dataInputs, modelInputs, dataSource);
            _inputs = modelInputs.Select(name =>
            {
                var meta = _session.InputMetadata[name];
                if (!meta.IsTensor)
                    throw new PotException("ModelInputNotTensor", PotErrorCategory.NotImplemented, $"The model input '{name}' of '{source}' is not a tensor; only tensor inputs can be fed.", source);
                return new Input
                {
                    ModelName = name,
                    DataName = binding[name],
                    OrtType = meta.ElementDataType,
                    Kind = KindOf(meta.ElementDataType, name, source),
                    ModelDims = meta.Dimensions.ToArray(),
                };
            }).ToArray();
            ModelOutputs = _session.OutputNames.ToList();
            _outputNames = ModelOutputs.ToArray();
            // A fixed first axis on every input fixes the batch; otherwise the requested size is used.
            var fixedDims = _inputs.Where(i => i.ModelDims.Length > 0 && i.ModelDims[0] > 0).Select(i => i.ModelDims[0]).Distinct().ToList();
            FixedBatch = fixedDims.Count > 0;
            BatchSize = FixedBatch ? fixedDims.Max() : Math.Max(1, requestedBatch ?? EngineDefinition.DefaultBatchSize);
            if (_inputs.Any(i => i.ModelDims.Length == 0))
            {
                FixedBatch = true;
                BatchSize = 1;
            }
        }
        catch
        {
            _session.Dispose();
            _runOptions.Dispose();
            throw;
        }
    }

    public IReadOnlyList<string> ModelOutputs { get; }
    public int BatchSize { get; }
    /// <summary>True when the model's batch axis is fixed: short batches are padded with copies of their last item.</summary>
    public bool FixedBatch { get; }
    public TimeSpan CreationTime { get; }

    /// <summary>The outputs to fetch (ORT then computes only what they need).</summary>
    public void SelectOutputs(IEnumerable<string> names) => _outputNames = ModelOutputs.Where(names.Contains).ToArray();

    public BatchOutputs NewOutputs() => new(_outputNames);

    /// <summary>Runs one batch and returns the inference time in milliseconds (Run only).</summary>
    public double Run(IReadOnlyList<DataItem> items, BatchOutputs into, CancellationToken cancellationToken)
    {
        int n = items.Count;
        int rows = FixedBatch ? BatchSize : n;
        var values = new OrtValue[_inputs.Length];
        try
        {
            for (int k = 0; k < _inputs.Length; k++) values[k] = Fill(_inputs[k], items, rows);
            cancellationToken.ThrowIfCancellationRequested();
            using var registration = cancellationToken.Register(() => _runOptions.Terminate = true);
            long start = Stopwatch.GetTimestamp();
            IDisposableReadOnlyCollection<OrtValue> outputs;
            try
            {
                outputs = _session.Run(_runOptions, _inputs.Select(i => i.ModelName).ToArray(), values, _outputNames);
            }
            catch (OnnxRuntimeException e)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw new PotException("EvaluationRunFailed", PotErrorCategory.InvalidOperation,
                    $"ONNX Runtime failed to run '{_source}' on a batch of {rows} item{(rows == 1 ? "" : "s")} (inputs {string.Join(", ", _inputs.Select(i => $"{i.ModelName}: {i.Kind.ToString().ToLowerInvariant()}[{rows},{string.Join(",", i.ItemShape!.Skip(1))}]"))}): {e.Message}", _source, e);
            }
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            using (outputs)
            {
                into.Items = n;
                into.Rows = rows;
                int o = 0;
                foreach (var value in outputs) CopyOutput(value, into, o++);
            }
            return ms;
        }
        finally
        {
            foreach (var v in values) v?.Dispose();
        }
    }

    private OrtValue Fill(Input input, IReadOnlyList<DataItem> items, int rows)
    {
        for (int r = 0; r < rows; r++)
        {
            var item = items[Math.Min(r, items.Count - 1)];
            if (!item.Inputs.TryGetValue(input.DataName, out var tensor))
                throw new PotException("EngineInputMismatch", PotErrorCategory.InvalidData, $"Item {item.Index} has no data for input '{input.DataName}'.", _source);
            if (tensor.Kind != input.Kind) tensor = TensorBytes.Convert(tensor, input.Kind);
            if (input.ItemShape == null) Prepare(input, tensor, rows);
            else if (!tensor.Shape.AsSpan().SequenceEqual(input.ItemShape))
                throw new PotException("EngineBatchShapeMismatch", PotErrorCategory.InvalidData,
                    $"Item {item.Index} gives input '{input.ModelName}' the shape [{string.Join(",", tensor.Shape)}] but earlier items gave [{string.Join(",", input.ItemShape)}]: items of different sizes cannot share a batch. Resize them to one size (preprocessing) or set batch_size: 1.", _source);
            if (input.Buffer.Length < rows * input.ItemBytes) Allocate(input, rows);
            TensorBytes.AsBytes(tensor.Data).CopyTo(input.Buffer.AsSpan((int)(r * input.ItemBytes), (int)input.ItemBytes));
        }
        var shape = (long[])input.ItemShape!.Clone();
        shape[0] = rows;
        return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, input.OrtType, shape, input.Address, rows * input.ItemBytes);
    }

    private void Prepare(Input input, TensorData tensor, int rows)
    {
        var shape = tensor.Shape;
        string dataShape = $"[{string.Join(",", shape)}]";
        string modelShape = $"[{string.Join(",", input.ModelDims.Select(d => d < 0 ? "?" : d.ToString()))}]";
        if (shape.Length == 0 || shape[0] != 1)
            throw new PotException("EngineShapeMismatch", PotErrorCategory.InvalidData, $"Data for input '{input.ModelName}' has the item shape {dataShape}; items need a leading axis of 1.", _source);
        if (shape.Length != input.ModelDims.Length || shape.Skip(1).Zip(input.ModelDims.Skip(1)).Any(p => p.Second > 0 && p.First != p.Second))
            throw new PotException("EngineShapeMismatch", PotErrorCategory.InvalidData,
                $"The data gives input '{input.ModelName}' items of shape {dataShape} but the model expects {modelShape}. Check the arrays' shapes, or the images' preprocessing (resize/center_crop size, channels, layout NCHW/NHWC).", _source);
        input.ItemShape = (long[])shape.Clone();
        input.ItemBytes = TensorData.ElementCount(shape) * TensorBytes.ElementSize(input.Kind);
        Allocate(input, rows);
    }

    private static void Allocate(Input input, int rows)
    {
        // On the pinned object heap: ORT reads the buffer through a raw pointer for the whole run.
        input.Buffer = GC.AllocateUninitializedArray<byte>((int)Math.Max(1, rows * input.ItemBytes), pinned: true);
        input.Address = Marshal.UnsafeAddrOfPinnedArrayElement(input.Buffer, 0);
    }

    private void CopyOutput(OrtValue value, BatchOutputs into, int o)
    {
        var info = value.GetTensorTypeAndShape();
        var shape = info.Shape;
        long count = info.ElementCount;
        if (into.Data[o].Length < count) into.Data[o] = new float[Math.Max(count, into.Data[o].Length * 2)];
        into.Shapes[o] = shape;
        var target = into.Data[o].AsSpan(0, (int)count);
        var raw = value.GetTensorMutableRawData();
        switch (info.ElementDataType)
        {
            case TensorElementType.Float: MemoryMarshal.Cast<byte, float>(raw).CopyTo(target); break;
            case TensorElementType.Float16: Widen(MemoryMarshal.Cast<byte, Half>(raw), target, x => (float)x); break;
            case TensorElementType.Double: Widen(MemoryMarshal.Cast<byte, double>(raw), target, x => (float)x); break;
            case TensorElementType.Int64: Widen(MemoryMarshal.Cast<byte, long>(raw), target, x => x); break;
            case TensorElementType.Int32: Widen(MemoryMarshal.Cast<byte, int>(raw), target, x => x); break;
            case TensorElementType.UInt8: Widen<byte>(raw, target, x => x); break;
            case TensorElementType.Int8: Widen(MemoryMarshal.Cast<byte, sbyte>(raw), target, x => x); break;
            case TensorElementType.Bool: Widen<byte>(raw, target, x => x != 0 ? 1 : 0); break;
            default:
                throw new PotException("ModelOutputUnsupported", PotErrorCategory.NotImplemented,
                    $"The output '{into.Names[o]}' of '{_source}' holds {info.ElementDataType} values, which metrics cannot read. Use numeric outputs.", _source);
        }
    }

    private static void Widen<T>(ReadOnlySpan<T> source, Span<float> target, Func<T, float> convert)
    {
        for (int i = 0; i < target.Length; i++) target[i] = convert(source[i]);
    }

    private static TensorElementKind KindOf(TensorElementType type, string name, string source) => type switch
    {
        TensorElementType.Float => TensorElementKind.Float,
        TensorElementType.Float16 => TensorElementKind.Float16,
        TensorElementType.Double => TensorElementKind.Double,
        TensorElementType.Int64 => TensorElementKind.Int64,
        TensorElementType.Int32 => TensorElementKind.Int32,
        TensorElementType.UInt8 => TensorElementKind.UInt8,
        TensorElementType.Int8 => TensorElementKind.Int8,
        TensorElementType.Bool => TensorElementKind.Bool,
        _ => throw new PotException("ModelInputUnsupported", PotErrorCategory.NotImplemented,
            $"The model input '{name}' of '{source}' takes {type} values, which the data readers cannot produce.", source),
    };

    public void Dispose()
    {
        _runOptions.Dispose();
        _session.Dispose();
    }
}
