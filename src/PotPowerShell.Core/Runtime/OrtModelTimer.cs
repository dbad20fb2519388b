using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace PotPowerShell.Core.Runtime;

/// <summary>
/// Times models with ONNX Runtime as they are deployed (ORT_ENABLE_ALL, sequential, no spinning) on one intra-op
/// thread: one thread keeps the figures comparable on a shared machine and measures the kernels, not the thread pool.
/// Rounds run every model once, alternating the order each round (<see cref="InterleavedRounds"/>, as
/// Compare-PotModel's <see cref="LatencyComparer"/> does), so that drift and noise hit all of them alike.
/// </summary>
public sealed class OrtModelTimer : IModelTimer
{
    public const int WarmupRounds = 2;
    public const int MinRounds = 5;
    public const int MaxRounds = 101;

    public static OrtModelTimer Instance { get; } = new();

    public IReadOnlyList<Timing> Time(IReadOnlyList<byte[]> models, ModelInput? input, TimeSpan budget, CancellationToken cancellationToken)
    {
        OnnxRuntimeLoader.Ensure(); // before any ORT object exists
        var runners = new List<(Func<double> Run, IDisposable Session)>();
        try
        {
            foreach (var model in models)
            {
                if (input == null)
                {
                    var synthetic = new SyntheticRunner(model);
                    runners.Add((synthetic.Run, synthetic));
                    continue;
                }
                // Data items go through the same binding as everywhere else (see TimedSession).
                var session = new TimedSession(model, input.Data.Source, input.Data, threads: 1);
                var items = session.CanBatch ? input.Items : input.Items.Take(1).ToList();
                runners.Add((() => session.Time(items), session));
            }
            return InterleavedRounds.Time(runners.Select(r => r.Run).ToList(), WarmupRounds, MinRounds, MaxRounds, budget, cancellationToken);
        }
        finally
        {
            foreach (var r in runners) r.Session.Dispose();
        }
    }

    /// <summary>A session fed deterministic synthetic inputs of the model's declared shapes, bound once.</summary>
    private sealed class SyntheticRunner : IDisposable
    {
        private readonly SessionOptions _options;
        private readonly InferenceSession _session;
        private readonly RunOptions _runOptions;
        private readonly string[] _inputs;
        private readonly string[] _outputs;
        private readonly OrtValue[] _values;

        public SyntheticRunner(byte[] model)
        {
            _options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, threads: 1);
            _session = OrtSessions.Create(model, _options, "timed model");
            _runOptions = new RunOptions();
            _outputs = _session.OutputNames.ToArray();
            _inputs = _session.InputNames.ToArray();
            _values = _inputs.Select(name => Synthetic(_session.InputMetadata[name], name)).ToArray();
        }

        public double Run()
        {
            long start = Stopwatch.GetTimestamp();
            using (OrtRun.Run(_session, _runOptions, _inputs, _values, _outputs, CancellationToken.None)) { }
            return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        // A fixed pattern in [-1, 1] (or over the integer range): the same input every time, no denormals, no zeros
        // that a kernel could skip.
        private static OrtValue Synthetic(NodeMetadata meta, string name)
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

        public void Dispose()
        {
            foreach (var v in _values) v.Dispose();
            _runOptions.Dispose();
            _session.Dispose();
            _options.Dispose();
        }
    }
}
