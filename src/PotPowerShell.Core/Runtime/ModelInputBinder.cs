using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Runtime;

/// <summary>
/// Matches a data set's arrays to a session's inputs (by the one rule of <see cref="InputBinding"/>), stacks items into
/// batches and turns them into OrtValues of the type each input expects.
/// </summary>
internal sealed class ModelInputBinder
{
    private readonly string[] _modelInputs;
    private readonly string[] _dataInputs;
    private readonly TensorElementType[] _types;
    private readonly int[] _ranks;
    private readonly string _modelSource;

    private ModelInputBinder(string[] modelInputs, string[] dataInputs, TensorElementType[] types, int[] ranks, bool canBatch, string modelSource)
    {
        _modelSource = modelSource;
        _modelInputs = modelInputs;
        _dataInputs = dataInputs;
        _types = types;
        _ranks = ranks;
        CanBatch = canBatch;
    }

    public IReadOnlyList<string> ModelInputs => _modelInputs;

    /// <summary>True when every input's first dimension is symbolic, so several items can run at once.</summary>
    public bool CanBatch { get; }

    public static ModelInputBinder Bind(InferenceSession session, IDataset data, string modelSource)
    {
        var metadata = session.InputMetadata;
        var names = metadata.Keys.ToArray();
        var binding = InputBinding.Bind(data.InputNames, names, data.Source, modelSource);
        var dataNames = names.Select(n => binding[n]).ToArray();
        var types = names.Select(n => metadata[n].ElementDataType).ToArray();
        var ranks = names.Select(n => metadata[n].Dimensions.Length).ToArray();
        bool canBatch = names.All(n => metadata[n].Dimensions.Length > 0 && metadata[n].Dimensions[0] < 0);
        return new ModelInputBinder(names, dataNames, types, ranks, canBatch, modelSource);
    }

    /// <summary>Input shapes of one item, for deciding which items can share a batch (see <see cref="SameShapes"/>).</summary>
    public long[][] Shapes(DataItem item) => _dataInputs.Select(d => Input(item, d).Shape).ToArray();

    /// <summary>True when every input of <paramref name="item"/> has the shape in <paramref name="shapes"/>.</summary>
    public bool SameShapes(long[][] shapes, DataItem item)
    {
        for (int i = 0; i < _dataInputs.Length; i++)
            if (!Input(item, _dataInputs[i]).Shape.AsSpan().SequenceEqual(shapes[i])) return false;
        return true;
    }

    /// <summary>Each model input's tensor for the batch of <paramref name="items"/>, stacked on the first axis.</summary>
    public TensorData[] Gather(IReadOnlyList<DataItem> items)
    {
        var result = new TensorData[_modelInputs.Length];
        for (int i = 0; i < _modelInputs.Length; i++) result[i] = Gather(items, i);
        return result;
    }

    private TensorData Gather(IReadOnlyList<DataItem> items, int input)
    {
        var parts = items.Select(item => Input(item, _dataInputs[input])).ToList();
        if (DropsItemAxis(parts[0].Shape, input, items.Count))
            parts = parts.Select(p => new TensorData(p.Kind, p.Shape[1..], p.Data)).ToList();
        return TensorData.ConcatFirstAxis(parts);
    }

    /// <summary>The rule of <see cref="InputBinding.DropsItemAxis"/> for a batch of <paramref name="items"/>.</summary>
    private bool DropsItemAxis(long[] itemShape, int input, int items) =>
        InputBinding.DropsItemAxis(itemShape, _ranks[input]) && (items == 1 || InputBinding.ItemsStack(itemShape));

    private static TensorData Input(DataItem item, string name) =>
        item.Inputs.TryGetValue(name, out var t) ? t : throw InputBinding.MissingInItem(item.Index, name);

    private float[][]? _buffers;

    /// <summary>
    /// Each model input's OrtValue for the batch of <paramref name="items"/>. Float inputs are stacked straight into a
    /// buffer that this binder reuses from call to call (no per-batch allocation), so dispose the values of one call
    /// before the next. Other element types go through <see cref="Gather"/> and <see cref="ToOrtValues"/>.
    /// </summary>
    public OrtValue[] Bind(IReadOnlyList<DataItem> items)
    {
        _buffers ??= new float[_modelInputs.Length][];
        var values = new OrtValue[_modelInputs.Length];
        try
        {
            for (int i = 0; i < _modelInputs.Length; i++) values[i] = Bind(items, i);
            return values;
        }
        catch
        {
            foreach (var v in values) v?.Dispose();
            throw;
        }
    }

    private OrtValue Bind(IReadOnlyList<DataItem> items, int input)
    {
        var first = Input(items[0], _dataInputs[input]);
        if (_types[input] != TensorElementType.Float || first.Data is not float[] || first.Shape.Length == 0)
            return ToOrtValue(Gather(items, input), _types[input], _modelInputs[input]);
        long itemLength = first.Length;
        long total = itemLength * items.Count;
        var buffer = _buffers![input];
        if (buffer == null || buffer.LongLength < total) _buffers[input] = buffer = new float[total];
        long batch = 0;
        for (int k = 0; k < items.Count; k++)
        {
            var part = Input(items[k], _dataInputs[input]);
            if (part.Data is not float[] data || part.Length != itemLength || !part.Shape.AsSpan(1).SequenceEqual(first.Shape.AsSpan(1)))
                return ToOrtValue(Gather(items, input), _types[input], _modelInputs[input]);
            Array.Copy(data, 0, buffer, k * itemLength, itemLength);
            batch += part.Shape[0];
        }
        var shape = (long[])first.Shape.Clone();
        shape[0] = batch;
        if (DropsItemAxis(first.Shape, input, items.Count))
        {
            shape = first.Shape[1..];
            if (items.Count > 1) shape[0] = items.Count;
        }
        return OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, buffer.AsMemory(0, checked((int)total)), shape);
    }

    public OrtValue[] ToOrtValues(TensorData[] tensors)
    {
        var values = new OrtValue[tensors.Length];
        try
        {
            for (int i = 0; i < tensors.Length; i++) values[i] = ToOrtValue(tensors[i], _types[i], _modelInputs[i]);
            return values;
        }
        catch
        {
            foreach (var v in values) v?.Dispose();
            throw;
        }
    }

    /// <summary>The batch as an OrtValue of the input's type, converted by <see cref="InputBinding.Converted"/>.</summary>
    private OrtValue ToOrtValue(TensorData t, TensorElementType type, string input)
    {
        t = InputBinding.Converted(t, InputBinding.KindOf(type, input, _modelSource), input);
        return t.Data switch
        {
            float[] f => OrtValue.CreateTensorValueFromMemory(f, t.Shape),
            double[] d => OrtValue.CreateTensorValueFromMemory(d, t.Shape),
            long[] l => OrtValue.CreateTensorValueFromMemory(l, t.Shape),
            int[] i => OrtValue.CreateTensorValueFromMemory(i, t.Shape),
            sbyte[] s when TensorBytes.IsInt8(s) => OrtValue.CreateTensorValueFromMemory(s, t.Shape),
            byte[] b => OrtValue.CreateTensorValueFromMemory(b, t.Shape),
            bool[] b => OrtValue.CreateTensorValueFromMemory(b, t.Shape),
            Half[] h => OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(h, x => new Float16(BitConverter.HalfToUInt16Bits(x))), t.Shape),
            _ => throw new InvalidOperationException($"A {t.Kind} tensor has no OrtValue here."),
        };
    }
}
