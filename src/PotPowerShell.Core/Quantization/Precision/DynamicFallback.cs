using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization;

/// <summary>One layer's timings for restore_mode only_activations: its dynamic form and its float kernel (ms, net of overhead).</summary>
public sealed record DynamicTiming(double DynamicMs, double FloatMs)
{
    public bool Faster => DynamicMs < FloatMs;
}

/// <summary>Which reverted layers take the dynamic form, and from which timings.</summary>
public sealed record DynamicFallbackOutcome
{
    /// <summary>Layers that run faster in the dynamic form than in float on this CPU, so a reverted one may keep its INT8 weights.</summary>
    public IReadOnlySet<string> Layers { get; init; } = new HashSet<string>(StringComparer.Ordinal);
    /// <summary>Timings of every layer that has a dynamic form, by node name.</summary>
    public IReadOnlyDictionary<string, DynamicTiming> Timings { get; init; } = new Dictionary<string, DynamicTiming>(StringComparer.Ordinal);
    /// <summary>Whether the dynamic weights use the 7-bit range (see <see cref="DynamicFallback.SevenBitWeights"/>).</summary>
    public bool SevenBitWeights { get; init; }
    public int BatchSize { get; init; } = 1;
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();

    public static DynamicFallbackOutcome None { get; } = new();
}

/// <summary>
/// restore_mode only_activations: times each quantizable MatMul and Gemm in its dynamic form (<see cref="DynamicForm"/>)
/// and in float as tiny models on this CPU, through the same micro models, timer and cache as latency-aware precision
/// (<see cref="MicroModels"/>, <see cref="LayerCostCache"/>), and keeps the dynamic form for a reverted layer only where
/// it is faster. Decisions come from the cached values, so a cache gives the same choice (and the same bytes).
/// </summary>
internal static class DynamicFallback
{
    /// <summary>
    /// Dynamic weights use the 7-bit range on x86 CPUs without VNNI: ONNX Runtime's U8S8 kernels there add pairs of
    /// u8 x s8 products in saturating int16, and DynamicQuantizeLinear uses the whole u8 range (ORT's docs recommend
    /// reduce_range for dynamic quantization on AVX2 for this reason; ARCHITECTURE.md, QDQ rule 5). 7-bit plans (U8S7)
    /// keep 7 bits everywhere.
    /// </summary>
    public static bool SevenBitWeights(PresetResolution settings, HardwareProfile hardware) =>
        settings.Types == QuantizationTypes.U8S7
        || (settings.Types == QuantizationTypes.U8S8 && !hardware.HasVnni
            && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86);

    public static DynamicFallbackOutcome Choose(ModelProto prepared, IReadOnlyList<QuantizableLayer> layers, PresetResolution settings,
        DefaultQuantizationOptions options, IDataset data, int item, string modelSource, IProgress<PotProgress>? progress, CancellationToken cancellationToken)
    {
        // The dynamic kernels are ONNX Runtime's CPU kernels; other target devices revert to float.
        if (options.TargetDevice is not (TargetDevice.Any or TargetDevice.Cpu)) return DynamicFallbackOutcome.None;
        var index = new GraphIndex(prepared.Graph);
        var topology = new QdqTopology(index, new HashSet<string>(StringComparer.Ordinal));
        var names = layers.Select(l => l.Node).ToHashSet(StringComparer.Ordinal);
        var candidates = topology.Layers.Where(l => l.Weight != null && names.Contains(l.Layer.Node) && DynamicForm.Supports(index.Node(l.NodeIndex), index)).ToList();
        bool sevenBit = SevenBitWeights(settings, HardwareProfile.Current);
        if (candidates.Count == 0) return DynamicFallbackOutcome.None with { SevenBitWeights = sevenBit };

        var ends = candidates.ToDictionary(l => l.NodeIndex, l => topology.ChainEnd(l.NodeIndex, out _));
        var tensors = candidates.SelectMany(l => new[] { index.Node(l.NodeIndex).Input[0], ends[l.NodeIndex] }).Distinct(StringComparer.Ordinal).ToList();
        var (shapes, canBatch) = ActivationShapes.Measure(prepared, data, item, tensors, options.Threads, modelSource);
        int batch = canBatch ? options.BatchSize : 1;

        var measurement = options.Measurement ?? ThisMachine.Measurement();
        var cache = LayerCostCache.Load(measurement.CachePath, measurement.Identity);
        var micro = new MicroModels(prepared, index, topology, settings, options.PerChannelWeights);
        var keys = new Dictionary<string, (string Float, string Dynamic)>(StringComparer.Ordinal);
        bool measured = false;
        for (int k = 0; k < candidates.Count; k++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var layer = candidates[k];
            var input = Batched(shapes.GetValueOrDefault(index.Node(layer.NodeIndex).Input[0]), batch);
            var output = Batched(shapes.GetValueOrDefault(ends[layer.NodeIndex]), batch);
            if (input.Length == 0 || output.Length == 0) continue; // not produced for this item: no timing, reverts to float
            var layerKeys = micro.Keys(layer, input, output);
            string dynamicKey = micro.DynamicKey(layerKeys, sevenBit);
            keys[layer.Layer.Node] = (layerKeys.Float, dynamicKey);
            var missing = new List<(string Key, Func<ModelProto> Build)>();
            ModelProto? floatModel = null;
            ModelProto FloatModel() => floatModel ??= micro.Float(layer, input, layerKeys.Float);
            if (!cache.TryGet(layerKeys.Float, out _)) missing.Add((layerKeys.Float, FloatModel));
            if (!cache.TryGet(dynamicKey, out _)) missing.Add((dynamicKey, () => micro.Dynamic(FloatModel(), layer.Layer.Node, sevenBit, dynamicKey)));
            if (missing.Count == 0) continue;
            progress?.Report(new PotProgress("Default quantization", $"Timing the dynamic form of layer {k + 1} of {candidates.Count} on this CPU ({layer.Layer.Node})", 5));
            micro.Time(missing, cache, measurement, cancellationToken);
            measured = true;
        }
        var warnings = cache.SaveAfterMeasuring(measured).ToList();

        var timingsByNode = new Dictionary<string, DynamicTiming>(StringComparer.Ordinal);
        foreach (var (node, key) in keys)
            if (cache.TryGet(key.Float, out double floatMs) && cache.TryGet(key.Dynamic, out double dynamicMs))
                timingsByNode[node] = new DynamicTiming(dynamicMs, floatMs);
        return new DynamicFallbackOutcome
        {
            Layers = timingsByNode.Where(kv => kv.Value.Faster).Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal),
            Timings = timingsByNode,
            SevenBitWeights = sevenBit,
            BatchSize = batch,
            Warnings = warnings,
        };
    }

    /// <summary>The reason text of a layer that stays float on revert although it has a dynamic form.</summary>
    public static string SlowerText(DynamicTiming timing, int batch) => string.Format(CultureInfo.InvariantCulture,
        "reverted to float: its dynamic form (INT8 weights) took {0:0.000} ms vs float {1:0.000} ms on this CPU (batch {2})", timing.DynamicMs, timing.FloatMs, batch);

    private static long[] Batched(long[]? shape, int batch)
    {
        if (shape == null || shape.Length == 0) return Array.Empty<long>();
        if (batch == 1) return shape;
        var result = (long[])shape.Clone();
        result[0] *= batch;
        return result;
    }
}
