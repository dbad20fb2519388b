using System.Collections.Immutable;
using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Quantization.AccuracyAware;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>Which stores <see cref="ActivationReuse"/> keeps: at most <see cref="ActivationReuse.MaxStores"/>, the pinned one last to go.</summary>
public class ActivationStorePolicyTests
{
    private static readonly QuantizationSource Source = new("performance", new DefaultQuantizationOptions(), new FakeBuilder("performance", "A", "B", "C", "D", "E", "F"));

    private static ModelCandidate Model(params string[] reverted) => new(Source, ImmutableSortedSet.Create(StringComparer.Ordinal, reverted));

    /// <summary>A complete whole-model evaluation of <paramref name="model"/> that filled a store of its own.</summary>
    private static void Stored(ActivationReuse reuse, ModelCandidate model) =>
        reuse.Ran(new ActivationReuse.Plan(Array.Empty<byte>(), null, new ActivationStore(model, new ModelProto { Graph = new GraphProto() }, 1, long.MaxValue), null, 1), complete: true);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_pinned_model_keeps_its_store_while_later_ones_come_and_go(bool pinned)
    {
        var reuse = new ActivationReuse(1, long.MaxValue);
        var search = Model("A");
        if (pinned) reuse.Pinned = search;
        Stored(reuse, search);
        foreach (var layer in new[] { "B", "C", "D", "E", "F" }) Stored(reuse, Model("A", layer));

        var kept = reuse.Snapshot().Select(s => s.Candidate.Key).ToList();
        Assert.Equal(ActivationReuse.MaxStores, kept.Count);
        Assert.Equal(pinned, kept.Contains(search.Key));
        Assert.Contains(Model("A", "F").Key, kept);
    }

    [Theory]
    [InlineData(24, 2, 12)]   // half the memory: three quarters of the 22 GB free would be more
    [InlineData(16, 10, 4.5)] // three quarters of the 6 GB free
    [InlineData(24, 0, 6)]    // the load not known yet: a quarter
    [InlineData(4, 3.8, 1)]   // at least 1 GB
    [InlineData(8, 9, 1)]     // a load past the total leaves nothing free
    public void The_default_budget_is_half_the_memory_at_most_three_quarters_of_what_is_free_and_at_least_1_GB(double totalGb, double loadGb, double budgetGb)
    {
        static long Bytes(double gb) => (long)(gb * (1L << 30));
        Assert.InRange(ActivationReuse.Budget(Bytes(totalGb), Bytes(loadGb)), Bytes(budgetGb) - 1, Bytes(budgetGb) + 1);
    }
}
