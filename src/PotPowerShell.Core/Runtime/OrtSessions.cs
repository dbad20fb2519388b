using Microsoft.ML.OnnxRuntime;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Runtime;

/// <summary>Creates ONNX Runtime sessions with the module's defaults and turns ORT load failures into clear errors.</summary>
public static class OrtSessions
{
    /// <summary>
    /// The most intra-op threads any setting may ask for (engine threads:, the threads param of a POT config,
    /// -Threads): each thread reserves memory, and a typo such as 100000 would exhaust it.
    /// </summary>
    public const int MaxThreads = 1024;

    /// <summary>
    /// Session options: sequential execution, no thread spinning (machines are shared), the given number of intra-op
    /// threads (0 = ORT's default: one per physical core).
    /// </summary>
    public static SessionOptions Options(GraphOptimizationLevel level = GraphOptimizationLevel.ORT_ENABLE_ALL, int threads = 0)
    {
        if (threads is < 0 or > MaxThreads)
            throw new PotException("ThreadsInvalid", PotErrorCategory.InvalidArgument,
                $"The number of threads must be from 0 (automatic) to {MaxThreads}, not {threads}.", "threads");
        OnnxRuntimeLoader.Ensure();
        var options = new SessionOptions
        {
            GraphOptimizationLevel = level,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return options;
    }

    /// <summary>
    /// Creates a session from model bytes; <paramref name="source"/> names the model in error messages. A model with
    /// 16-bit float weights or a 16-bit float Transpose (<see cref="ModelInterface.MayCrashOptimized"/>) gets
    /// ORT_ENABLE_EXTENDED where ORT_ENABLE_ALL is asked for: ONNX Runtime's optimizations (1.31.1 and 1.32.0) end the
    /// process (a segmentation fault, nothing to catch) on some such models, a float16 Transpose before a MatMul among
    /// them (tests/PotPowerShell.Core.Tests/Runtime/HalfSessionTests.cs). Such sessions run a 16-bit original as a reference
    /// or to time it, and may run it slower than ORT_ENABLE_ALL would.
    /// </summary>
    public static InferenceSession Create(byte[] model, SessionOptions options, string source)
    {
        OnnxRuntimeLoader.Ensure();
        var level = options.GraphOptimizationLevel;
        try
        {
            if (level == GraphOptimizationLevel.ORT_ENABLE_ALL && ModelInterface.MayCrashOptimized(model))
                options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED;
            return new InferenceSession(model, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new PotException("ModelNotLoadable", PotErrorCategory.InvalidData,
                $"ONNX Runtime {OrtEnv.Instance().GetVersionString()} cannot load '{source}': {e.Message}", source, e);
        }
        finally
        {
            options.GraphOptimizationLevel = level;
        }
    }
}
