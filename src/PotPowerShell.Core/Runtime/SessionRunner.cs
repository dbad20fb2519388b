using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Runtime;

/// <summary>
/// One ONNX Runtime session and the pinned input buffers it is fed from: items are copied into the buffers, which
/// OrtValues wrap without another copy; outputs are converted to float32 into reusable arrays. <see cref="Fork"/> gives
/// another set of buffers on the same session, so several threads can run it at once.
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
        /// <summary>Fed from <see cref="Activations"/> instead of the data (see <see cref="SuffixCut"/>).</summary>
        public bool Stored;
        public long[]? ItemShape;
        /// <summary>The items have one axis more than the model input, fed without it (<see cref="InputBinding.DropsItemAxis"/>).</summary>
        public bool DropsItemAxis;
        public long ItemBytes;
        public byte[] Buffer = Array.Empty<byte>();
        public IntPtr Address;
    }

    private readonly InferenceSession _session;
    /// <summary>False for a <see cref="Fork"/>: the runner it was forked from disposes the session.</summary>
    private readonly bool _ownsSession = true;
    private readonly Input[] _inputs;
    private readonly RunOptions _runOptions;
    private readonly string _source;
    private string[] _outputNames = Array.Empty<string>();
    private readonly string[] _inputNames;

    /// <summary>True once ONNX Runtime refused a lone item padded with its copy: lone items then run alone (see <see cref="Run"/>).</summary>
    private bool _loneAlone;

    /// <param name="shared">The run's shared initializers: a model serialized by them gets them (see <see cref="SharedInitializers"/>).</param>
    /// <param name="itemShapes">The shape of each data array in an item of the data (by its name), when known: an input
    /// that items are one axis above has no batch axis (<see cref="NoBatchAxis"/>).</param>
    public SessionRunner(byte[] model, string source, int threads, int requestedBatch, IReadOnlyList<string> dataInputs, string dataSource, SharedInitializers? shared = null,
        IReadOnlyDictionary<string, long[]>? itemShapes = null)
    {
        _source = source;
        // Before any ORT object: the loader must register the native library resolver first.
        OnnxRuntimeLoader.Ensure();
        _runOptions = new RunOptions();
        var clock = Stopwatch.StartNew();
        using (var options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, threads))
        {
            // A refused batch is retried item by item (see Evaluator), and a failure that remains becomes
            // EvaluationRunFailed with ORT's message, so ORT's own error line on stderr would only alarm.
            options.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
            shared?.Configure(model, options);
            _session = OrtSessions.Create(model, options, source);
        }
        CreationTime = clock.Elapsed;
        try
        {
            var metadata = _session.ModelMetadata.CustomMetadataMap;
            var stored = SuffixCut.Listed(metadata, SuffixCut.StoredInputsKey).ToHashSet(StringComparer.Ordinal);
            _captured = SuffixCut.Listed(metadata, SuffixCut.CapturedOutputsKey).ToArray();
            _capturedShapes = _captured.Select(n => Declared(_session.OutputMetadata[n])).ToArray();
            var modelInputs = _session.InputNames.ToList();
            var binding = InputBinding.Bind(dataInputs, modelInputs.Where(n => !stored.Contains(n)).ToList(), dataSource, source);
            _inputs = modelInputs.Select(name =>
            {
                var meta = _session.InputMetadata[name];
                if (!meta.IsTensor)
                    throw new PotException("ModelInputNotTensor", PotErrorCategory.NotImplemented, $"The model input '{name}' of '{source}' is not a tensor; only tensor inputs can be fed.", source);
                return new Input
                {
                    ModelName = name,
                    DataName = stored.Contains(name) ? name : binding[name],
                    OrtType = meta.ElementDataType,
                    Kind = InputBinding.KindOf(meta.ElementDataType, name, source),
                    ModelDims = meta.Dimensions.ToArray(),
                    Stored = stored.Contains(name),
                };
            }).ToArray();
            _inputNames = _inputs.Select(i => i.ModelName).ToArray();
            ModelOutputs = _session.OutputNames.Where(n => !_captured.Contains(n)).ToList();
            DefaultOutput = ModelOutputs.FirstOrDefault(n => _session.OutputMetadata[n] is { OnnxValueType: OnnxValueType.ONNX_TYPE_TENSOR } o
                    && o.ElementDataType is TensorElementType.Float or TensorElementType.Float16 or TensorElementType.Double)
                ?? ModelOutputs.FirstOrDefault();
            IntegerOutputs = ModelOutputs.Where(n => _session.OutputMetadata[n] is { OnnxValueType: OnnxValueType.ONNX_TYPE_TENSOR } o
                && o.ElementDataType is TensorElementType.Int64 or TensorElementType.Int32 or TensorElementType.Int16 or TensorElementType.Int8
                    or TensorElementType.UInt64 or TensorElementType.UInt32 or TensorElementType.UInt16 or TensorElementType.UInt8 or TensorElementType.Bool)
                .ToHashSet(StringComparer.Ordinal);
            Fetch(ModelOutputs.ToArray());
            // A fixed first axis on every data input fixes the batch; otherwise the requested size is used. An input
            // without a batch axis takes one item per run, as a scalar input does, whatever its first dimension.
            var unbatched = _inputs.Where(i => !i.Stored && itemShapes?.GetValueOrDefault(i.DataName) is { } shape && NoBatchAxis(shape, i.ModelDims)).ToList();
            var fixedDims = _inputs.Where(i => !i.Stored && i.ModelDims.Length > 0 && i.ModelDims[0] > 0 && !unbatched.Contains(i)).Select(i => i.ModelDims[0]).Distinct().ToList();
            if (metadata.TryGetValue(SuffixCut.FixedBatchKey, out var wholeBatch)) fixedDims.Add(int.Parse(wholeBatch, System.Globalization.CultureInfo.InvariantCulture));
            FixedBatch = fixedDims.Count > 0;
            BatchSize = FixedBatch ? fixedDims.Max() : Math.Max(1, requestedBatch);
            if (_inputs.Any(i => !i.Stored && i.ModelDims.Length == 0) || unbatched.Count > 0)
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

    private SessionRunner(SessionRunner other)
    {
        _session = other._session;
        _ownsSession = false;
        _source = other._source;
        _runOptions = new RunOptions();
        _inputs = other._inputs.Select(i => new Input { ModelName = i.ModelName, DataName = i.DataName, OrtType = i.OrtType, Kind = i.Kind, ModelDims = i.ModelDims, Stored = i.Stored }).ToArray();
        _captured = other._captured;
        _capturedShapes = other._capturedShapes;
        Activations = other.Activations;
        _inputNames = other._inputNames;
        Fetch(other._outputNames);
        ModelOutputs = other.ModelOutputs;
        DefaultOutput = other.DefaultOutput;
        IntegerOutputs = other.IntegerOutputs;
        BatchSize = other.BatchSize;
        FixedBatch = other.FixedBatch;
    }

    /// <summary>
    /// A runner on the same session with its own input buffers and run options, fetching the same outputs. ONNX Runtime
    /// runs one session from several threads at once, so side-by-side workers need one session creation (graph
    /// optimization) in all, not one each. Dispose it before this runner.
    /// </summary>
    public SessionRunner Fork() => new(this);

    /// <summary>The error id of a run ONNX Runtime refused.</summary>
    public const string RunFailedId = "EvaluationRunFailed";

    /// <summary>The error id of a batch whose items differ in shape.</summary>
    public const string ShapeMismatchId = "EngineBatchShapeMismatch";

    /// <summary>A batch of several items that may run item by item instead: ONNX Runtime refused it, or its items differ in shape.</summary>
    public static bool RefusedBatch(PotException e) => e.ErrorId is RunFailedId or ShapeMismatchId;

    public IReadOnlyList<string> ModelOutputs { get; }

    /// <summary>The declared dimensions of the first input fed from the data (-1 or 0 where dynamic), or null without one.</summary>
    public IReadOnlyList<int>? FirstInputDims => _inputs.FirstOrDefault(i => !i.Stored)?.ModelDims;

    /// <summary>
    /// The output an engine reads when it names none: the first that holds floating-point values (class scores, an
    /// embedding), else the first. A model whose first output is its int64 argmax label, its scores second, is scored
    /// by the scores.
    /// </summary>
    public string? DefaultOutput { get; }

    /// <summary>The model outputs that hold integers or booleans (a class index, as a model ending in ArgMax gives it).</summary>
    public IReadOnlySet<string> IntegerOutputs { get; }

    /// <summary>Outputs the model holds to be stored (see <see cref="SuffixCut.Capturing"/>): not among <see cref="ModelOutputs"/>.</summary>
    private readonly string[] _captured;

    /// <summary>Per captured output, its shape as ONNX Runtime inferred it (see <see cref="Declared"/>).</summary>
    private readonly string[][] _capturedShapes;

    /// <summary>
    /// A tensor's shape as ONNX Runtime inferred it, one entry per axis: a number, a symbol, or "" where it does not know
    /// the axis. A suffix declares its stored inputs so (see <see cref="SuffixCut.Declare"/>): without the rank, ONNX Runtime
    /// skips fusions that the whole model gets, and the results differ in the last bits.
    /// </summary>
    internal static string[] Declared(NodeMetadata metadata) =>
        metadata.Dimensions.Select((d, i) => d >= 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : metadata.SymbolicDimensions[i] ?? "").ToArray();

    /// <summary>
    /// Where stored inputs come from and captured outputs go (see <see cref="SuffixCut"/>); null = captured outputs are
    /// not fetched. Set before the runner is forked.
    /// </summary>
    public IActivationStore? Activations { get; set; }
    public int BatchSize { get; }
    /// <summary>True when the model's batch axis is fixed: short batches are padded with copies of their last item.</summary>
    public bool FixedBatch { get; }
    public TimeSpan CreationTime { get; }

    /// <summary>The outputs to fetch (ORT then computes only what they need).</summary>
    public void SelectOutputs(IEnumerable<string> names) => Fetch(ModelOutputs.Where(names.Contains).ToArray());

    /// <summary>The outputs to fetch, and the same followed by the captured ones (fetched when there is a store), set once here rather than per batch.</summary>
    private void Fetch(string[] names)
    {
        _outputNames = names;
        _outputNamesAndCaptured = names.Concat(_captured).ToArray();
    }

    private string[] _outputNamesAndCaptured = Array.Empty<string>();

    public BatchOutputs NewOutputs() => new(_outputNames);

    /// <summary>The outputs fetched (see <see cref="SelectOutputs"/>).</summary>
    public IReadOnlyList<string> SelectedOutputs => _outputNames;

    /// <summary>
    /// Runs one batch and returns the inference time in milliseconds (Run only). With a batch size above one, a lone
    /// item (the last of a count the batch size does not divide, or a worker's only batch) runs with a copy of itself:
    /// for one row ONNX Runtime's float MatMul/Gemm takes another kernel path, whose results differ in the last bits, so
    /// an item's outputs would depend on where the batches fall (seen on a reverted Gemm in
    /// tests/PotPowerShell.Core.Tests/AccuracyAware/EvaluationBatchSizeTests.cs). A model that refuses the pair (a
    /// graph that hard-codes batch 1) runs its lone items alone from then on.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double Run(IReadOnlyList<CachedDataset.Entry> items, IReadOnlyList<CachedDataset.Slot>? layout, BatchOutputs into, CancellationToken cancellationToken)
    {
        int n = items.Count;
        int rows = FixedBatch ? BatchSize : n == 1 && BatchSize > 1 && !_loneAlone ? 2 : n;
        var values = new OrtValue[_inputs.Length];
        try
        {
            try
            {
                for (int k = 0; k < _inputs.Length; k++) values[k] = Fill(_inputs[k], items, rows, layout);
            }
            catch (PotException e) when (e.ErrorId == ShapeMismatchId && rows == 2 && n == 1 && !FixedBatch)
            {
                // An input without a batch axis takes one item per run: lone items run alone from then on.
                _loneAlone = true;
                return Run(items, layout, into, cancellationToken);
            }
            using var registration = OrtRun.StopOn(_runOptions, cancellationToken);
            long start = Stopwatch.GetTimestamp();
            IDisposableReadOnlyCollection<OrtValue> outputs;
            try
            {
                outputs = OrtRun.Run(_session, _runOptions, _inputNames, values, Activations != null ? _outputNamesAndCaptured : _outputNames, cancellationToken);
            }
            catch (OnnxRuntimeException) when (rows == 2 && n == 1 && !FixedBatch && !cancellationToken.IsCancellationRequested)
            {
                _loneAlone = true;
                return Run(items, layout, into, cancellationToken);
            }
            catch (OnnxRuntimeException e)
            {
                throw new PotException(RunFailedId, PotErrorCategory.InvalidOperation,
                    $"ONNX Runtime failed to run '{_source}' on a batch of {rows} item{(rows == 1 ? "" : "s")} (inputs {string.Join(", ", _inputs.Select(i => $"{i.ModelName}: {i.Kind.ToString().ToLowerInvariant()}[{rows},{string.Join(",", i.ItemShape!.Skip(1))}]"))}): {e.Message}", _source, e);
            }
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            using (outputs)
            {
                into.Items = n;
                into.Rows = rows;
                for (int o = 0; o < _outputNames.Length; o++) CopyOutput(outputs[o], into, o);
                for (int c = _outputNames.Length; c < outputs.Count; c++) Keep(outputs[c], c - _outputNames.Length, items, rows);
            }
            return ms;
        }
        finally
        {
            foreach (var v in values) v?.Dispose();
        }
    }

    /// <summary>Gives each real item's row of a captured output to the store; an output whose first axis is not the batch is not stored.</summary>
    private void Keep(OrtValue value, int captured, IReadOnlyList<CachedDataset.Entry> items, int rows)
    {
        var shape = value.GetTensorTypeAndShape().Shape;
        if (shape.Length == 0 || shape[0] != rows) return;
        var raw = value.GetTensorMutableRawData();
        int rowBytes = raw.Length / rows;
        var rowShape = (long[])shape.Clone();
        rowShape[0] = 1;
        for (int r = 0; r < items.Count; r++) Activations!.Keep(items[r].Index, _captured[captured], raw.Slice(r * rowBytes, rowBytes), rowShape, _capturedShapes[captured]);
    }

    /// <summary>Copies each row's data into the input's pinned buffer (straight from packed cache bytes when the kinds agree).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private OrtValue Fill(Input input, IReadOnlyList<CachedDataset.Entry> items, int rows, IReadOnlyList<CachedDataset.Slot>? layout)
    {
        CachedDataset.Slot? slot = null;
        if (layout != null)
            for (int i = 0; i < layout.Count; i++)
                if (layout[i].Name == input.DataName) slot = layout[i];
        for (int r = 0; r < rows; r++)
        {
            var item = items[r < items.Count ? r : items.Count - 1];
            ReadOnlySpan<byte> bytes;
            long[] shape;
            if (input.Stored)
            {
                if (Activations == null || !Activations.TryGet(item.Index, input.ModelName, out var stored, out shape))
                    throw new InvalidOperationException($"No stored activation '{input.ModelName}' for item {item.Index} of '{_source}'.");
                bytes = stored.Span;
            }
            else if (item.Packed != null && slot != null && slot.Kind == input.Kind)
            {
                bytes = item.Packed.AsSpan(slot.Offset, slot.Length);
                shape = slot.Shape;
            }
            else
            {
                var tensor = TensorOf(item, input, slot);
                tensor = InputBinding.Converted(tensor, input.Kind, input.ModelName);
                bytes = TensorBytes.AsBytes(tensor.Data);
                shape = tensor.Shape;
            }
            // Each batch takes its first item's shape (images left at their sizes for a model with a dynamic height and
            // width); the items of one batch must share it.
            if (input.ItemShape == null || (r == 0 && !shape.AsSpan().SequenceEqual(input.ItemShape))) Prepare(input, shape, rows);
            else if (!shape.AsSpan().SequenceEqual(input.ItemShape))
                throw new PotException(ShapeMismatchId, PotErrorCategory.InvalidData,
                    $"Item {item.Index} gives input '{input.ModelName}' the shape [{string.Join(",", shape)}] but the items before it in its batch of {rows} gave [{string.Join(",", input.ItemShape)}]: items of different sizes cannot share a batch{(FixedBatch ? $", and the model's batch axis is fixed at {BatchSize}" : "")}. Resize them to one size (preprocessing).", _source);
            if (input.Buffer.Length < rows * input.ItemBytes) Allocate(input, rows);
            bytes.CopyTo(input.Buffer.AsSpan((int)(r * input.ItemBytes), (int)input.ItemBytes));
        }
        var batchShape = (long[])input.ItemShape!.Clone();
        if (input.DropsItemAxis)
        {
            if (rows > 1 && !InputBinding.ItemsStack(batchShape))
                throw new PotException(ShapeMismatchId, PotErrorCategory.InvalidData,
                    $"The model input '{input.ModelName}' has no batch axis, so its items cannot share a batch of {rows}; they run one at a time.", _source);
            batchShape = batchShape[1..];
        }
        if (rows > 1) batchShape[0] = rows;
        return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, input.OrtType, batchShape, input.Address, rows * input.ItemBytes);
    }

    private TensorData TensorOf(CachedDataset.Entry item, Input input, CachedDataset.Slot? slot)
    {
        if (item.Item != null)
        {
            if (!item.Item.Inputs.TryGetValue(input.DataName, out var tensor))
                throw InputBinding.MissingInItem(item.Index, input.DataName);
            return tensor;
        }
        // A packed item whose element kind differs from the model input's: rebuild the tensor to convert it.
        Array data = TensorBytes.Allocate(slot!.Kind, TensorData.ElementCount(slot.Shape));
        item.Packed.AsSpan(slot.Offset, slot.Length).CopyTo(TensorBytes.AsBytes(data));
        return new TensorData(slot.Kind, slot.Shape, data);
    }

    private void Prepare(Input input, long[] shape, int rows)
    {
        string dataShape = $"[{string.Join(",", shape)}]";
        string modelShape = $"[{string.Join(",", input.ModelDims.Select(d => d < 0 ? "?" : d.ToString()))}]";
        if (shape.Length == 0 || shape[0] != 1)
            throw new PotException("EngineShapeMismatch", PotErrorCategory.InvalidData, $"Data for input '{input.ModelName}' has the item shape {dataShape}; items need a leading axis of 1.", _source);
        input.DropsItemAxis = !input.Stored && DropsItemAxis(shape, input.ModelDims);
        if (!input.Stored && !input.DropsItemAxis && (shape.Length != input.ModelDims.Length || !Fits(shape.Skip(1), input.ModelDims.Skip(1))))
            throw new PotException("EngineShapeMismatch", PotErrorCategory.InvalidData,
                $"The data gives input '{input.ModelName}' items of shape {dataShape} but the model expects {modelShape}. Check the arrays' shapes, or the images' preprocessing (resize/center_crop size, channels, layout NCHW/NHWC).", _source);
        input.ItemShape = (long[])shape.Clone();
        input.ItemBytes = TensorData.ElementCount(shape) * TensorBytes.ElementSize(input.Kind);
        Allocate(input, rows);
    }

    private static bool Fits(IEnumerable<long> dims, IEnumerable<int> model) => dims.Zip(model).All(p => p.Second <= 0 || p.First == p.Second);

    /// <summary>Items of <paramref name="itemShape"/> are fed to an input of <paramref name="modelDims"/> without their leading axis (<see cref="InputBinding.DropsItemAxis"/>).</summary>
    private static bool DropsItemAxis(long[] itemShape, int[] modelDims) => InputBinding.DropsItemAxis(itemShape, modelDims.Length) && Fits(itemShape.Skip(1), modelDims);

    /// <summary>
    /// An input of <paramref name="modelDims"/> that items of <paramref name="itemShape"/> are one axis above, without
    /// a batch axis of their own (<see cref="InputBinding.ItemsStack"/>): it has no batch axis, so items run one at a time.
    /// </summary>
    private static bool NoBatchAxis(long[] itemShape, int[] modelDims) => DropsItemAxis(itemShape, modelDims) && !InputBinding.ItemsStack(itemShape);

    private static void Allocate(Input input, int rows)
    {
        // On the pinned object heap: ORT reads the buffer through a raw pointer for the whole run.
        input.Buffer = GC.AllocateUninitializedArray<byte>((int)Math.Max(1, rows * input.ItemBytes), pinned: true);
        input.Address = Marshal.UnsafeAddrOfPinnedArrayElement(input.Buffer, 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CopyOutput(OrtValue value, BatchOutputs into, int o)
    {
        var info = value.GetTensorTypeAndShape();
        var shape = info.Shape;
        long count = info.ElementCount;
        if (into.Data[o].Length < count) into.Data[o] = new float[Math.Max(count, into.Data[o].Length * 2)];
        into.SetShape(o, shape);
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

    public void Dispose()
    {
        _runOptions.Dispose();
        if (_ownsSession) _session.Dispose();
    }
}
