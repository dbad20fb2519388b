using System.Management.Automation;
using System.Collections.ObjectModel;
using PotPowerShell.Core;

namespace PotPowerShell.Infrastructure;

/// <summary>
/// Plumbing shared by every cmdlet: cancellation on Ctrl+C, progress forwarding, path resolution and mapping
/// core exceptions to error records. Cmdlets derive from this and stay thin.
/// </summary>
public abstract class PotCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _cancellation = new();
    private readonly HashSet<int> _openProgress = new();

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
            owner._openProgress.Add(record.ActivityId);
            owner.WriteProgress(record);
        }
    }

    /// <summary>Closes every progress bar this cmdlet opened.</summary>
    protected void CompleteProgress()
    {
        foreach (int id in _openProgress.OrderByDescending(i => i))
            WriteProgress(new ProgressRecord(id, "Done", "Done") { RecordType = ProgressRecordType.Completed });
        _openProgress.Clear();
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
            WriteError(new ErrorRecord(new ItemNotFoundException($"No file matches '{path}'."), "PathNotFound", ErrorCategory.ObjectNotFound, path));
        foreach (var p in resolved) yield return p;
    }

    /// <summary>
    /// Checks that an output file may be written: an existing file needs -Force. Returns false (after writing an error)
    /// when it may not.
    /// </summary>
    protected bool CheckOutputPath(string path, bool force)
    {
        if (!File.Exists(path) || force) return true;
        WriteError(ToErrorRecord(new PotException("OutputExists", PotErrorCategory.ResourceExists,
            $"The file '{path}' already exists. Use -Force to overwrite it, or choose another -OutputPath.", path)));
        return false;
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
        finally
        {
            CompleteProgress();
        }
    }

    protected static ErrorRecord ToErrorRecord(PotException e) =>
        new(e, e.ErrorId, Map(e.Category), e.Target) { ErrorDetails = new ErrorDetails(e.Message) };

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
