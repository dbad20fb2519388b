using Microsoft.ML.OnnxRuntime;

namespace PotPowerShell.Core.Runtime;

/// <summary>
/// Runs a session whose float outputs are read before the next run (calibration) with the outputs written into
/// buffers reused from run to run (an ONNX Runtime IOBinding), instead of ORT allocating, and the caller releasing,
/// every output of every run. On calibration's augmented models, with an output per calibrated tensor, that cost 18 %
/// (PaddleOCR's direction classifier of bench/Bench-DefaultQuantization.ps1) to 26 % (the digits sample, item by item)
/// of ORT's run time, in thread CPU time.
/// </summary>
/// <remarks>
/// The buffers take the output shapes of the previous run when its inputs had the same shapes: a run with new input
/// shapes runs ordinarily and tells them. When ORT refuses a bound run (an output whose shape depends on the values), the
/// run is repeated ordinarily, so the caller sees what an ordinary run gives. The values returned stay valid until the
/// next run or <see cref="Dispose"/>; the caller never releases them.
/// </remarks>
internal sealed class ReusedOutputs : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions;
    private readonly string[] _inputs;
    private readonly string[] _outputs;
    private readonly OrtIoBinding _binding;
    private long[][] _inputShapes = Array.Empty<long[]>();
    private long[][]? _outputShapes;
    private OrtValue[]? _buffers;
    private IDisposableReadOnlyCollection<OrtValue>? _ordinary;

    public ReusedOutputs(InferenceSession session, RunOptions runOptions, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs)
    {
        _session = session;
        _runOptions = runOptions;
        _inputs = inputs.ToArray();
        _outputs = outputs.ToArray();
        _binding = session.CreateIoBinding();
    }

    /// <summary>Runs <paramref name="values"/> (one per input, in the order given) and returns the outputs in the order given.</summary>
    public IReadOnlyList<OrtValue> Run(IReadOnlyList<OrtValue> values, CancellationToken cancellationToken)
    {
        ReleaseOrdinary();
        var shapes = values.Select(v => v.GetTensorTypeAndShape().Shape).ToArray();
        bool sameInputs = shapes.Length == _inputShapes.Length && shapes.Zip(_inputShapes).All(p => p.First.AsSpan().SequenceEqual(p.Second));
        if (sameInputs && _outputShapes != null)
        {
            var buffers = Buffers(_outputShapes);
            _binding.ClearBoundInputs();
            for (int i = 0; i < _inputs.Length; i++) _binding.BindInput(_inputs[i], values[i]);
            try
            {
                OrtRun.Run(_session, _runOptions, _binding, cancellationToken);
                return buffers;
            }
            catch (OnnxRuntimeException)
            {
                // Not the shapes of the previous run: run ordinarily below, which names the problem if there is one.
            }
            finally
            {
                // The caller releases its inputs after the run.
                _binding.ClearBoundInputs();
            }
        }
        _inputShapes = shapes;
        _outputShapes = null;
        _ordinary = OrtRun.Run(_session, _runOptions, _inputs, values, _outputs, cancellationToken);
        var types = _ordinary.Select(r => r.GetTensorTypeAndShape()).ToArray();
        if (types.All(t => t.ElementDataType == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float))
            _outputShapes = types.Select(t => t.Shape).ToArray();
        return _ordinary;
    }

    /// <summary>Buffers of <paramref name="shapes"/> bound as the outputs, made again only when the shapes changed.</summary>
    private OrtValue[] Buffers(long[][] shapes)
    {
        if (_buffers != null && _buffers.Zip(shapes).All(p => p.First.GetTensorTypeAndShape().Shape.AsSpan().SequenceEqual(p.Second)))
            return _buffers;
        ReleaseBuffers();
        _buffers = shapes.Select(s => OrtValue.CreateTensorValueFromMemory(new float[checked((int)s.Aggregate(1L, (a, b) => a * b))], s)).ToArray();
        _binding.ClearBoundOutputs();
        for (int i = 0; i < _outputs.Length; i++) _binding.BindOutput(_outputs[i], _buffers[i]);
        return _buffers;
    }

    private void ReleaseOrdinary()
    {
        _ordinary?.Dispose();
        _ordinary = null;
    }

    private void ReleaseBuffers()
    {
        if (_buffers == null) return;
        foreach (var b in _buffers) b.Dispose();
        _buffers = null;
    }

    public void Dispose()
    {
        ReleaseOrdinary();
        ReleaseBuffers();
        _binding.Dispose();
    }
}
