namespace PotPowerShell.Core.Quantization;

/// <summary>
/// One quantizable layer of the precision problem, with its measured costs in milliseconds.
/// </summary>
/// <param name="Name">Node name.</param>
/// <param name="Int8Ms">The INT8 kernel alone, as it runs between INT8 neighbours (no conversion).</param>
/// <param name="FloatMs">The float kernel.</param>
/// <param name="EnterMs">Quantizing this layer's input (and the NCHW-to-NHWC transpose of an INT8 convolution) when it comes from float.</param>
/// <param name="ExitMs">Dequantizing this layer's output (and the transpose back) when something float reads it.</param>
public sealed record PrecisionLayer(string Name, double Int8Ms, double FloatMs, double EnterMs, double ExitMs)
{
    /// <summary>Kept float whatever it costs (ignored scope).</summary>
    public bool ForcedFloat { get; init; }
    /// <summary>Kept INT8 whatever it costs (a layer that could not be timed keeps POT's choice).</summary>
    public bool ForcedInt8 { get; init; }
    /// <summary>The activation input tensor: layers reading the same tensor share one quantizer (one conversion).</summary>
    public string InputTensor { get; init; } = "";
    /// <summary>Layers whose outputs reach this layer's input through ops that run INT8 when their inputs are INT8 (Add, Concat, pooling, reshapes).</summary>
    public IReadOnlyList<int> Upstream { get; init; } = Array.Empty<int>();
    /// <summary>The input also comes from a graph input or from an op that stays float: an INT8 layer always quantizes it.</summary>
    public bool InputFromFloat { get; init; }
    /// <summary>The output also reaches a graph output or an op that stays float: an INT8 layer always dequantizes it.</summary>
    public bool OutputToFloat { get; init; }
}

/// <summary>The chosen precisions and what each layer costs either way, given the others' choice.</summary>
/// <param name="Int8">Per layer: true = INT8.</param>
/// <param name="TotalMs">Estimated time of all layers and conversions with this choice.</param>
/// <param name="AllInt8Ms">The same estimate with every layer (outside the forced ones) INT8.</param>
/// <param name="AllFloatMs">The same estimate with every layer float.</param>
/// <param name="Int8CostMs">Per layer: what the model costs for this layer when it is INT8 (its kernel plus the conversions that then change), the others as chosen.</param>
/// <param name="FloatCostMs">Per layer: its float kernel.</param>
public sealed record PrecisionDecision(IReadOnlyList<bool> Int8, double TotalMs, double AllInt8Ms, double AllFloatMs,
    IReadOnlyList<double> Int8CostMs, IReadOnlyList<double> FloatCostMs);

/// <summary>
/// Chooses each layer's precision so that the estimated whole-model time is smallest. The estimate is the sum of the
/// layers' kernels in their precision plus the conversions on the edges where precision changes: an INT8 layer whose
/// input is not INT8 pays a quantize (once per input tensor), an INT8 layer whose output is read by anything float
/// pays a dequantize. An Add or Concat between layers is INT8 only when all its inputs are, as the emitter makes it
/// (QdqTopology), so one float branch makes the other branch's INT8 producers pay their dequantize too.
/// <para>
/// The search is a greedy descent from three starting points: all INT8 (POT's choice), all float, and each layer's
/// own best in isolation (its kernel with both conversions against its float kernel). From each, the single layer
/// flip that lowers the total most is applied until none does; the best end point wins (ties: the earlier start, so
/// all INT8 when nothing is faster). All INT8 and all float are candidates, so the result is never estimated slower
/// than either; every float layer of the result would make the model slower as INT8, which is what its row reports.
/// Chains (most CNNs) have few local optima with these edge costs; the starts cover the common ones (INT8 wins in
/// bulk but not one layer at a time, or the other way round). Deterministic: ties go to the lower layer index.
/// </para>
/// </summary>
public static class PrecisionChoice
{
    public static PrecisionDecision Choose(IReadOnlyList<PrecisionLayer> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        var problem = new Problem(layers);
        int n = layers.Count;
        var allInt8 = layers.Select(l => !l.ForcedFloat).ToArray();
        var allFloat = layers.Select(l => l.ForcedInt8).ToArray();
        var isolated = layers.Select(l => l.ForcedInt8 || (!l.ForcedFloat && l.Int8Ms + l.EnterMs + l.ExitMs < l.FloatMs)).ToArray();

        bool[]? best = null;
        double bestTotal = double.PositiveInfinity;
        foreach (var start in new[] { allInt8, allFloat, isolated })
        {
            var choice = Descend(problem, (bool[])start.Clone());
            double total = problem.Total(choice);
            if (total < bestTotal - 1e-9)
            {
                best = choice;
                bestTotal = total;
            }
        }
        best ??= allInt8;
        var int8Cost = new double[n];
        for (int i = 0; i < n; i++)
        {
            var flipped = (bool[])best.Clone();
            flipped[i] = true;
            double withInt8 = problem.Total(flipped);
            flipped[i] = false;
            double withFloat = problem.Total(flipped);
            int8Cost[i] = layers[i].FloatMs + withInt8 - withFloat;
        }
        return new PrecisionDecision(best, bestTotal, problem.Total(allInt8), problem.Total(allFloat), int8Cost, layers.Select(l => l.FloatMs).ToList());
    }

    private static bool[] Descend(Problem problem, bool[] choice)
    {
        double current = problem.Total(choice);
        while (true)
        {
            int bestFlip = -1;
            double bestTotal = current;
            for (int i = 0; i < choice.Length; i++)
            {
                if (problem.Layers[i].ForcedFloat || problem.Layers[i].ForcedInt8) continue;
                choice[i] = !choice[i];
                double total = problem.Total(choice);
                choice[i] = !choice[i];
                if (total < bestTotal - 1e-9)
                {
                    bestTotal = total;
                    bestFlip = i;
                }
            }
            if (bestFlip < 0) return choice;
            choice[bestFlip] = !choice[bestFlip];
            current = bestTotal;
        }
    }

    private sealed class Problem
    {
        private readonly List<int>[] _downstream;

        public Problem(IReadOnlyList<PrecisionLayer> layers)
        {
            Layers = layers;
            _downstream = layers.Select(_ => new List<int>()).ToArray();
            for (int i = 0; i < layers.Count; i++)
            {
                if (layers[i].ForcedFloat && layers[i].ForcedInt8) throw new ArgumentException($"Layer '{layers[i].Name}' cannot be forced both float and INT8.", nameof(layers));
                foreach (int u in layers[i].Upstream)
                {
                    if (u < 0 || u >= layers.Count) throw new ArgumentException($"Layer '{layers[i].Name}' names upstream layer {u}, which does not exist.", nameof(layers));
                    _downstream[u].Add(i);
                }
            }
        }

        public IReadOnlyList<PrecisionLayer> Layers { get; }

        private bool InputIsInt8(bool[] int8, int i) => !Layers[i].InputFromFloat && Layers[i].Upstream.All(u => int8[u]);

        public double Total(bool[] int8)
        {
            double total = 0;
            var quantized = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < Layers.Count; i++)
            {
                var layer = Layers[i];
                if (!int8[i])
                {
                    total += layer.FloatMs;
                    continue;
                }
                total += layer.Int8Ms;
                if (!InputIsInt8(int8, i) && quantized.Add(layer.InputTensor.Length > 0 ? layer.InputTensor : "#" + i)) total += layer.EnterMs;
                if (layer.OutputToFloat || _downstream[i].Any(d => !int8[d] || !InputIsInt8(int8, d))) total += layer.ExitMs;
            }
            return total;
        }
    }
}
