using Google.Protobuf;
using Onnx;
using PotPowerShell.Core;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>
/// A builder whose "models" only say what they are: the doc string holds the source tag and the float layers, which
/// the fake evaluator reads back. Layers form a chain L0 -> L1 -> ... so the fake probe can reason about inputs.
/// </summary>
internal sealed class FakeBuilder : IQuantizedModelBuilder
{
    private readonly string _tag;

    public FakeBuilder(string tag, params string[] layers)
    {
        _tag = tag;
        var list = new List<QuantizableLayer>();
        string input = "x";
        foreach (var l in layers)
        {
            list.Add(new QuantizableLayer(l, "Conv", input, l + "_out"));
            input = l + "_out";
        }
        Layers = list;
        FloatModel = Model("fp32");
    }

    public ModelProto FloatModel { get; }
    public IReadOnlyList<QuantizableLayer> Layers { get; }
    public int Builds { get; private set; }

    public ModelProto Build(IReadOnlySet<string> revertedLayers) => Build(revertedLayers, new HashSet<string>());

    /// <summary>Layers that may run in their dynamic form when reverted (none unless set).</summary>
    public IReadOnlySet<string> DynamicCapable { get; init; } = new HashSet<string>();

    public ModelProto Build(IReadOnlySet<string> revertedLayers, IReadOnlySet<string> dynamicLayers)
    {
        Builds++;
        Assert.All(dynamicLayers, l => Assert.True(revertedLayers.Contains(l) && DynamicCapable.Contains(l), l));
        string Join(IReadOnlySet<string> layers) => string.Join(",", layers.OrderBy(l => l, StringComparer.Ordinal));
        return Model($"q|{_tag}|{Join(revertedLayers)}" + (dynamicLayers.Count == 0 ? "" : $"|{Join(dynamicLayers)}"));
    }

    private static ModelProto Model(string doc)
    {
        var g = new GraphBuilder("fake");
        g.Input("x", 1);
        g.Node("Identity", new[] { "x" }, "id");
        g.Output("id_out");
        var m = g.Build();
        m.DocString = doc;
        return m;
    }

    /// <summary>(tag, float layers) of a model built by any FakeBuilder; tag "fp32" for the float model.</summary>
    public static (string Tag, HashSet<string> Reverted) Decode(byte[] model)
    {
        string doc = ModelProto.Parser.ParseFrom(model).DocString;
        if (doc == "fp32") return ("fp32", new HashSet<string>());
        var parts = doc.Split('|');
        return (parts[1], parts[2].Length == 0 ? new HashSet<string>() : parts[2].Split(',').ToHashSet());
    }

    /// <summary>The reverted layers a model built by any FakeBuilder runs in their dynamic form.</summary>
    public static HashSet<string> DecodeDynamic(byte[] model)
    {
        var parts = ModelProto.Parser.ParseFrom(model).DocString.Split('|');
        return parts.Length > 3 ? parts[3].Split(',').ToHashSet() : new HashSet<string>();
    }
}

/// <summary>How one metric reacts to quantization: per-item FP32 values and per-layer, per-item degradation.</summary>
internal sealed class FakeMetric(string name, MetricDirection direction, Func<int, double> baseline)
{
    public string Name { get; } = name;
    public MetricDirection Direction { get; } = direction;
    public Func<int, double> Baseline { get; } = baseline;
    /// <summary>How much quantizing the layer degrades item i (positive = worse).</summary>
    public Dictionary<string, Func<int, double>> Cost { get; } = new();
    /// <summary>Degradation of any quantized model that no revert removes, by source tag.</summary>
    public Func<string, double> Offset { get; set; } = _ => 0;
    /// <summary>Multiplier on the layer costs by source tag (a better preset or range estimator scales them down).</summary>
    public Func<string, double> Scale { get; set; } = _ => 1;

    /// <summary>The evaluator's per-item signal (higher = better) for a model (tag, reverted); null = none given.</summary>
    public Func<string, IReadOnlySet<string>, int, double>? Signal { get; set; }

    public FakeMetric WithCost(string layer, double cost) { Cost[layer] = _ => cost; return this; }
    public FakeMetric WithCost(string layer, Func<int, double> cost) { Cost[layer] = cost; return this; }

    /// <summary>What a reverted layer in its dynamic form costs each item (its whole cost unless set).</summary>
    public Dictionary<string, double> DynamicCost { get; } = new();

    /// <summary>Degradation of item i for a model (tag, reverted, those of them in their dynamic form).</summary>
    public double Degradation(string tag, IReadOnlySet<string> reverted, int item, IReadOnlySet<string>? dynamic = null) =>
        tag == "fp32" ? 0 : Offset(tag) + Scale(tag) * Cost.Sum(c =>
            !reverted.Contains(c.Key) ? c.Value(item) : dynamic?.Contains(c.Key) == true ? DynamicCost.GetValueOrDefault(c.Key, c.Value(item)) : 0);

    /// <summary>Set: a 0/1 metric, an item right (1) while its degradation is at most this; layers then interact.</summary>
    public double? RightUpTo { get; init; }

    public double Value(string tag, IReadOnlySet<string> reverted, int item, IReadOnlySet<string>? dynamic = null)
    {
        double d = Degradation(tag, reverted, item, dynamic);
        if (RightUpTo is { } limit) return d <= limit + 1e-12 ? 1 : 0;
        return Direction == MetricDirection.HigherBetter ? Baseline(item) - d : Baseline(item) + d;
    }
}

internal sealed class FakeDataset(int count) : IDataset
{
    public string Source => "fake";
    public int Count { get; } = count;
    public IReadOnlyList<string> InputNames => new[] { "x" };
    public bool HasAnnotations => true;
    public DataItem Get(int index) => new(index, new Dictionary<string, TensorData> { ["x"] = TensorData.FromFloats(new[] { (float)index }, 1) }, (long)index);
}

/// <summary>Evaluates fake models: aggregate = mean of per-item values. Records every call.</summary>
internal sealed class FakeEvaluator(int items, params FakeMetric[] metrics) : IEvaluator
{
    public IReadOnlyList<MetricDefinition> Metrics { get; } = metrics.Select(m => new MetricDefinition(m.Name, m.Direction)).ToList();
    public IDataset Data { get; } = new FakeDataset(items);
    public List<(string Tag, string Reverted, int Items)> Calls { get; } = new();
    public Action? OnEvaluate { get; set; }
    /// <summary>Runs inside each evaluation with its token, after <see cref="OnEvaluate"/> (a slow evaluation, say).</summary>
    public Action<int, CancellationToken>? During { get; set; }

    /// <summary>Per-item bounds of every metric, so decided-early evaluation applies to them; null = none.</summary>
    public (double Min, double Max)? Bounds { get; init; }

    public IReadOnlyDictionary<string, (double Min, double Max)> MeanItemBounds =>
        Bounds is { } b ? Metrics.ToDictionary(m => m.Name, _ => b) : new Dictionary<string, (double Min, double Max)>();

    public EvaluationResult Evaluate(byte[] model, IReadOnlyList<int>? items, CancellationToken cancellationToken, IProgress<PotProgress>? progress = null)
    {
        cancellationToken.ThrowIfCancellationRequested();
        OnEvaluate?.Invoke();
        During?.Invoke(Calls.Count, cancellationToken);
        var (tag, reverted) = FakeBuilder.Decode(model);
        var dynamic = tag == "fp32" ? new HashSet<string>() : FakeBuilder.DecodeDynamic(model);
        var list = items ?? Enumerable.Range(0, Data.Count).ToArray();
        Calls.Add((tag, string.Join(",", reverted.OrderBy(r => r, StringComparer.Ordinal)) + (dynamic.Count == 0 ? "" : "|" + string.Join(",", dynamic.Order(StringComparer.Ordinal))), list.Count));
        var perItem = new Dictionary<string, double[]>();
        var values = new Dictionary<string, double>();
        var signals = new Dictionary<string, double[]>();
        foreach (var m in metrics)
        {
            var v = list.Select(i => m.Value(tag, reverted, i, dynamic)).ToArray();
            perItem[m.Name] = v;
            values[m.Name] = v.Average();
            if (m.Signal is { } signal) signals[m.Name] = list.Select(i => signal(tag, reverted, i)).ToArray();
        }
        return new EvaluationResult(values, perItem, list, TimeSpan.Zero) { Signals = signals };
    }

    /// <summary>As the real evaluator: items measured in the order given, <paramref name="stopWhen"/> asked after each.</summary>
    public EvaluationResult Evaluate(byte[] model, IReadOnlyList<int>? items, Func<int, IReadOnlyDictionary<string, double[]>, bool>? stopWhen,
        CancellationToken cancellationToken, IProgress<PotProgress>? progress = null)
    {
        var result = Evaluate(model, items, cancellationToken, progress);
        if (stopWhen == null) return result;
        for (int measured = 1; measured < result.Items.Count; measured++)
        {
            if (!stopWhen(measured, result.PerItem)) continue;
            Calls[^1] = Calls[^1] with { Items = measured };
            var perItem = result.PerItem.ToDictionary(p => p.Key, p => p.Value[..measured]);
            return new EvaluationResult(perItem.ToDictionary(p => p.Key, p => p.Value.Average()), perItem, result.Items.Take(measured).ToArray(), TimeSpan.Zero)
            {
                StoppedEarly = true,
            };
        }
        return result;
    }
}

/// <summary>
/// Output errors of the fake chain: quantizing layer L makes Added[L] of error on its own (local), and the error at a
/// layer's output is the sum of what it and every quantized layer before it add (accumulated). Reverted layers add nothing.
/// </summary>
internal sealed class FakeProbe(FakeBuilder builder, Dictionary<string, double> added) : ILayerOutputProbe
{
    public int Passes { get; private set; }

    public IReadOnlyDictionary<string, double[]> Compare(byte[] reference, byte[] candidate, IReadOnlyList<string> tensors, IReadOnlyList<int> items, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The fake evaluator gives per-item values, so no output comparison is needed.");

    public IReadOnlyDictionary<string, LayerError> MeasureLayers(byte[] reference, byte[] candidate, global::Onnx.ModelProto floatModel, IReadOnlyList<QuantizableLayer> layers,
        IReadOnlyList<int> items, CancellationToken cancellationToken)
    {
        Passes++;
        var (_, reverted) = FakeBuilder.Decode(candidate);
        var result = new Dictionary<string, LayerError>();
        double accumulated = 0;
        foreach (var layer in builder.Layers)
        {
            double local = reverted.Contains(layer.Node) ? 0 : added.GetValueOrDefault(layer.Node);
            accumulated += local;
            if (layers.Any(l => l.Node == layer.Node)) result[layer.Node] = new LayerError(accumulated, local);
        }
        return result;
    }
}

/// <summary>A clock the fake evaluator advances.</summary>
internal sealed class FakeClock
{
    public TimeSpan Now { get; set; }
    public Func<TimeSpan> Read => () => Now;
}

/// <summary>
/// 40 items of a bounded metric (FP32 1 everywhere) and 8 layers L0-L7: layer Li costs 0.8 - 0.1 i on
/// <paramref name="width"/> items of its own (items width·i to width·i + width - 1), so the fully quantized model falls
/// short on 8·width items and keeps the rest at 1. With width 2: means 0.04, 0.035, ... 0.005, 0.18 in all.
/// </summary>
internal static class DisjointWorld
{
    public static readonly string[] Layers = Enumerable.Range(0, 8).Select(i => $"L{i}").ToArray();

    public static FakeEvaluator Create(int width = 2, bool bounded = true)
    {
        var metric = new FakeMetric("accuracy", MetricDirection.HigherBetter, _ => 1.0);
        for (int i = 0; i < Layers.Length; i++)
        {
            int layer = i;
            metric.WithCost(Layers[i], item => item / width == layer ? 0.8 - 0.1 * layer : 0);
        }
        return bounded ? new FakeEvaluator(40, metric) { Bounds = (0, 1) } : new FakeEvaluator(40, metric);
    }
}
