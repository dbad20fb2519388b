using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Runtime;

/// <summary>
/// One ONNX Runtime session that runs a batch of data items, or inputs bound once (<see cref="Synthetic"/>), and
/// times the run alone (binding excluded). The timers run it through <see cref="InterleavedRounds"/>.
/// </summary>
internal sealed class TimedSession : IDisposable
{
    private readonly SessionOptions _options;
    private readonly InferenceSession _session;
    private readonly ModelInputBinder? _binder;
    private readonly string[] _outputs;
    private readonly RunOptions _runOptions = new();
    private string[] _inputs = Array.Empty<string>();
    private OrtValue[] _fixed = Array.Empty<OrtValue>();

    private TimedSession(byte[] model, string source, int threads, IDataset? data)
    {
        _options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, threads);
        _session = OrtSessions.Create(model, _options, source);
        _outputs = _session.OutputMetadata.Keys.ToArray();
        if (data != null) _binder = ModelInputBinder.Bind(_session, data, source);
    }

    public TimedSession(byte[] model, string source, IDataset data, int threads) : this(model, source, threads, data)
    {
    }

    /// <summary>A session fed deterministic synthetic inputs of the model's declared (fixed) shapes, bound once.</summary>
    public static TimedSession Synthetic(byte[] model, string source, int threads)
    {
        var timed = new TimedSession(model, source, threads, null);
        try
        {
            timed._inputs = timed._session.InputNames.ToArray();
            timed._fixed = timed._inputs.Select(name => SyntheticInput(timed._session.InputMetadata[name], name)).ToArray();
            return timed;
        }
        catch
        {
            timed.Dispose();
            throw;
        }
    }

    public bool CanBatch => _binder!.CanBatch;

    /// <summary>Times one run on the inputs bound once (<see cref="Synthetic"/>).</summary>
    public double Time() => Time(_inputs, _fixed);

    public double Time(IReadOnlyList<DataItem> items)
    {
        // The same input path as calibration (stacked into a reused buffer).
        var values = _binder!.Bind(items);
        try
        {
            return Time(_binder.ModelInputs, values);
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    private double Time(IReadOnlyCollection<string> inputs, IReadOnlyCollection<OrtValue> values)
    {
        long start = Stopwatch.GetTimestamp();
        using (OrtRun.Run(_session, _runOptions, inputs, values, _outputs, CancellationToken.None)) { }
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    // A fixed pattern in [-1, 1] (or over the integer range): the same input every time, no denormals, no zeros
    // that a kernel could skip.
    private static OrtValue SyntheticInput(NodeMetadata meta, string name)
    {
        var shape = meta.Dimensions.Select(d => (long)d).ToArray();
        if (shape.Any(d => d <= 0))
            throw new ArgumentException($"Timed model input '{name}' needs fixed dimensions for synthetic data.", nameof(name));
        long count = shape.Aggregate(1L, (a, b) => a * b);
        return meta.ElementDataType switch
        {
            TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, (int)count).Select(i => (float)Math.Sin(i * 0.37)).ToArray(), shape),
            TensorElementType.UInt8 => OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, (int)count).Select(i => (byte)(i * 37 % 251)).ToArray(), shape),
            TensorElementType.Int8 => OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, (int)count).Select(i => (sbyte)(i * 37 % 251 - 125)).ToArray(), shape),
            var t => throw new ArgumentException($"Timed model input '{name}' has element type {t}, which has no synthetic data.", nameof(name)),
        };
    }

    public void Run(IReadOnlyList<DataItem> items) => Time(items);

    public void Dispose()
    {
        foreach (var v in _fixed) v.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
        _options.Dispose();
    }
}
