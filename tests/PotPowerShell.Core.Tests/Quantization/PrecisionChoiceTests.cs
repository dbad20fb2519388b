using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>The precision choice on layer graphs built in code with made-up costs (milliseconds).</summary>
public class PrecisionChoiceTests
{
    /// <summary>A chain x -> L0 -> L1 -> ... -> output: each layer reads the previous one's output.</summary>
    private static List<PrecisionLayer> Chain(params (double Int8, double Float, double Enter, double Exit)[] costs) =>
        costs.Select((c, i) => new PrecisionLayer($"L{i}", c.Int8, c.Float, c.Enter, c.Exit)
        {
            InputTensor = $"t{i}",
            Upstream = i == 0 ? Array.Empty<int>() : new[] { i - 1 },
            InputFromFloat = i == 0,
            OutputToFloat = i == costs.Length - 1,
        }).ToList();

    [Fact]
    public void Every_layer_stays_int8_when_its_kernel_is_faster_and_conversions_are_paid_once_at_the_ends()
    {
        var d = PrecisionChoice.Choose(Chain((0.5, 1, 0.2, 0.2), (0.5, 1, 0.2, 0.2), (0.5, 1, 0.2, 0.2)));
        Assert.Equal(new[] { true, true, true }, d.Int8);
        // Kernels 3 x 0.5, one quantize at the input, one dequantize at the output.
        Assert.Equal(1.9, d.TotalMs, 9);
        Assert.Equal(3.0, d.AllFloatMs, 9);
        Assert.Equal(d.TotalMs, d.AllInt8Ms, 9);
    }

    [Fact]
    public void A_layer_whose_int8_kernel_is_a_little_slower_stays_int8_when_float_would_cost_two_conversions()
    {
        // L1 loses 0.1 ms in INT8, but as float it needs a dequantize before it and a quantize after it (0.4 ms).
        var d = PrecisionChoice.Choose(Chain((0.5, 1, 0.2, 0.2), (1.1, 1, 0.2, 0.2), (0.5, 1, 0.2, 0.2)));
        Assert.Equal(new[] { true, true, true }, d.Int8);
        // Its row: what the model costs for it as INT8 vs as float, the others as chosen.
        Assert.Equal(0.7, d.Int8CostMs[1], 9);   // float 1.0 + 1.1 - (1.0 + 0.2 + 0.2)
        Assert.Equal(1.0, d.FloatCostMs[1], 9);
    }

    [Fact]
    public void A_layer_much_slower_in_int8_stays_float_and_its_row_shows_int8_slower()
    {
        var d = PrecisionChoice.Choose(Chain((0.5, 1, 0.2, 0.2), (3, 1, 0.2, 0.2), (0.5, 1, 0.2, 0.2)));
        Assert.Equal(new[] { true, false, true }, d.Int8);
        Assert.True(d.Int8CostMs[1] > d.FloatCostMs[1]);
        Assert.True(d.TotalMs < d.AllInt8Ms && d.TotalMs < d.AllFloatMs);
    }

    [Fact]
    public void A_lone_layer_whose_conversions_cost_more_than_its_gain_stays_float()
    {
        // INT8 saves 0.3 ms of kernel but quantizing the input and dequantizing the output cost 0.4 ms.
        Assert.Equal(new[] { false }, PrecisionChoice.Choose(Chain((0.7, 1, 0.2, 0.2))).Int8);
        Assert.Equal(new[] { true }, PrecisionChoice.Choose(Chain((0.5, 1, 0.2, 0.2))).Int8);
    }

    [Fact]
    public void Int8_that_wins_only_in_bulk_is_found_from_the_all_int8_start()
    {
        // Each layer alone loses (0.8 + 0.3 + 0.3 > 1), the chain wins (4 x 0.8 + 0.3 + 0.3 < 4).
        var d = PrecisionChoice.Choose(Chain((0.8, 1, 0.3, 0.3), (0.8, 1, 0.3, 0.3), (0.8, 1, 0.3, 0.3), (0.8, 1, 0.3, 0.3)));
        Assert.Equal(new[] { true, true, true, true }, d.Int8);
    }

    [Fact]
    public void Layers_reading_one_tensor_share_one_quantizer()
    {
        // Two branches read the graph input: one quantize serves both.
        var layers = new List<PrecisionLayer>
        {
            new("A", 0.4, 1, 0.5, 0.1) { InputTensor = "x", InputFromFloat = true, OutputToFloat = true },
            new("B", 0.4, 1, 0.5, 0.1) { InputTensor = "x", InputFromFloat = true, OutputToFloat = true },
        };
        var d = PrecisionChoice.Choose(layers);
        Assert.Equal(new[] { true, true }, d.Int8);
        Assert.Equal(0.4 + 0.4 + 0.5 + 0.1 + 0.1, d.TotalMs, 9);
    }

    [Fact]
    public void A_float_branch_into_an_add_makes_the_int8_branch_dequantize_too()
    {
        // A and B read x and feed an Add that feeds C.
        List<PrecisionLayer> Graph(bool bForcedFloat) => new()
        {
            new("A", 0.6, 1, 0.2, 0.3) { InputTensor = "x", InputFromFloat = true },
            new("B", 0.6, 1, 0.2, 0.3) { InputTensor = "x", InputFromFloat = true, ForcedFloat = bForcedFloat },
            new("C", 0.1, 1, 0.2, 0.3) { InputTensor = "sum", Upstream = new[] { 0, 1 }, OutputToFloat = true },
        };
        // All INT8: one quantize of x, the Add INT8, one dequantize at the end.
        var all = PrecisionChoice.Choose(Graph(false));
        Assert.Equal(new[] { true, true, true }, all.Int8);
        Assert.Equal(0.6 + 0.6 + 0.1 + 0.2 + 0.3, all.TotalMs, 9);
        // B float makes the Add float: A would pay its quantize and its dequantize (1.1 > 1), C its quantize.
        var mixed = PrecisionChoice.Choose(Graph(true));
        Assert.Equal(new[] { false, false, true }, mixed.Int8);
        Assert.Equal(1 + 1 + (0.1 + 0.2 + 0.3), mixed.TotalMs, 9);
        Assert.Equal(1.1, mixed.Int8CostMs[0], 9);
    }

    [Fact]
    public void Forced_layers_keep_their_precision()
    {
        var layers = Chain((3, 1, 0.2, 0.2), (0.1, 1, 0.2, 0.2));
        layers[0] = layers[0] with { ForcedInt8 = true };
        layers[1] = layers[1] with { ForcedFloat = true };
        Assert.Equal(new[] { true, false }, PrecisionChoice.Choose(layers).Int8);
        Assert.Throws<ArgumentException>(() => PrecisionChoice.Choose(new[] { layers[0] with { ForcedFloat = true } }));
    }

    [Fact]
    public void The_choice_is_deterministic_and_never_estimated_slower_than_all_int8_or_all_float()
    {
        var random = new Random(5);
        for (int trial = 0; trial < 50; trial++)
        {
            var costs = Enumerable.Range(0, 8).Select(_ => (random.NextDouble() * 2, random.NextDouble() * 2, random.NextDouble() * 0.5, random.NextDouble() * 0.5)).ToArray();
            var d = PrecisionChoice.Choose(Chain(costs));
            Assert.Equal(d.Int8, PrecisionChoice.Choose(Chain(costs)).Int8);
            Assert.True(d.TotalMs <= d.AllInt8Ms + 1e-9 && d.TotalMs <= d.AllFloatMs + 1e-9);
            for (int i = 0; i < costs.Length; i++)
                if (!d.Int8[i]) Assert.True(d.Int8CostMs[i] >= d.FloatCostMs[i] - 1e-9, $"trial {trial}: float layer {i} would be faster as INT8");
        }
    }

    [Fact]
    public void Whole_model_candidates_are_nested_reductions_of_the_estimate_by_gain()
    {
        // Gains (float - INT8 with conversions, all INT8 chosen): L0 0.1, L1 0.9, L2 0.5, L3 0.3.
        var layers = Chain((0.9, 1, 0, 0), (0.1, 1, 0, 0), (0.5, 1, 0, 0), (0.7, 1, 0, 0));
        var d = PrecisionChoice.Choose(layers);
        var candidates = PrecisionCandidates.Of(layers, d);
        Assert.Equal(new[] { "estimate", "best 3 of the estimate", "best 2 of the estimate", "best 1 of the estimate", "all float" },
            candidates.Select(c => c.Name));   // all INT8 equals the estimate here, so it is dropped
        Assert.Equal(new[] { false, true, true, true }, candidates[1].Int8);
        Assert.Equal(new[] { false, true, true, false }, candidates[2].Int8);
        Assert.Equal(new[] { false, true, false, false }, candidates[3].Int8);
        Assert.Equal(new[] { false, false, false, false }, candidates[4].Int8);
    }

    [Theory]
    // The fastest wins when the others are more than 3 % slower.
    [InlineData("1.00 1.04 1.10", "estimate")]
    // Within 3 % of the fastest, the fewest INT8 layers (the most accurate of nested candidates) win.
    [InlineData("1.00 1.03 1.10", "best 6 of the estimate")]
    [InlineData("1.02 1.00 1.029", "all float")]
    [InlineData("1.00 1.031 1.031", "estimate")]
    public void The_fastest_candidate_wins_unless_one_with_fewer_int8_layers_is_as_fast(string ms, string expected)
    {
        var times = ms.Split(' ').Select(t => double.Parse(t, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var candidates = new[]
        {
            new PotPowerShell.Core.Results.PrecisionCandidate("estimate", 12, times[0]),
            new PotPowerShell.Core.Results.PrecisionCandidate("best 6 of the estimate", 6, times[1]),
            new PotPowerShell.Core.Results.PrecisionCandidate("all float", 0, times[2]),
        };
        Assert.Equal(expected, candidates[PrecisionCandidates.Choose(candidates)].Name);
    }
}
