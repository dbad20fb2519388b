namespace PotPowerShell.Core.Tests.Data;

/// <summary>
/// The test classes that unpack .npz members into the process's one temporary folder run one after another: a test
/// that checks nothing was written there must not see another class's files appear in the meantime.
/// </summary>
public static class ProcessTempFolderUsers
{
    public const string Name = "Process temporary folder";
}
