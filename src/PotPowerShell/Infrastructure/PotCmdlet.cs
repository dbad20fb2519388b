using System.Management.Automation;
using System.Collections.ObjectModel;
using PotPowerShell.Core;
using PotPowerShell.Core.Requests;

namespace PotPowerShell.Infrastructure;

/// <summary>
/// Plumbing shared by every cmdlet: cancellation on Ctrl+C, progress forwarding, path resolution and mapping
/// core exceptions to error records. Cmdlets derive from this and stay thin.
/// </summary>
public abstract class PotCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _cancellation = new();
    // The last record of each open progress bar: its completion repeats the activity and parent so hosts close the right bar.
    private readonly Dictionary<int, ProgressRecord> _openProgress = new();

    /// <summary>Cancelled when the user presses Ctrl+C (StopProcessing).</summary>
    protected CancellationToken CancellationToken => _cancellation.Token;

    protected override void StopProcessing() => _cancellation.Cancel();

    public void Dispose()
    {
        _cancellation.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>A synchronous progress sink: the core reports on the pipeline thread, so Write-Progress may be called directly.</summary>
    protected IProgress<PotProgress> Progress => new SyncProgress(this);

    private sealed class SyncProgress(PotCmdlet owner) : IProgress<PotProgress>
    {
        public void Report(PotProgress value)
        {
            var record = new ProgressRecord(value.Id + 1, value.Activity, string.IsNullOrEmpty(value.Status) ? value.Activity : value.Status)
            {
                PercentComplete = value.PercentComplete,
                ParentActivityId = value.Id > 0 ? value.Id : -1,
            };
            owner._openProgress[record.ActivityId] = record;
            owner.WriteProgress(record);
        }
    }

    /// <summary>Closes every progress bar this cmdlet opened, children first.</summary>
    protected void CompleteProgress()
    {
        var open = _openProgress.Values.OrderByDescending(r => r.ActivityId).ToList();
        _openProgress.Clear();
        // A stopped pipeline refuses further writes, and the host clears its bars itself.
        if (_cancellation.IsCancellationRequested) return;
        foreach (var last in open)
            WriteProgress(new ProgressRecord(last.ActivityId, last.Activity, "Completed")
            {
                ParentActivityId = last.ParentActivityId,
                PercentComplete = 100,
                RecordType = ProgressRecordType.Completed,
            });
    }

    /// <summary>Resolves a literal path (no wildcards) relative to the current PowerShell location.</summary>
    protected string ResolveLiteralPath(string path) => GetUnresolvedProviderPathFromPSPath(path);

    /// <summary>Resolves a path with wildcards to existing files; reports a non-terminating error when nothing matches.</summary>
    protected IEnumerable<string> ResolveWildcardPath(string path)
    {
        if (!WildcardPattern.ContainsWildcardCharacters(path))
        {
            yield return GetUnresolvedProviderPathFromPSPath(path);
            yield break;
        }
        Collection<string> resolved;
        try
        {
            resolved = GetResolvedProviderPathFromPSPath(path, out _);
        }
        catch (ItemNotFoundException)
        {
            resolved = new Collection<string>();
        }
        if (resolved.Count == 0)
        {
            string message = $"No file matches '{path}'. Check the path and the pattern; use -LiteralPath for a name that contains [ or ].";
            WriteError(new ErrorRecord(new ItemNotFoundException(message), "PathNotFound", ErrorCategory.ObjectNotFound, path)
            {
                ErrorDetails = new ErrorDetails(message),
            });
        }
        foreach (var p in resolved) yield return p;
    }

    /// <summary>
    /// Checks that an output file may be written: an existing file needs -Force, and a folder is never replaced.
    /// Returns false (after writing an error) when it may not. Checked before any long work starts.
    /// </summary>
    /// <param name="parameter">The parameter that names the file, for the message.</param>
    protected bool CheckOutputPath(string path, bool force, string parameter = "OutputPath")
    {
        try
        {
            OutputFiles.CheckTarget(path, force, parameter);
            return true;
        }
        catch (PotException e)
        {
            WriteError(ToErrorRecord(e));
            return false;
        }
    }

    /// <summary>Refuses an output path that is the input model. Returns false after writing an error.</summary>
    protected bool CheckOutputIsNotInput(string output, string model)
    {
        if (!CanonicalPath.Same(output, model)) return true;
        WriteError(ToErrorRecord(new PotException("OutputIsInput", PotErrorCategory.InvalidArgument,
            $"The output path '{output}' is the input model. Choose another -OutputPath.", output)));
        return false;
    }

    private readonly HashSet<string> _written = new(CanonicalPath.Comparer);

    /// <summary>
    /// Refuses to write a file this command already wrote for an earlier pipeline input: with one -OutputPath for
    /// several piped models, -Force would otherwise let each overwrite the last. Returns false after writing an error.
    /// </summary>
    protected bool CheckNotWrittenBefore(string path, string parameter = "OutputPath")
    {
        if (!_written.Contains(Path.GetFullPath(path))) return true;
        WriteError(ToErrorRecord(new PotException("OutputWrittenTwice", PotErrorCategory.ResourceExists,
            $"'{path}' was already written by this command for an earlier input. Give each input its own -{parameter}, or leave -{parameter} out to write next to each model.", path)));
        return false;
    }

    /// <summary>Notes a file this command wrote (see <see cref="CheckNotWrittenBefore"/>).</summary>
    protected void RememberWritten(string path) => _written.Add(Path.GetFullPath(path));

    /// <summary>
    /// The error rule (ARCHITECTURE.md, "Errors"): files named by parameters that serve every input (null: not given)
    /// are checked once, before the first input, and one that does not exist stops the command.
    /// </summary>
    /// <param name="engineOrDataFolder">The engine path may name a folder of validation data (see <see cref="RequestFiles.RequireEngine"/>).</param>
    protected void RequireSharedFiles(string? calibrationDataPath = null, string? enginePath = null, bool engineOrDataFolder = false)
    {
        if (calibrationDataPath != null) Run(() => RequestFiles.RequireCalibrationData(ResolveLiteralPath(calibrationDataPath)), terminating: true);
        if (enginePath != null) Run(() => RequestFiles.RequireEngine(ResolveLiteralPath(enginePath), engineOrDataFolder), terminating: true);
    }

    /// <summary>Runs core work, turning cancellation into a stopped pipeline and core errors into error records.</summary>
    /// <returns>False when an error was written.</returns>
    protected bool Run(Action action, bool terminating = false)
    {
        try
        {
            action();
            return true;
        }
        catch (OperationCanceledException) when (_cancellation.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
        catch (PotException e)
        {
            var record = ToErrorRecord(e);
            // A missing native runtime makes every further call fail the same way: stop the whole command.
            if (terminating || e.ErrorId == "OnnxRuntimeLoadFailed") ThrowTerminatingError(record);
            WriteError(record);
            return false;
        }
        // PowerShell's own exceptions (a stopped pipeline, -ErrorAction Stop) pass through; any other exception is a
        // per-input failure: an error record with an id, and the pipeline goes on with the next input.
        catch (Exception e) when (e is not RuntimeException)
        {
            var record = ToErrorRecord(e);
            if (terminating) ThrowTerminatingError(record);
            WriteError(record);
            return false;
        }
        finally
        {
            CompleteProgress();
        }
    }

    protected static ErrorRecord ToErrorRecord(PotException e) =>
        new(e, e.ErrorId, Map(e.Category), e.Target) { ErrorDetails = new ErrorDetails(e.Message) };

    /// <summary>
    /// The one fallback for exceptions the core did not turn into a PotException: an error id by exception type, so
    /// every failure a cmdlet reports has a stable FullyQualifiedErrorId (listed in about_PotPowerShell).
    /// </summary>
    protected static ErrorRecord ToErrorRecord(Exception e)
    {
        if (e is PotException pot) return ToErrorRecord(pot);
        var (id, category, what) = e switch
        {
            EndOfStreamException => ("InputTruncated", ErrorCategory.InvalidData, "an input file ends early"),
            UnauthorizedAccessException => ("AccessDenied", ErrorCategory.PermissionDenied, "access to a file was denied"),
            IOException => ("FileAccessFailed", ErrorCategory.ReadError, "a file could not be read or written"),
            System.Text.RegularExpressions.RegexMatchTimeoutException => ("PatternTimedOut", ErrorCategory.LimitsExceeded, "a regular expression took too long"),
            OutOfMemoryException or InsufficientMemoryException => ("OutOfMemory", ErrorCategory.LimitsExceeded, "the input needs more memory than is available"),
            OverflowException or FormatException or ArgumentException or InvalidOperationException or InvalidDataException
                or Google.Protobuf.InvalidProtocolBufferException or IndexOutOfRangeException or KeyNotFoundException
                => ("InputInvalid", ErrorCategory.InvalidData, "an input holds a value the module cannot use"),
            _ => ("UnexpectedError", ErrorCategory.NotSpecified, "an unexpected error occurred"),
        };
        string message = $"{char.ToUpperInvariant(what[0])}{what[1..]}: {e.Message} ({e.GetType().Name}). Check the input named in the message; if it looks valid, please report this with the input.";
        return new ErrorRecord(e, id, category, null) { ErrorDetails = new ErrorDetails(message) };
    }

    private static ErrorCategory Map(PotErrorCategory category) => category switch
    {
        PotErrorCategory.InvalidArgument => ErrorCategory.InvalidArgument,
        PotErrorCategory.InvalidData => ErrorCategory.InvalidData,
        PotErrorCategory.ObjectNotFound => ErrorCategory.ObjectNotFound,
        PotErrorCategory.NotInstalled => ErrorCategory.NotInstalled,
        PotErrorCategory.NotImplemented => ErrorCategory.NotImplemented,
        PotErrorCategory.ResourceExists => ErrorCategory.ResourceExists,
        PotErrorCategory.OperationStopped => ErrorCategory.OperationStopped,
        PotErrorCategory.WriteError => ErrorCategory.WriteError,
        _ => ErrorCategory.InvalidOperation,
    };
}
