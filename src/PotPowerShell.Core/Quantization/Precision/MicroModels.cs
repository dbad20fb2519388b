using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Calibration;
using System.Globalization;
using Onnx;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// The tiny models one layer is timed with, and the signatures they are cached under. Each model's graph is named
/// after its signature. Shapes carry the batch size, so a signature names everything the timing depends on: op,
/// input shape, weight shape, attributes, bias, absorbed activation and (for INT8) the types and quantizer modes.
/// <list type="bullet">
/// <item>Float: the layer (with its MatMul bias Add and a Relu/Clip that follows it) on a float input, as in the model.</item>
/// <item>INT8: the same sub-graph through the QDQ emitter, so it is exactly the form ORT fuses in the output model: a
/// quantize of the input, the INT8 kernel (with the NCHW/NHWC transposes ORT adds around a lone QLinearConv) and a
/// dequantize of the output.</item>
/// <item>Enter / exit: quantizing a float tensor (and transposing it to NHWC, for convolutions), and the way back. The
/// INT8 kernel alone is the INT8 model minus its enter and exit.</item>
/// <item>Overhead: one inference of a one-element model, subtracted from every timing of its group.</item>
/// </list>
/// </summary>
internal sealed class MicroModels
{
    private static readonly ActivationRange Signed = new(-4f, 4f);
    private static readonly ActivationRange Positive = new(0f, 4f);

    private readonly ModelProto _prepared;
    private readonly GraphIndex _index;
    private readonly QdqTopology _topology;
    private readonly PresetResolution _settings;
    private readonly bool _perChannel;

    public MicroModels(ModelProto prepared, GraphIndex index, QdqTopology topology, PresetResolution settings, bool perChannel)
    {
        _prepared = prepared;
        _index = index;
        _topology = topology;
        _settings = settings;
        _perChannel = perChannel;
    }

    public const string OverheadKey = "overhead";

    /// <summary>The four signatures of one layer with input shape <paramref name="input"/> and output shape <paramref name="output"/>.</summary>
    public LayerKeys Keys(QdqLayerInfo layer, long[] input, long[] output)
    {
        var node = _index.Node(layer.NodeIndex);
        string body = $"{node.OpType}|x={Dims(input)}|w={Dims(_index.Initializers[layer.Weight!].Dims)}|{Attributes(node)}|bias={(layer.Bias != null || layer.BiasAdd >= 0 ? 1 : 0)}|{Activation(layer)}";
        string act = ActivationType == DataType.Uint8 ? "u8" : "s8";
        bool nhwc = Nhwc(node, input);
        return new LayerKeys(
            "float|" + body,
            $"int8|{_settings.Types}|{Modes}|{body}",
            $"enter|{act}|{(nhwc ? "nhwc" : "plain")}|{Dims(input)}",
            $"exit|{act}|{(nhwc ? "nhwc" : "plain")}|{Dims(output)}");
    }

    /// <summary>The float model of a layer: its node, bias Add and absorbed activation, on input <paramref name="input"/>.</summary>
    public ModelProto Float(QdqLayerInfo layer, long[] input, string key)
    {
        var nodes = new List<int> { layer.NodeIndex };
        if (layer.BiasAdd >= 0) nodes.Add(layer.BiasAdd);
        string end = _topology.ChainEnd(layer.NodeIndex, out int clip);
        if (clip >= 0) nodes.Add(clip);
        var graph = new GraphProto { Name = key };
        string x = _index.Node(layer.NodeIndex).Input[0];
        graph.Input.Add(GraphBuilder.ValueInfo(x, DataType.Float, input.Cast<object>().ToArray()));
        var added = new HashSet<string>(StringComparer.Ordinal);
        foreach (int i in nodes)
        {
            var node = _index.Node(i);
            graph.Node.Add(node.Clone());
            foreach (var name in node.Input)
                if (name.Length > 0 && _index.Initializers.TryGetValue(name, out var t) && added.Add(name)) graph.Initializer.Add(t.Clone());
        }
        graph.Output.Add(GraphBuilder.ValueInfo(end, DataType.Float, null));
        return Model(graph);
    }

    /// <summary>The INT8 model of a layer: <paramref name="floatModel"/> through the emitter with fixed activation ranges.</summary>
    public ModelProto Int8(ModelProto floatModel, string key)
    {
        var model = Emit(floatModel, new HashSet<string>());
        model.Graph.Name = key;
        return model;
    }

    /// <summary>
    /// The dynamic form of a layer (<see cref="DynamicForm"/>): <paramref name="floatModel"/> with the layer's weights
    /// INT8 (7-bit when <paramref name="sevenBit"/>) and its activation quantized at run time.
    /// </summary>
    public ModelProto Dynamic(ModelProto floatModel, string node, bool sevenBit, string key)
    {
        var layer = new HashSet<string>(StringComparer.Ordinal) { node };
        var model = Emit(floatModel, layer, layer, sevenBit ? layer : new HashSet<string>());
        model.Graph.Name = key;
        return model;
    }

    /// <summary>The signature of a layer's dynamic form: its float signature with the weight bits and quantizer modes.</summary>
    public string DynamicKey(LayerKeys keys, bool sevenBit) => $"dynamic|w{(sevenBit ? 7 : 8)}|{Modes}|{keys.Float["float|".Length..]}";

    /// <summary>The whole prepared model emitted with <paramref name="floatLayers"/> float and fixed activation ranges (timing does not depend on ranges).</summary>
    public ModelProto Whole(IReadOnlySet<string> floatLayers) => Emit(_prepared, floatLayers);

    /// <summary>Quantizer modes as they appear in signatures: symmetric/asymmetric weights and activations, per-channel/per-tensor.</summary>
    public string Modes => (_settings.SymmetricWeights ? "sw" : "aw") + (_settings.SymmetricActivations ? "sa" : "aa") + (_perChannel ? "pc" : "pt");

    private ModelProto Emit(ModelProto model, IReadOnlySet<string> floatLayers, IReadOnlySet<string>? dynamicLayers = null, IReadOnlySet<string>? sevenBitLayers = null)
    {
        var ranges = new Dictionary<string, ActivationRange>(StringComparer.Ordinal);
        var index = new GraphIndex(model.Graph);
        foreach (var tensor in QdqEmitter.TensorsToCalibrate(model, floatLayers))
        {
            int producer = index.Producer(tensor);
            // Never negative after a Relu or Clip(0, max): the range that lets ORT absorb the activation, as calibration gives it.
            ranges[tensor] = producer >= 0 && index.Node(producer).OpType is "Relu" or "Clip" ? Positive : Signed;
        }
        return QdqEmitter.Emit(model, new QuantizationPlan
        {
            Types = _settings.Types,
            SymmetricActivations = _settings.SymmetricActivations,
            SymmetricWeights = _settings.SymmetricWeights,
            PerChannelWeights = _perChannel,
            Ranges = ranges,
            FloatLayers = floatLayers,
            DynamicLayers = dynamicLayers ?? new HashSet<string>(),
            SevenBitLayers = sevenBitLayers ?? new HashSet<string>(),
        });
    }

    /// <summary>Quantizing a float tensor of <paramref name="shape"/> (then NCHW to NHWC when <paramref name="nhwc"/>).</summary>
    public ModelProto Enter(long[] shape, bool nhwc, string key)
    {
        var graph = new GraphProto { Name = key };
        graph.Input.Add(GraphBuilder.ValueInfo("x", DataType.Float, shape.Cast<object>().ToArray()));
        AddScale(graph);
        graph.Node.Add(Node("QuantizeLinear", new[] { "x", "scale", "zero_point" }, nhwc ? "q" : "y"));
        if (nhwc) graph.Node.Add(Transpose("q", "y", 0, 2, 3, 1));
        graph.Output.Add(GraphBuilder.ValueInfo("y", ActivationType, null));
        return Model(graph);
    }

    /// <summary>Dequantizing an NHWC (or plain) integer tensor back to a float tensor of <paramref name="shape"/>.</summary>
    public ModelProto Exit(long[] shape, bool nhwc, string key)
    {
        var graph = new GraphProto { Name = key };
        var stored = nhwc ? new[] { shape[0], shape[2], shape[3], shape[1] } : shape;
        graph.Input.Add(GraphBuilder.ValueInfo("x", ActivationType, stored.Cast<object>().ToArray()));
        AddScale(graph);
        if (nhwc) graph.Node.Add(Transpose("x", "t", 0, 3, 1, 2));
        graph.Node.Add(Node("DequantizeLinear", new[] { nhwc ? "t" : "x", "scale", "zero_point" }, "y"));
        graph.Output.Add(GraphBuilder.ValueInfo("y", DataType.Float, null));
        return Model(graph);
    }

    /// <summary>
    /// Times the <paramref name="missing"/> micro models side by side with the overhead model and stores each one's
    /// time net of the overhead in <paramref name="cache"/>.
    /// </summary>
    public void Time(IReadOnlyList<(string Key, Func<ModelProto> Build)> missing, LayerCostCache cache, LatencyMeasurement measurement, CancellationToken cancellationToken)
    {
        var models = missing.Select(m => m.Build().ToByteArray()).Prepend(Overhead().ToByteArray()).ToList();
        var timings = measurement.Timer.Time(models, null, measurement.LayerBudget, cancellationToken);
        // Decisions use each model's fastest round: on a shared machine other processes only ever add time, so the
        // minimum is the estimate least disturbed by them (the median of a few rounds is not, under load).
        double overhead = timings[0].MinMs;
        for (int m = 0; m < missing.Count; m++) cache.Set(missing[m].Key, timings[m + 1].MinMs - overhead);
    }

    /// <summary>One inference of a one-element model: the per-run cost every timing includes.</summary>
    public ModelProto Overhead()
    {
        var graph = new GraphProto { Name = OverheadKey };
        graph.Input.Add(GraphBuilder.ValueInfo("x", DataType.Float, new object[] { 1L }));
        graph.Node.Add(Node("Neg", new[] { "x" }, "y"));
        graph.Output.Add(GraphBuilder.ValueInfo("y", DataType.Float, null));
        return Model(graph);
    }

    /// <summary>ORT runs a 2-D convolution in INT8 as an NHWC QLinearConv, with transposes where it meets NCHW tensors.</summary>
    public static bool Nhwc(NodeProto node, long[] input) => node.OpType == "Conv" && input.Length == 4;

    public bool Nhwc(QdqLayerInfo layer, long[] input) => Nhwc(_index.Node(layer.NodeIndex), input);

    private DataType ActivationType => _settings.Types == QuantizationTypes.S8S8 ? DataType.Int8 : DataType.Uint8;

    private void AddScale(GraphProto graph)
    {
        graph.Initializer.Add(TensorProtos.FromFloats("scale", new[] { 0.03125f }));
        graph.Initializer.Add(ActivationType == DataType.Uint8
            ? TensorProtos.FromUInt8("zero_point", new byte[] { 128 })
            : TensorProtos.FromInt8("zero_point", new sbyte[] { 0 }));
    }

    private ModelProto Model(GraphProto graph)
    {
        var model = new ModelProto { IrVersion = _prepared.IrVersion, Graph = graph, ProducerName = "PotPowerShell.MicroModels" };
        foreach (var opset in _prepared.OpsetImport) model.OpsetImport.Add(opset.Clone());
        return model;
    }

    private static NodeProto Node(string op, string[] inputs, string output)
    {
        var node = new NodeProto { OpType = op, Name = op + "_" + output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        return node;
    }

    private static NodeProto Transpose(string input, string output, params long[] perm)
    {
        var node = Node("Transpose", new[] { input }, output);
        node.Attribute.Add(GraphBuilder.Attribute("perm", perm));
        return node;
    }

    private string Activation(QdqLayerInfo layer)
    {
        string add = layer.BiasAdd >= 0 ? "add" : "";
        _topology.ChainEnd(layer.NodeIndex, out int clip);
        if (clip < 0) return add;
        var node = _index.Node(clip);
        if (node.OpType == "Relu") return add + "Relu";
        var (min, max) = _topology.ClipBounds(node);
        return add + $"Clip({F(min ?? 0)},{F(max ?? 0)})";
    }

    private static string Dims(IEnumerable<long> dims) => string.Join("x", dims.Select(d => d.ToString(CultureInfo.InvariantCulture)));

    private static string F(float v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string Attributes(NodeProto node) => string.Join(",", node.Attribute.OrderBy(a => a.Name, StringComparer.Ordinal).Select(a => a.Name + "=" + a.Type switch
    {
        AttributeProto.Types.AttributeType.Int => a.I.ToString(CultureInfo.InvariantCulture),
        AttributeProto.Types.AttributeType.Float => F(a.F),
        AttributeProto.Types.AttributeType.Ints => Dims(a.Ints),
        AttributeProto.Types.AttributeType.Floats => string.Join("x", a.Floats.Select(F)),
        AttributeProto.Types.AttributeType.String => a.S.ToStringUtf8(),
        _ => a.Type.ToString(),
    }));
}

/// <summary>The cache signatures of one layer's micro-benchmarks.</summary>
internal sealed record LayerKeys(string Float, string Int8, string Enter, string Exit);
