using System.Runtime.CompilerServices;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Tests.Runtime;

public class ManagedMemoryTests
{
    /// <summary>256 MB of large arrays, alive while they are counted and garbage when this returns.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long AllocateAndDrop()
    {
        var arrays = new List<byte[]>();
        for (int i = 0; i < 64; i++) arrays.Add(new byte[4 << 20]);
        long held = GC.GetTotalMemory(false);
        GC.KeepAlive(arrays);
        return held;
    }

    [Fact]
    public void Garbage_above_the_threshold_is_collected_and_its_memory_given_back()
    {
        long held = AllocateAndDrop();
        int fullCollections = GC.CollectionCount(GC.MaxGeneration);
        Assert.True(ManagedMemory.ReleaseGarbage(aboveBytes: 0));
        Assert.True(GC.CollectionCount(GC.MaxGeneration) > fullCollections);
        // Neither the heap nor what the collection left committed holds the arrays (other tests may allocate meanwhile,
        // but not 128 MB).
        long allocated = GC.GetTotalMemory(false), committed = GC.GetGCMemoryInfo().TotalCommittedBytes;
        Assert.True(allocated < held - (128 << 20) && committed < held - (128 << 20), $"{held >> 20} MB held; after: {allocated >> 20} MB allocated, {committed >> 20} MB committed");
        Assert.False(ManagedMemory.ReleaseGarbage(aboveBytes: long.MaxValue));
    }
}
