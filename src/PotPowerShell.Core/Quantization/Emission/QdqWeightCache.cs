using System.Collections.Concurrent;
using Onnx;
using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// The quantized weights (<see cref="QdqWeights.Quantize"/>) of the layers one builder emits, kept across emissions:
/// AccuracyAwareQuantization's candidates differ from each other in a few reverted layers only, so every other layer
/// quantizes its weights exactly as before. An entry is reused only for the same weight initializer, layer, input scale,
/// bias values and weight settings of the plan (every input of <see cref="QdqWeights.Quantize"/>), so an emission with
/// the cache gives the same bytes as one without. Thread-safe; the arrays it returns are shared and never modified.
/// </summary>
internal sealed class QdqWeightCache
{
    private sealed record Key(string Node, int InputScaleBits, bool PerChannel, bool Symmetric, QuantizationTypes Types,
        bool SevenBit, double? OutlierProbability);

    /// <summary>The weight is compared by reference (a message's own equality would compare every byte of it).</summary>
    private sealed record Entry(TensorProto Weight, float[]? Bias, QuantizedLayerWeights Weights);

    private readonly ConcurrentDictionary<Key, Entry[]> _entries = new();

    /// <summary>Layers quantized and answered from the cache so far (tests read them).</summary>
    public int Misses => _misses;
    public int Hits => _hits;
    private int _misses, _hits;

    public QuantizedLayerWeights Quantize(NodeProto node, TensorProto weight, float[]? bias, float inputScale, QuantizationPlan plan)
    {
        var key = new Key(node.Name, BitConverter.SingleToInt32Bits(inputScale), plan.PerChannelWeights, plan.SymmetricWeights, plan.Types,
            plan.SevenBitLayers.Contains(node.Name), plan.WeightOutlierProbability);
        if (_entries.TryGetValue(key, out var known))
            foreach (var e in known)
                if (ReferenceEquals(e.Weight, weight) && SameBias(e.Bias, bias))
                {
                    Interlocked.Increment(ref _hits);
                    return e.Weights;
                }
        var weights = QdqWeights.Quantize(node, weight, bias, inputScale, plan);
        Interlocked.Increment(ref _misses);
        var entry = new Entry(weight, bias?.ToArray(), weights);
        _entries.AddOrUpdate(key, _ => new[] { entry }, (_, list) => list.Append(entry).ToArray());
        return weights;
    }

    /// <summary>Bit-for-bit equal biases (NaN payloads and signed zeros included), or both absent.</summary>
    private static bool SameBias(float[]? a, float[]? b) =>
        a == null || b == null ? a == b : MemoryExtensions.SequenceEqual<byte>(
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan()), System.Runtime.InteropServices.MemoryMarshal.AsBytes(b.AsSpan()));
}
