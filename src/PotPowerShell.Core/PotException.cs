namespace PotPowerShell.Core;

/// <summary>What kind of failure a <see cref="PotException"/> is; the cmdlet layer maps it to a PowerShell ErrorCategory.</summary>
public enum PotErrorCategory
{
    InvalidArgument,
    InvalidData,
    ObjectNotFound,
    NotInstalled,
    NotImplemented,
    InvalidOperation,
    ResourceExists,
    OperationStopped,
    WriteError,
}

/// <summary>
/// The one exception type the core throws on bad input or environment. <see cref="ErrorId"/> is stable and becomes
/// the PowerShell FullyQualifiedErrorId; <see cref="Target"/> names the file, config key or model node concerned.
/// </summary>
public sealed class PotException : Exception
{
    public PotException(string errorId, PotErrorCategory category, string message, object? target = null, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Category = category;
        Target = target;
    }

    public string ErrorId { get; }
    public PotErrorCategory Category { get; }
    public object? Target { get; }
}
