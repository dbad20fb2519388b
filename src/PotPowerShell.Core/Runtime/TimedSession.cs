using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Runtime;

/// <summary>One ONNX Runtime session that runs a batch of data items and times the run alone (binding excluded).</summary>
internal sealed class TimedSession : IDisposable
{
    private readonly SessionOptions _options;
    private readonly InferenceSession _session;
    private readonly ModelInputBinder _binder;
    private readonly string[] _outputs;
    private readonly RunOptions _runOptions = new();

    public TimedSession(byte[] model, string source, IDataset data, int threads)
    {
        _options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, threads);
        _session = OrtSessions.Create(model, _options, source);
        _binder = ModelInputBinder.Bind(_session, data, source);
        _outputs = _session.OutputMetadata.Keys.ToArray();
    }

    public bool CanBatch => _binder.CanBatch;

    public double Time(IReadOnlyList<DataItem> items)
    {
        // The same input path as calibration (stacked into a reused buffer).
        var values = _binder.Bind(items);
        try
        {
            long start = Stopwatch.GetTimestamp();
            using (OrtRun.Run(_session, _runOptions, _binder.ModelInputs, values, _outputs, CancellationToken.None)) { }
            return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    public void Run(IReadOnlyList<DataItem> items) => Time(items);

    public void Dispose()
    {
        _runOptions.Dispose();
        _session.Dispose();
        _options.Dispose();
    }
}
