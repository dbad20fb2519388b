namespace PotPowerShell.Core.Runtime;

/// <summary>
/// Gives the managed heap's garbage back to the system between the stages of a quantization. Models, their serialized
/// copies and calibration tensors are large objects, which .NET collects only in full collections and whose memory it
/// keeps committed afterwards for reuse: an FP16 ISNet at 1024x1024 held 4.5 GB of managed heap (1.7 GB of it alive)
/// and 7.9 GB of memory in all when its latency check began; after one compacting collection (0.5 s), 1.2 GB. With a
/// collection before the checks, before the per-layer pass and before the latency check its run peaked at 5.7 GB
/// instead of 10.8 GB.
/// </summary>
internal static class ManagedMemory
{
    /// <summary>Below this much committed managed memory nothing is done: small models pay nothing.</summary>
    public const long ReleaseAboveBytes = 1L << 30;

    /// <summary>
    /// A full, compacting collection that returns freed memory to the system, when the heap holds over
    /// <paramref name="aboveBytes"/>. True when it ran.
    /// </summary>
    public static bool ReleaseGarbage(long aboveBytes = ReleaseAboveBytes)
    {
        if (GC.GetGCMemoryInfo().TotalCommittedBytes < aboveBytes) return false;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return true;
    }
}
