using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// Writes the QDQ graph for one (topology, plan) in a single pass over the prepared nodes:
/// graph-input quantizers first, then each node preceded by its weight/bias DQs and followed by the Q + shared DQ of
/// each quantized output. New names come from <see cref="UniqueNames"/> in a fixed order, so output is deterministic.
/// </summary>
internal sealed class QdqGraphWriter
{
    private readonly QdqTopology _topology;
    private readonly GraphIndex _index;
    private readonly QuantizationPlan _plan;
    private readonly UniqueNames _names;
    private readonly DataType _actType;
    private readonly List<NodeProto> _nodes = new();
    private readonly List<TensorProto> _newInitializers = new();
    private readonly Dictionary<string, ActivationQuantizer> _byRoot = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorNames> _tensorNames = new(StringComparer.Ordinal);
    /// <summary>Bias Adds of INT8 MatMuls: node index -> (input slot of the constant, int32 bias DQ output).</summary>
    private readonly Dictionary<int, (int Slot, string Bias)> _biasAddInputs = new();
    /// <summary>Roots whose quantizer is symmetric although the plan's activations are not (<see cref="QuantizationPlan.SymmetricActivationProducts"/>).</summary>
    private readonly HashSet<string> _symmetricRoots = new(StringComparer.Ordinal);

    private sealed record ActivationQuantizer(QuantParameters Params, string Scale, string ZeroPoint);
    /// <summary>Q input (the producer's output, renamed when it is a graph output), Q output, DQ output.</summary>
    private sealed record TensorNames(string QInput, string Quantized, string Dequantized);

    /// <summary>Quantized weights kept across emissions (see <see cref="QdqWeightCache"/>); null = quantize every layer's weights here.</summary>
    private readonly QdqWeightCache? _weights;

    public QdqGraphWriter(QdqTopology topology, QuantizationPlan plan, QdqWeightCache? weights = null)
    {
        _weights = weights;
        _topology = topology;
        _index = topology.Index;
        _plan = plan;
        _names = new UniqueNames(_index.AllNames());
        _actType = QuantParams.ActivationType(plan.Types);
        if (plan.SymmetricActivationProducts)
            foreach (var layer in topology.Layers.Where(l => l.ActivationTimesActivation && topology.IsInt8(l.NodeIndex)))
                for (int k = 0; k < 2; k++)
                {
                    string t = _index.Node(layer.NodeIndex).Input[k];
                    if (topology.HasQuantizer(t) && topology.IsQuantizedSlot(layer.NodeIndex, k)) _symmetricRoots.Add(topology.Root(t));
                }
    }

    public GraphProto Write()
    {
        foreach (var t in _topology.Quantized) _tensorNames[t] = NamesFor(t);
        foreach (var t in _topology.Quantized)
            if (_index.Producer(t) < 0) EmitQuantizer(t);
        for (int i = 0; i < _index.Graph.Node.Count; i++) EmitNode(i);

        var source = _index.Graph;
        var graph = new GraphProto();
        if (source.HasName) graph.Name = source.Name;
        if (source.HasDocString) graph.DocString = source.DocString;
        graph.Input.AddRange(source.Input.Select(v => v.Clone()));
        graph.Output.AddRange(source.Output.Select(v => v.Clone()));
        // Value infos of renamed or removed tensors would be stale; keep the rest.
        var produced = _nodes.SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
        graph.ValueInfo.AddRange(source.ValueInfo.Where(v => produced.Contains(v.Name)).Select(v => v.Clone()));
        graph.Node.AddRange(_nodes);
        // Initializers still read by a node (subgraphs of If/Loop/Scan included) or returned as outputs.
        var used = _nodes.SelectMany(Subgraphs.NamesRead).Concat(source.Output.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        graph.Initializer.AddRange(source.Initializer.Where(t => used.Contains(t.Name)).Select(t => t.Clone()));
        graph.Initializer.AddRange(_newInitializers);
        graph.SparseInitializer.AddRange(source.SparseInitializer.Select(t => t.Clone()));
        graph.QuantizationAnnotation.AddRange(source.QuantizationAnnotation.Select(a => a.Clone()));
        graph.MetadataProps.AddRange(source.MetadataProps.Select(a => a.Clone()));
        return graph;
    }

    private TensorNames NamesFor(string t)
    {
        // A fused producer cannot write a graph output (ORT's group check), so it writes a new name and the DQ
        // writes the graph output itself.
        bool renameProducer = _index.GraphOutputs.Contains(t) && _topology.ProducerFused(t);
        string qInput = renameProducer ? _names.Next(t + "_prequant") : t;
        string quantized = _names.Next(t + "_quantized");
        string dequantized = renameProducer ? t : _names.Next(t + "_dequantized");
        return new TensorNames(qInput, quantized, dequantized);
    }

    private void EmitNode(int i)
    {
        var source = _index.Node(i);
        var node = source.Clone();
        var layer = _topology.LayerAt(i);
        bool int8 = _topology.IsInt8(i);
        bool dynamic = !int8 && _plan.DynamicLayers.Contains(source.Name);
        if (dynamic && !DynamicForm.Supports(source, _index))
            throw new PotException("DynamicFormUnsupported", PotErrorCategory.InvalidArgument,
                $"The plan asks for the dynamic form of '{source.Name}' ({source.OpType}), which has none: only MatMul and Gemm with a 2-D constant weight do (see DynamicForm).", source.Name);

        for (int k = 0; k < node.Input.Count; k++)
        {
            string t = node.Input[k];
            if (t.Length == 0 || !_topology.HasQuantizer(t)) continue;
            if (_topology.IsQuantizedSlot(i, k)) node.Input[k] = _tensorNames[t].Dequantized;
            else if (_topology.ProducerFused(t))
                node.Input[k] = k == 0 && !dynamic && OwnDequantizeAxis(source) is { } own ? EmitOwnDequantize(t, source, own) : _tensorNames[t].Dequantized;
        }

        if (dynamic)
        {
            for (int k = 0; k < node.Output.Count; k++)
                if (_tensorNames.TryGetValue(node.Output[k], out var renamed)) node.Output[k] = renamed.QInput;
            EmitDynamic(node);
            foreach (var o in source.Output)
                if (o.Length > 0 && _tensorNames.ContainsKey(o)) EmitQuantizer(o);
            return;
        }

        if (layer != null && int8 && layer.Weight != null) ReplaceWeights(node, layer);
        if (_biasAddInputs.TryGetValue(i, out var biasInput)) node.Input[biasInput.Slot] = biasInput.Bias;

        for (int k = 0; k < node.Output.Count; k++)
            if (_tensorNames.TryGetValue(node.Output[k], out var names)) node.Output[k] = names.QInput;
        if (_topology.NeedsMaxForm(i)) EmitMaxForm(node);
        else _nodes.Add(node);
        if (_topology.NeedsFusionBarrier(i))
        {
            string output = node.Output[0], unfused = _names.Next(source.Output[0] + "_float");
            node.Output[0] = unfused;
            _nodes.Add(MakeNode("Max", _names.Next(source.Name + "_keep_float"), new[] { unfused, unfused }, output));
        }
        foreach (var o in source.Output)
            if (o.Length > 0 && _tensorNames.ContainsKey(o)) EmitQuantizer(o);
    }

    /// <summary>
    /// A Relu as Max(x, 0), a Clip(0, m) as Min(Max(x, 0), m) (see <see cref="QdqTopology.NeedsMaxForm"/>); the node's
    /// name and output are kept.
    /// </summary>
    private void EmitMaxForm(NodeProto node)
    {
        bool relu = node.OpType == "Relu";
        string zero = relu ? AddInitializer(TensorProtos.FromFloats(_names.Next(node.Name + "_zero"), new[] { 0f })) : node.Input[1];
        string nonNegative = relu ? node.Output[0] : _names.Next(node.Output[0] + "_nonnegative");
        _nodes.Add(MakeNode("Max", relu ? node.Name : _names.Next(node.Name + "_max"), new[] { node.Input[0], zero }, nonNegative));
        if (!relu) _nodes.Add(MakeNode("Min", node.Name, new[] { nonNegative, node.Input[2] }, node.Output[0]));
    }

    private void EmitQuantizer(string t)
    {
        var q = Quantizer(_topology.Root(t));
        var names = _tensorNames[t];
        _nodes.Add(MakeNode("QuantizeLinear", _names.Next(t + "_QuantizeLinear"), new[] { names.QInput, q.Scale, q.ZeroPoint }, names.Quantized));
        _nodes.Add(MakeNode("DequantizeLinear", _names.Next(t + "_DequantizeLinear"), new[] { names.Quantized, q.Scale, q.ZeroPoint }, names.Dequantized));
    }

    private ActivationQuantizer Quantizer(string root)
    {
        if (_byRoot.TryGetValue(root, out var existing)) return existing;
        if (!_plan.Ranges.TryGetValue(root, out var range))
            throw new PotException("RangeMissing", PotErrorCategory.InvalidArgument,
                $"The quantization plan has no calibrated range for tensor '{root}'. Calibrate every tensor QdqEmitter.TensorsToCalibrate returns for the same float layers.", root);
        float min = range.Min, max = range.Max;
        // After a Relu or Clip(0, m) the true range starts at 0; forcing it keeps zp = qmin so ORT can drop the Relu.
        int producer = _index.Producer(root);
        if (producer >= 0)
        {
            var p = _index.Node(producer);
            if (_topology.IsRemovableClip(p))
            {
                min = 0;
                if (p.OpType == "Clip") max = Math.Min(max, _topology.ClipBounds(p).Max!.Value);
            }
        }
        var qp = QuantParams.ForActivation(min, max, _plan.Types, _plan.SymmetricActivations || _symmetricRoots.Contains(root));
        string scale = AddInitializer(TensorProtos.FromFloats(_names.Next(root + "_scale"), new[] { qp.Scale }));
        string zp = AddInitializer(ZeroPoints(_names.Next(root + "_zero_point"), _actType, new[] { qp.ZeroPoint }, scalar: true));
        var q = new ActivationQuantizer(qp, scale, zp);
        _byRoot[root] = q;
        return q;
    }

    /// <summary>
    /// A float Conv/ConvTranspose/Gemm reading a fused producer's DQ gets its own DQ with a per-axis vector of identical
    /// scales: it dequantizes identically but keeps ORT's WeightBiasQuantization (which wants a scalar-scale DQ) from
    /// silently re-quantizing the reverted layer (ARCHITECTURE.md, QDQ rule 4). MatMul is included because ORT fuses MatMul + Add into a
    /// Gemm first. Returns (axis, channels) or null when not applicable.
    /// </summary>
    private (int Axis, int Channels)? OwnDequantizeAxis(NodeProto node)
    {
        if (!OpCatalog.IsDefaultDomain(node.Domain) || node.Input.Count < 2) return null;
        if (!_index.Initializers.TryGetValue(node.Input[1], out var w)) return null;
        switch (node.OpType)
        {
            case "Conv" when w.Dims.Count >= 3:
                return (1, (int)(w.Dims[1] * QdqLayerInfo.Attr(node, "group", 1)));
            case "ConvTranspose" when w.Dims.Count >= 3:
                return (1, (int)w.Dims[0]);
            case "Gemm" when w.Dims.Count == 2:
                int k = (int)(QdqLayerInfo.Attr(node, "transB", 0) != 0 ? w.Dims[1] : w.Dims[0]);
                return (QdqLayerInfo.Attr(node, "transA", 0) != 0 ? 0 : 1, k);
            // ORT turns MatMul + bias Add into a Gemm before WeightBiasQuantization runs.
            case "MatMul" when w.Dims.Count == 2:
                return (-1, (int)w.Dims[0]);
            default:
                return null;
        }
    }

    private string EmitOwnDequantize(string t, NodeProto consumer, (int Axis, int Channels) own)
    {
        var q = Quantizer(_topology.Root(t));
        string baseName = $"{t}_dequantized_for_{consumer.Name}";
        string scale = AddInitializer(TensorProtos.FromFloats(_names.Next(baseName + "_scale"),
            Enumerable.Repeat(q.Params.Scale, own.Channels).ToArray(), own.Channels));
        string zp = AddInitializer(ZeroPoints(_names.Next(baseName + "_zero_point"), _actType,
            Enumerable.Repeat(q.Params.ZeroPoint, own.Channels).ToArray(), scalar: false));
        string output = _names.Next(baseName);
        var dq = MakeNode("DequantizeLinear", _names.Next(baseName + "_DequantizeLinear"), new[] { _tensorNames[t].Quantized, scale, zp }, output);
        dq.Attribute.Add(GraphBuilder.Attribute("axis", (long)own.Axis));
        _nodes.Add(dq);
        return output;
    }

    private void ReplaceWeights(NodeProto node, QdqLayerInfo layer)
    {
        var weight = _index.Initializers[layer.Weight!];
        float inputScale = Quantizer(_topology.Root(_index.Node(layer.NodeIndex).Input[0])).Params.Scale;
        float[]? bias = BiasFor(node, layer);
        var qw = _weights != null ? _weights.Quantize(node, weight, bias, inputScale, _plan) : QdqWeights.Quantize(node, weight, bias, inputScale, _plan);
        string prefix = node.Name;
        bool perAxis = qw.Params.Axis >= 0;
        int channels = qw.Params.Scales.Length;

        var wDims = weight.Dims.ToArray();
        string wq = AddInitializer(TensorProtos.FromInt8(_names.Next(prefix + "_weight_quantized"), qw.CodeBytes, wDims));
        string ws = AddInitializer(perAxis
            ? TensorProtos.FromFloats(_names.Next(prefix + "_weight_scale"), qw.Params.Scales, channels)
            : TensorProtos.FromFloats(_names.Next(prefix + "_weight_scale"), qw.Params.Scales));
        string wz = AddInitializer(ZeroPoints(_names.Next(prefix + "_weight_zero_point"), DataType.Int8, qw.Params.ZeroPoints, scalar: !perAxis));
        string wOut = _names.Next(prefix + "_weight_dequantized");
        var wdq = MakeNode("DequantizeLinear", _names.Next(prefix + "_weight_DequantizeLinear"), new[] { wq, ws, wz }, wOut);
        if (perAxis) wdq.Attribute.Add(GraphBuilder.Attribute("axis", (long)qw.Params.Axis));
        _nodes.Add(wdq);
        node.Input[1] = wOut;

        if (qw.BiasCodes == null) return;
        int n = qw.BiasCodes.Length;
        string bq = AddInitializer(TensorProtos.FromInt32(_names.Next(prefix + "_bias_quantized"), qw.BiasCodes, n));
        string bs = AddInitializer(perAxis
            ? TensorProtos.FromFloats(_names.Next(prefix + "_bias_scale"), qw.BiasScales!, n)
            : TensorProtos.FromFloats(_names.Next(prefix + "_bias_scale"), new[] { qw.BiasScales![0] }));
        string bz = AddInitializer(perAxis
            ? TensorProtos.FromInt32(_names.Next(prefix + "_bias_zero_point"), new int[n], n)
            : TensorProtos.FromInt32(_names.Next(prefix + "_bias_zero_point"), new int[1]));
        string bOut = _names.Next(prefix + "_bias_dequantized");
        var bdq = MakeNode("DequantizeLinear", _names.Next(prefix + "_bias_DequantizeLinear"), new[] { bq, bs, bz }, bOut);
        if (perAxis) bdq.Attribute.Add(GraphBuilder.Attribute("axis", 0L));
        _nodes.Add(bdq);
        if (layer.BiasAdd >= 0)
        {
            var add = _index.Node(layer.BiasAdd);
            _biasAddInputs[layer.BiasAdd] = (add.Input[0] == layer.Bias ? 0 : 1, bOut);
            return;
        }
        while (node.Input.Count < 3) node.Input.Add("");
        node.Input[2] = bOut;
        if (node.OpType == "Gemm") SetFloatAttribute(node, "beta", 1f);
    }

    /// <summary>
    /// Writes <paramref name="node"/> (a MatMul or Gemm whose inputs and outputs are already renamed) in its dynamic form
    /// (see <see cref="DynamicForm"/>): its own DynamicQuantizeLinear, MatMulInteger on the int8 weight [K, N], the
    /// scale multiply, and for a Gemm its bias Add (beta folded in; alpha folded into the weight scales).
    /// </summary>
    private void EmitDynamic(NodeProto node)
    {
        var weight = _index.Initializers[node.Input[1]];
        var qw = QdqWeights.Quantize(node, weight, bias: null, inputScale: 1f, _plan);
        bool gemm = node.OpType == "Gemm";
        bool transB = gemm && QdqLayerInfo.Attr(node, "transB", 0) != 0;
        long rows = weight.Dims[0], cols = weight.Dims[1];
        long k = transB ? cols : rows, n = transB ? rows : cols;
        var codes = qw.Codes;
        if (transB)
        {
            codes = new sbyte[codes.Length];
            for (long r = 0; r < rows; r++)
                for (long c = 0; c < cols; c++) codes[c * rows + r] = qw.Codes[r * cols + c];
        }
        float alpha = gemm ? QdqLayerInfo.AttrF(node, "alpha", 1f) : 1f;
        var scales = qw.Params.Scales.Select(v => v * alpha).ToArray();
        bool perColumn = scales.Length > 1;
        string prefix = node.Name;
        string x = node.Input[0], y = node.Output[0];

        string wq = AddInitializer(TensorProtos.FromInt8(_names.Next(prefix + "_weight_quantized"), codes, k, n));
        string ws = AddInitializer(perColumn
            ? TensorProtos.FromFloats(_names.Next(prefix + "_weight_scale"), scales, n)
            : TensorProtos.FromFloats(_names.Next(prefix + "_weight_scale"), scales));
        string xq = _names.Next(x + "_dynamic_quantized"), xs = _names.Next(x + "_dynamic_scale"), xz = _names.Next(x + "_dynamic_zero_point");
        var dql = new NodeProto { OpType = "DynamicQuantizeLinear", Name = _names.Next(prefix + "_DynamicQuantizeLinear") };
        dql.Input.Add(x);
        dql.Output.AddRange(new[] { xq, xs, xz });
        _nodes.Add(dql);

        var inputs = new List<string> { xq, wq, xz };
        if (qw.Params.ZeroPoints.Any(z => z != 0))
            inputs.Add(AddInitializer(ZeroPoints(_names.Next(prefix + "_weight_zero_point"), DataType.Int8, qw.Params.ZeroPoints, scalar: !perColumn)));
        string product = _names.Next(prefix + "_int32");
        _nodes.Add(MakeNode("MatMulInteger", _names.Next(prefix + "_MatMulInteger"), inputs.ToArray(), product));
        string asFloat = _names.Next(prefix + "_int32_float");
        var cast = MakeNode("Cast", _names.Next(prefix + "_Cast"), new[] { product }, asFloat);
        cast.Attribute.Add(GraphBuilder.Attribute("to", (long)DataType.Float));
        _nodes.Add(cast);
        string multiplier = _names.Next(prefix + "_output_scale");
        _nodes.Add(MakeNode("Mul", _names.Next(prefix + "_scale_Mul"), new[] { xs, ws }, multiplier));

        float[]? bias = null;
        if (gemm && node.Input.Count > 2 && node.Input[2].Length > 0)
        {
            float beta = QdqLayerInfo.AttrF(node, "beta", 1f);
            var c = TensorProtos.ToFloats(_index.Initializers[node.Input[2]]);
            bias = c.Length == 1 ? Enumerable.Repeat(c[0] * beta, (int)n).ToArray() : c.Select(v => v * beta).ToArray();
        }
        string scaled = bias == null ? y : _names.Next(prefix + "_unbiased");
        _nodes.Add(MakeNode("Mul", _names.Next(prefix + "_output_Mul"), new[] { asFloat, multiplier }, scaled));
        if (bias == null) return;
        // The constant in slot 1, 1-D [N]: the shape ORT's MatMulIntegerToFloatFusion takes into the kernel.
        string b = AddInitializer(TensorProtos.FromFloats(_names.Next(prefix + "_bias"), bias, n));
        _nodes.Add(MakeNode("Add", _names.Next(prefix + "_bias_Add"), new[] { scaled, b }, y));
    }

    /// <summary>The float bias to quantize: the corrected one when the plan has it, else the prepared model's (Gemm: times beta, broadcast to N).</summary>
    private float[]? BiasFor(NodeProto node, QdqLayerInfo layer)
    {
        float[]? bias = null;
        if (_plan.CorrectedBiases.TryGetValue(layer.Layer.Node, out var corrected))
        {
            if (node.OpType == "MatMul" && layer.BiasAdd < 0)
                throw new PotException("BiasCorrectionUnsupported", PotErrorCategory.InvalidArgument,
                    $"Layer '{layer.Layer.Node}' is a MatMul without a bias Add; do not pass a corrected bias for it.", layer.Layer.Node);
            bias = corrected;
        }
        else if (layer.Bias != null)
        {
            bias = TensorProtos.ToFloats(_index.Initializers[layer.Bias]);
            if (node.OpType == "Gemm")
            {
                float beta = QdqLayerInfo.AttrF(node, "beta", 1f);
                if (bias.Length == 1) bias = Enumerable.Repeat(bias[0], layer.OutputChannels).ToArray();
                if (beta != 1f) bias = bias.Select(b => b * beta).ToArray();
            }
        }
        if (bias != null && bias.Length != layer.OutputChannels)
            throw new PotException("BiasShapeMismatch", PotErrorCategory.InvalidArgument,
                $"The bias for layer '{layer.Layer.Node}' has {bias.Length} values but the layer has {layer.OutputChannels} output channels.", layer.Layer.Node);
        return bias;
    }

    private static void SetFloatAttribute(NodeProto node, string name, float value)
    {
        var existing = node.Attribute.FirstOrDefault(a => a.Name == name);
        if (existing != null) node.Attribute.Remove(existing);
        if (value != 1f || name != "beta") node.Attribute.Add(GraphBuilder.Attribute(name, value));
    }

    private string AddInitializer(TensorProto t)
    {
        _newInitializers.Add(t);
        return t.Name;
    }

    private static TensorProto ZeroPoints(string name, DataType type, int[] values, bool scalar)
    {
        long[] dims = scalar ? Array.Empty<long>() : new long[] { values.Length };
        return type == DataType.Uint8
            ? TensorProtos.FromUInt8(name, values.Select(v => (byte)v).ToArray(), dims)
            : TensorProtos.FromInt8(name, values.Select(v => (sbyte)v).ToArray(), dims);
    }

    private static NodeProto MakeNode(string op, string name, string[] inputs, string output)
    {
        var n = new NodeProto { OpType = op, Name = name };
        n.Input.AddRange(inputs);
        n.Output.Add(output);
        return n;
    }
}
