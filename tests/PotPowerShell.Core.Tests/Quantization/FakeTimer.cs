using Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>
/// Deterministic timings for tests (timings in tests are forbidden): each model's time comes from what it holds.
/// Micro-benchmarks are recognised by their graph name (the signature): float kernel 1 ms, INT8 kernel 0.3 ms (or
/// <see cref="SlowInt8Ms"/> for the layers in <see cref="SlowInInt8"/>), dynamic form 0.5 ms (or 2 ms for the layers in
/// <see cref="SlowInDynamic"/>), each quantize/dequantize 0.1 ms, overhead
/// 0. A whole model costs the sum of its weighted layers: 1 ms float, the INT8 kernel time when its weight comes
/// from a DequantizeLinear.
/// </summary>
internal sealed class FakeTimer : IModelTimer
{
    public const double FloatMs = 1.0, Int8Ms = 0.3, SlowInt8Ms = 3.0, ConversionMs = 0.1;

    /// <summary>Node names of weighted layers whose INT8 kernel is slow.</summary>
    public IReadOnlySet<string> SlowInInt8 { get; init; } = new HashSet<string>();

    /// <summary>A layer's dynamic form (restore_mode only_activations): <see cref="DynamicMs"/>, or <see cref="SlowDynamicMs"/> for the layers in <see cref="SlowInDynamic"/>.</summary>
    public const double DynamicMs = 0.5, SlowDynamicMs = 2.0;

    /// <summary>Node names of weighted layers whose dynamic form is slower than float.</summary>
    public IReadOnlySet<string> SlowInDynamic { get; init; } = new HashSet<string>();

    private int _timedUntilDecided;

    /// <summary>Calls that asked to stop once the fastest model is decided (the latency check does).</summary>
    public int TimedUntilDecided => _timedUntilDecided;

    /// <summary>Graph names of every model timed, in order.</summary>
    public List<string> Timed { get; } = new();

    /// <summary>Times of whole models (not micro-benchmarks) when set: by position in the call, e.g. FP32 then output for the latency check.</summary>
    public IReadOnlyList<double>? WholeModelMs { get; init; }

    /// <summary>
    /// How many calls timing whole models (not micro-benchmarks) come out as on a busy machine: each model's fastest
    /// round is its cost, but its median is 4 times that, and 2 times for the last model of the call (so the medians
    /// put the last model first where the costs may not).
    /// </summary>
    public int DisturbedWholeModelCalls { get; init; }

    private int _wholeModelCalls;

    /// <summary>Calls that timed whole models.</summary>
    public int WholeModelCalls => _wholeModelCalls;

    public IReadOnlyList<Timing> Time(IReadOnlyList<byte[]> models, ModelInput? input, TimeSpan budget, CancellationToken cancellationToken, bool untilDecided = false)
    {
        if (untilDecided) Interlocked.Increment(ref _timedUntilDecided);
        var parsed = models.Select(m => ModelProto.Parser.ParseFrom(m)).ToList();
        bool whole = parsed.Any(m => m.Graph.Name != "overhead" && !m.Graph.Name.Contains('|'));
        bool disturbed = whole && Interlocked.Increment(ref _wholeModelCalls) <= DisturbedWholeModelCalls;
        var result = new List<Timing>();
        for (int i = 0; i < parsed.Count; i++)
        {
            lock (Timed) Timed.Add(parsed[i].Graph.Name);
            double ms = Cost(parsed[i], i);
            double median = disturbed ? ms * (i == parsed.Count - 1 ? 2 : 4) : ms;
            result.Add(new Timing(median, median, ms, OrtModelTimer.MinRounds));
        }
        return result;
    }

    private double Cost(ModelProto model, int position)
    {
        string name = model.Graph.Name;
        if (name == "overhead") return 0;
        if (name.StartsWith("enter|", StringComparison.Ordinal) || name.StartsWith("exit|", StringComparison.Ordinal)) return ConversionMs;
        var producers = model.Graph.Node.SelectMany(n => n.Output.Select(o => (o, n))).GroupBy(p => p.o).ToDictionary(g => g.Key, g => g.First().n);
        var layers = model.Graph.Node.Where(n => n.OpType is "Conv" or "MatMul" or "Gemm" or "ConvTranspose").ToList();
        bool Int8(NodeProto n) => n.Input.Count > 1 && producers.TryGetValue(n.Input[1], out var p) && p.OpType == "DequantizeLinear";
        double Kernel(NodeProto n) => !Int8(n) ? FloatMs : SlowInInt8.Contains(n.Name) ? SlowInt8Ms : Int8Ms;
        if (name.StartsWith("dynamic|", StringComparison.Ordinal))
            return model.Graph.Node.Any(n => SlowInDynamic.Any(l => n.Name == l + "_MatMulInteger")) ? SlowDynamicMs : DynamicMs;
        if (name.StartsWith("float|", StringComparison.Ordinal)) return layers.Sum(Kernel);
        if (name.StartsWith("int8|", StringComparison.Ordinal)) return layers.Sum(Kernel) + 2 * ConversionMs;
        return WholeModelMs != null ? WholeModelMs[position] : layers.Sum(Kernel);
    }
}

/// <summary>Latency measurements for tests: a fake timer and a cache file of the test's own (or one per test process).</summary>
internal static class TestMeasurement
{
    public static readonly CostCacheIdentity Identity = new("Test CPU (X64 AVX2)", "0.0.0-test");

    private static readonly string SharedFolder = Path.Combine(Path.GetTempPath(), $"pot-tests-costs-{Environment.ProcessId}");
    private static readonly string SharedCache = Path.Combine(SharedFolder, LayerCostCache.FileName);

    // The test process's cache goes with it, so runs leave nothing in the temporary folder.
    static TestMeasurement() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        try { Directory.Delete(SharedFolder, recursive: true); }
        catch (IOException) { }
    };

    /// <summary>INT8 faster for every layer: the precision choice keeps every layer INT8, as AllInt8 does.</summary>
    public static readonly LatencyMeasurement Int8Faster = With(new FakeTimer());

    public static LatencyMeasurement With(IModelTimer timer, string? cachePath = null) =>
        new() { Timer = timer, CachePath = cachePath ?? SharedCache, Identity = Identity };
}
