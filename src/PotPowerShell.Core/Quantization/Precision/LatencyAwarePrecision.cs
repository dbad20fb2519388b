using PotPowerShell.Core.Config;
using System.Globalization;
using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization;

/// <summary>A measured layer: what the model costs for it as INT8 (kernel and the conversions that changes) and as float.</summary>
public sealed record LayerTiming(double Int8Ms, double FloatMs);

/// <summary>What the precision choice decided and from which timings.</summary>
public sealed record PrecisionOutcome
{
    public required PrecisionMode Mode { get; init; }
    /// <summary>The batch size the layers were timed at (1 when the model takes no batch axis).</summary>
    public required int BatchSize { get; init; }
    /// <summary>Layers kept float because they are faster that way, in graph order.</summary>
    public IReadOnlyList<string> FloatLayers { get; init; } = Array.Empty<string>();
    /// <summary>Why each layer of <see cref="FloatLayers"/> is float, with the measured figures.</summary>
    public IReadOnlyDictionary<string, string> FloatReasons { get; init; } = new Dictionary<string, string>();
    /// <summary>The whole models timed for the final choice, the chosen one marked.</summary>
    public IReadOnlyList<PrecisionCandidate> Candidates { get; init; } = Array.Empty<PrecisionCandidate>();
    /// <summary>Timings of every layer that took part, by node name.</summary>
    public IReadOnlyDictionary<string, LayerTiming> Timings { get; init; } = new Dictionary<string, LayerTiming>();
    /// <summary>The cache file the timings come from (null when nothing was measured).</summary>
    public string? CachePath { get; init; }
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();

    public static PrecisionOutcome AllInt8(PrecisionMode mode, int batchSize) => new() { Mode = mode, BatchSize = batchSize };
}

/// <summary>
/// Latency-aware precision (PrecisionMode.Fastest): times each quantizable layer's INT8 and float kernels and the
/// conversions between them as tiny models on this CPU (<see cref="MicroModels"/>, cached in <see cref="LayerCostCache"/>),
/// then keeps float the layers that make the whole model faster that way (<see cref="PrecisionChoice"/>). Decisions
/// are made from the cached values only, so a cache gives the same choice (and the same output bytes) every time.
/// </summary>
internal static class LatencyAwarePrecision
{
    /// <summary>The precision choice applies where ORT's CPU kernels run the model: target devices ANY and CPU.</summary>
    public static bool Applies(DefaultQuantizationOptions options) =>
        options.Precision == PrecisionMode.Fastest && options.TargetDevice is TargetDevice.Any or TargetDevice.Cpu;

    public static PrecisionOutcome Choose(ModelProto prepared, IReadOnlySet<string> ignored, PresetResolution settings, DefaultQuantizationOptions options,
        IDataset data, int item, string modelSource, IProgress<PotProgress>? progress, CancellationToken cancellationToken)
    {
        // GPU and NPU targets keep POT's semantics: every layer INT8.
        if (!Applies(options)) return PrecisionOutcome.AllInt8(PrecisionMode.AllInt8, options.BatchSize);
        var index = new GraphIndex(prepared.Graph);
        var topology = new QdqTopology(index, ignored);
        // MatMuls of two activations have no weight to time: they stay as the emitter makes them, except in the
        // whole-model candidate that is all float (see PrecisionCandidates).
        var layers = topology.Layers.Where(l => l.Weight != null).ToList();
        var products = topology.Layers.Where(l => l.Weight == null && !ignored.Contains(l.Layer.Node)).Select(l => l.Layer.Node).ToList();
        var active = layers.Where(l => !ignored.Contains(l.Layer.Node)).ToList();
        if (active.Count == 0) return PrecisionOutcome.AllInt8(options.Precision, options.BatchSize);

        var ends = layers.ToDictionary(l => l.NodeIndex, l => topology.ChainEnd(l.NodeIndex, out _));
        var tensors = active.SelectMany(l => new[] { index.Node(l.NodeIndex).Input[0], ends[l.NodeIndex] }).Distinct(StringComparer.Ordinal).ToList();
        var (shapes, canBatch) = ActivationShapes.Measure(prepared, data, item, tensors, options.Threads, modelSource);
        int batch = canBatch ? options.BatchSize : 1;
        long[] Shape(string t) => shapes.TryGetValue(t, out var s) ? Batched(s, batch) : Array.Empty<long>();

        var measurement = options.Measurement ?? ThisMachine.Measurement();
        var cache = LayerCostCache.Load(measurement.CachePath, measurement.Identity);
        var warnings = new List<string>();
        var micro = new MicroModels(prepared, index, topology, settings, options.PerChannelWeights);
        var keys = new Dictionary<int, LayerKeys>();
        int measured = 0;
        for (int k = 0; k < active.Count; k++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var layer = active[k];
            var input = Shape(index.Node(layer.NodeIndex).Input[0]);
            var output = Shape(ends[layer.NodeIndex]);
            if (input.Length == 0 || output.Length == 0) continue; // not produced for this item: no timing, stays INT8
            var key = keys[layer.NodeIndex] = micro.Keys(layer, input, output);
            var missing = new List<(string Key, Func<ModelProto> Build)>();
            bool nhwcIn = micro.Nhwc(layer, input);
            bool nhwcOut = nhwcIn && output.Length == 4;
            ModelProto? floatModel = null;
            ModelProto FloatModel() => floatModel ??= micro.Float(layer, input, key.Float);
            if (!cache.TryGet(key.Float, out _)) missing.Add((key.Float, FloatModel));
            if (!cache.TryGet(key.Int8, out _)) missing.Add((key.Int8, () => micro.Int8(FloatModel(), key.Int8)));
            if (!cache.TryGet(key.Enter, out _)) missing.Add((key.Enter, () => micro.Enter(input, nhwcIn, key.Enter)));
            if (!cache.TryGet(key.Exit, out _)) missing.Add((key.Exit, () => micro.Exit(output, nhwcOut, key.Exit)));
            if (missing.Count == 0) continue;
            progress?.Report(new PotProgress("Default quantization", $"Timing layer {k + 1} of {active.Count} on this CPU ({layer.Layer.Node})", 5));
            micro.Time(missing, cache, measurement, cancellationToken);
            measured += missing.Count;
        }
        // The problem over every weighted layer (ignored ones forced float), from the cached values only.
        var position = layers.Select((l, i) => (l.NodeIndex, i)).ToDictionary(p => p.NodeIndex, p => p.i);
        var byEnd = layers.ToDictionary(l => ends[l.NodeIndex], l => position[l.NodeIndex], StringComparer.Ordinal);
        var problem = new List<PrecisionLayer>();
        foreach (var layer in layers)
        {
            string x = index.Node(layer.NodeIndex).Input[0];
            var upstream = new SortedSet<int>();
            bool fromFloat = false;
            WalkUp(index, topology, byEnd, x, upstream, ref fromFloat, new HashSet<string>(StringComparer.Ordinal));
            bool timed = keys.TryGetValue(layer.NodeIndex, out var key);
            double Get(string k) => cache.TryGet(k, out double v) ? v : 0;
            double floatMs = timed ? Get(key!.Float) : 0, enter = timed ? Get(key!.Enter) : 0, exit = timed ? Get(key!.Exit) : 0;
            // The INT8 model holds the kernel, the enter and the exit: the kernel alone is what remains.
            double int8 = timed ? Math.Max(0, Get(key!.Int8) - enter - exit) : 0;
            problem.Add(new PrecisionLayer(layer.Layer.Node, int8, floatMs, enter, exit)
            {
                // Ignored layers are float by the user's word; a layer without timings (its tensors never appeared)
                // keeps POT's choice, INT8.
                ForcedFloat = ignored.Contains(layer.Layer.Node),
                ForcedInt8 = !timed && !ignored.Contains(layer.Layer.Node),
                InputTensor = x,
                Upstream = upstream.ToList(),
                InputFromFloat = fromFloat,
                OutputToFloat = ReachesFloat(index, topology, position, ends[layer.NodeIndex], new HashSet<string>(StringComparer.Ordinal)),
            });
        }
        var decision = PrecisionChoice.Choose(problem);

        // The final say: whole models timed side by side (see PrecisionCandidates), also cached.
        var candidates = PrecisionCandidates.Of(problem, decision, products.Count);
        string modelId = Hash(prepared.ToByteArray());
        IEnumerable<string> Float((string Name, bool[] Int8, bool ProductsInt8) c) =>
            layers.Where((_, i) => !c.Int8[i]).Select(l => l.Layer.Node).Concat(c.ProductsInt8 ? Array.Empty<string>() : products);
        string Names((string, bool[], bool) c) => string.Join("\n", Float(c).OrderBy(n => n, StringComparer.Ordinal));
        var modelKeys = candidates.Select(c => $"model|{modelId}|b={batch}|{settings.Types}|{micro.Modes}|float={Hash(System.Text.Encoding.UTF8.GetBytes(Names(c)))}").ToList();
        var modelMs = modelKeys.Select(k => cache.TryGet(k, out double ms) ? ms : double.NaN).ToArray();
        if (modelMs.Any(double.IsNaN))
        {
            progress?.Report(new PotProgress("Default quantization", $"Timing {candidates.Count} candidate models on this CPU", 8));
            var models = candidates.Select(c => micro.Whole(new HashSet<string>(ignored.Concat(Float(c)), StringComparer.Ordinal)).ToByteArray()).ToList();
            var input = new ModelInput(data, Enumerable.Repeat(data.Get(item), batch).ToList(), candidates.Select(c => $"{modelSource} ({c.Name})").ToList());
            var timings = measurement.Timer.Time(models, input, measurement.ModelBudget, cancellationToken);
            if (InterleavedRounds.Disturbed(timings))
            {
                progress?.Report(new PotProgress("Default quantization", $"Timing {candidates.Count} candidate models again: the first rounds were disturbed", 8));
                timings = measurement.Timer.Time(models, input, measurement.ModelBudget, cancellationToken);
            }
            measured += candidates.Count;
            if (InterleavedRounds.Disturbed(timings))
            {
                // Still disturbed: this run decides by each model's fastest round (other processes only add time), and
                // nothing is cached, so that a later run on a quieter machine times them again instead of inheriting this.
                modelMs = timings.Select(t => t.MinMs).ToArray();
                warnings.Add(string.Format(CultureInfo.InvariantCulture,
                    "The machine was busy while the candidate models were timed (median runs {0:0.0}x their fastest, twice), so the precision choice was made from their fastest runs and not cached: run again on a quieter machine for a choice that is kept, or use -Precision AllInt8.",
                    InterleavedRounds.Dispersion(timings)));
            }
            else
            {
                // Whole models are judged by their medians, as the latency check and the bench judge the output: a model
                // with a fast best round can still be slower most of the time.
                for (int c = 0; c < candidates.Count; c++) modelMs[c] = cache.Set(modelKeys[c], timings[c].MedianMs);
            }
        }
        warnings.AddRange(cache.SaveAfterMeasuring(measured > 0));
        var measuredCandidates = candidates.Select((c, k) => new PrecisionCandidate(c.Name,
            c.Int8.Where((b, i) => b && !problem[i].ForcedInt8 && !problem[i].ForcedFloat).Count() + (c.ProductsInt8 ? products.Count : 0),
            modelMs[k])).ToList();
        int chosen = PrecisionCandidates.Choose(measuredCandidates);
        measuredCandidates[chosen] = measuredCandidates[chosen] with { Chosen = true };
        var final = candidates[chosen].Int8;
        // Float by the whole-model verdict: faster so, or as fast (PrecisionCandidates.EqualSpeed) and more accurate.
        bool fasterInFloat = measuredCandidates[chosen].Ms < measuredCandidates[0].Ms;
        string WholeModelReason() => string.Format(CultureInfo.InvariantCulture,
            fasterInFloat
                ? "faster in float: the whole model ran in {0:0.000} ms with it float ({1} INT8 layers) vs {2:0.000} ms with it INT8 ({3}) on this CPU (batch {4})"
                : "as fast in float and more accurate: the whole model ran in {0:0.000} ms with it float ({1} INT8 layers) vs {2:0.000} ms with it INT8 ({3}) on this CPU (batch {4}), within {5:0}% counted as equal",
            measuredCandidates[chosen].Ms, measuredCandidates[chosen].Int8Layers, measuredCandidates[0].Ms, measuredCandidates[0].Int8Layers, batch,
            (PrecisionCandidates.EqualSpeed - 1) * 100);

        var floatLayers = new List<string>();
        var reasons = new Dictionary<string, string>(StringComparer.Ordinal);
        var timingsByNode = new Dictionary<string, LayerTiming>(StringComparer.Ordinal);
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            if (!keys.ContainsKey(layer.NodeIndex)) continue;
            var timing = new LayerTiming(LayerCostCache.Round(decision.Int8CostMs[i]), LayerCostCache.Round(decision.FloatCostMs[i]));
            timingsByNode[layer.Layer.Node] = timing;
            if (final[i]) continue;
            floatLayers.Add(layer.Layer.Node);
            reasons[layer.Layer.Node] = !decision.Int8[i]
                ? string.Format(CultureInfo.InvariantCulture,
                    "faster in float: INT8 {0:0.000} ms vs float {1:0.000} ms on this CPU (batch {2}, conversions to and from its neighbours counted)",
                    timing.Int8Ms, timing.FloatMs, batch)
                : WholeModelReason();
        }
        if (floatLayers.Count > 0 && floatLayers.Count == timingsByNode.Count)
        {
            bool fastest = measuredCandidates[chosen].Ms <= measuredCandidates.Min(c => c.Ms);
            string faster = fastest ? "faster" : $"more than {(PrecisionCandidates.EqualSpeed - 1) * 100:0}% faster";
            string allInt8 = $"-Precision AllInt8 quantizes every layer (smaller, {(fastest ? "slower here" : "no faster here and less accurate")}).";
            warnings.Add(candidates[chosen].ProductsInt8
                ? $"No layer with weights makes this model {faster} as INT8 on this CPU, so they stay float and the output is not smaller; only its {products.Count} MatMul(s) of two activations are INT8, as the whole model ran {(fastest ? "fastest" : "as fast")} that way. " + allInt8
                : $"No layer makes this model {faster} as INT8 on this CPU, so every layer stays float and the output is not smaller. " + allInt8);
        }
        if (!candidates[chosen].ProductsInt8)
            foreach (var node in products)
            {
                floatLayers.Add(node);
                reasons[node] = WholeModelReason();
            }
        return new PrecisionOutcome
        {
            Mode = options.Precision,
            BatchSize = batch,
            FloatLayers = floatLayers,
            FloatReasons = reasons,
            Timings = timingsByNode,
            Candidates = measuredCandidates,
            CachePath = cache.Path,
            Warnings = warnings,
        };
    }

    private static string Hash(byte[] bytes) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes))[..16].ToLowerInvariant();

    private static long[] Batched(long[] shape, int batch)
    {
        if (shape.Length == 0 || batch == 1) return shape;
        var result = (long[])shape.Clone();
        result[0] *= batch;
        return result;
    }

    /// <summary>
    /// Ops between layers that run INT8 when their inputs are INT8 (as QdqTopology makes them): a Relu/Clip the
    /// quantizer absorbs, Add/Mul/Concat of activations only, the unary QLinear ops and data movement.
    /// </summary>
    private static bool PassesInt8(GraphIndex index, QdqTopology topology, NodeProto node) =>
        topology.IsRemovableClip(node) || QdqOpKinds.Of(node) switch
        {
            QdqOpKind.Binary or QdqOpKind.Variadic => node.Input.All(i => i.Length > 0 && !index.IsInitializer(i)),
            QdqOpKind.Unary or QdqOpKind.Shared => node.Input.Count > 0 && !index.IsInitializer(node.Input[0]),
            _ => false,
        };

    private static void WalkUp(GraphIndex index, QdqTopology topology, Dictionary<string, int> byEnd, string tensor, SortedSet<int> upstream,
        ref bool fromFloat, HashSet<string> seen)
    {
        if (!seen.Add(tensor)) return;
        if (byEnd.TryGetValue(tensor, out int layer))
        {
            upstream.Add(layer);
            return;
        }
        int p = index.Producer(tensor);
        if (p < 0 || !PassesInt8(index, topology, index.Node(p)))
        {
            fromFloat = true;
            return;
        }
        var node = index.Node(p);
        var kind = QdqOpKinds.Of(node);
        var inputs = kind is QdqOpKind.Binary or QdqOpKind.Variadic ? node.Input.ToList() : new List<string> { node.Input[0] };
        foreach (var input in inputs) WalkUp(index, topology, byEnd, input, upstream, ref fromFloat, seen);
    }

    /// <summary>True when <paramref name="tensor"/> reaches a graph output or a float op, other than through INT8-capable ops into layers' inputs.</summary>
    private static bool ReachesFloat(GraphIndex index, QdqTopology topology, Dictionary<int, int> layers, string tensor, HashSet<string> seen)
    {
        if (!seen.Add(tensor)) return false;
        if (index.GraphOutputs.Contains(tensor)) return true;
        foreach (var (consumer, slot) in index.Consumers(tensor))
        {
            var node = index.Node(consumer);
            if (layers.ContainsKey(consumer))
            {
                if (slot != 0) return true;
                continue;
            }
            bool data = QdqOpKinds.Of(node) is QdqOpKind.Binary or QdqOpKind.Variadic || slot == 0;
            if (!data || !PassesInt8(index, topology, node)) return true;
            foreach (var output in node.Output.Where(o => o.Length > 0))
                if (ReachesFloat(index, topology, layers, output, seen)) return true;
        }
        return false;
    }
}
