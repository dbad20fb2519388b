using Microsoft.ML.OnnxRuntime;

namespace PotPowerShell.Core.Runtime;

/// <summary>
/// How every loop runs an ONNX Runtime session: cancellation sets <see cref="RunOptions.Terminate"/>, so Ctrl+C stops
/// the run in progress, not only the next one, and a run ended that way is an <see cref="OperationCanceledException"/>.
/// Any other refusal stays an <see cref="OnnxRuntimeException"/> for the caller, which knows whether to retry the batch
/// item by item (<see cref="BatchPlan"/>) or to name the item in its own error.
/// </summary>
public static class OrtRun
{
    /// <summary>Makes cancellation of <paramref name="cancellationToken"/> terminate runs made with <paramref name="runOptions"/>.</summary>
    public static CancellationTokenRegistration StopOn(RunOptions runOptions, CancellationToken cancellationToken) =>
        cancellationToken.Register(() => runOptions.Terminate = true);

    public static IDisposableReadOnlyCollection<OrtValue> Run(InferenceSession session, RunOptions runOptions, IReadOnlyCollection<string> inputs,
        IReadOnlyCollection<OrtValue> values, IReadOnlyCollection<string> outputs, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return session.Run(runOptions, inputs, values, outputs);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
    }

    /// <summary>As above, with the inputs and outputs of <paramref name="binding"/> (see <see cref="ReusedOutputs"/>).</summary>
    public static void Run(InferenceSession session, RunOptions runOptions, OrtIoBinding binding, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            session.RunWithBinding(runOptions, binding);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
    }
}
