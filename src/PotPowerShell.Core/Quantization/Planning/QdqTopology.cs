using Onnx;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// Decides, from the graph alone (no ranges), which nodes run INT8 and which tensors get an activation quantizer
/// (one Q plus one shared DQ). TensorsToCalibrate and Emit both use it, so the emitter never asks for a range the
/// calibration did not collect; reverting more layers only removes quantizers, never adds new roots.
/// <para>Rules (ARCHITECTURE.md, QDQ rules 2 and 4):</para>
/// <list type="bullet">
/// <item>Nodes in the float set (ignored scope, reverted layers) stay float, whatever their op type.</item>
/// <item>Weighted layers not in the float set are INT8. Conv/ConvTranspose always quantize their output (QLinearConv
/// needs the Q); MatMul/Gemm only when an INT8 consumer reads it (otherwise MatMulIntegerToFloat / QGemm with float
/// output), or when a MatMul feeds a single Add that is not its bias (see <see cref="FeedsOnlyAnAdd"/>).</item>
/// <item>A Relu, or a Clip(0, max), that is the only consumer of an INT8 producer's output is absorbed: the quantizer
/// sits on its output and gets zp = qmin, so ORT removes it. After an INT8 MatMul or Gemm whose output is not quantized,
/// it is written as Max/Min instead (see <see cref="NeedsMaxForm"/>).</item>
/// <item>Add/Mul/Concat/AveragePool/GlobalAveragePool/LeakyRelu/Sigmoid are INT8 when every data input comes from an
/// INT8 producer (so their inputs exist only dequantized anyway) and an INT8 node consumes their output.</item>
/// <item>Data-movement ops (Reshape, Transpose, MaxPool, ...) are INT8 when an INT8 node consumes their output; their
/// output shares the input's quantizer (its root), so ORT drops the DQ/Q pair around them.</item>
/// </list>
/// </summary>
internal sealed class QdqTopology
{
    private readonly Dictionary<int, QdqLayerInfo> _layerAt = new();
    private readonly HashSet<int> _biasAdds = new();
    private readonly bool[] _int8;
    private readonly bool[] _emitsQ;
    private readonly Dictionary<string, string> _root = new(StringComparer.Ordinal);
    private readonly HashSet<string> _fused = new(StringComparer.Ordinal);
    private readonly IReadOnlySet<string> _floatNodes;
    private readonly HashSet<int> _maxForm = new();

    public QdqTopology(GraphIndex index, IReadOnlySet<string> floatLayers)
    {
        Index = index;
        _floatNodes = floatLayers;
        Layers = QdqLayerInfo.Find(index);
        foreach (var l in Layers)
        {
            _layerAt[l.NodeIndex] = l;
            if (l.BiasAdd >= 0) _biasAdds.Add(l.BiasAdd);
        }
        int n = index.Graph.Node.Count;
        _int8 = new bool[n];
        _emitsQ = new bool[n];

        var candidate = Forward(floatLayers);
        Backward(candidate);
        CollectQuantizers();
        foreach (var l in Layers)
        {
            if (!_int8[l.NodeIndex] || Index.Node(l.NodeIndex).OpType is not ("MatMul" or "Gemm")) continue;
            string end = ChainEnd(l.NodeIndex, out int clip);
            if (clip >= 0 && !_root.ContainsKey(end)) _maxForm.Add(clip);
        }
    }

    public GraphIndex Index { get; }
    public List<QdqLayerInfo> Layers { get; }

    /// <summary>Tensors with an activation quantizer, in emission order (graph inputs, then by producer).</summary>
    public List<string> Quantized { get; } = new();

    public QdqLayerInfo? LayerAt(int node) => _layerAt.GetValueOrDefault(node);
    public bool IsInt8(int node) => _int8[node];

    /// <summary>The calibrated tensor whose parameters a quantized tensor uses (itself unless shared through data movement).</summary>
    public string Root(string tensor) => _root[tensor];
    public bool HasQuantizer(string tensor) => _root.ContainsKey(tensor);

    /// <summary>True when the tensor's producer is fused with its Q, so every consumer must read the DQ.</summary>
    public bool ProducerFused(string tensor) => _fused.Contains(tensor);

    /// <summary>True when input slot <paramref name="input"/> of an INT8 node takes a quantized activation.</summary>
    public bool IsQuantizedSlot(int node, int input)
    {
        if (!_int8[node]) return false;
        if (_layerAt.TryGetValue(node, out var layer)) return layer.IsActivationInput(input);
        return QdqOpKinds.IsDataInput(QdqOpKinds.Of(Index.Node(node)), input);
    }

    /// <summary>
    /// True for a node the ignored scope keeps float that ORT would fuse anyway: an op with a QLinear kernel (Add, Mul,
    /// Concat, pools, LeakyRelu, Sigmoid) whose output is quantized for an INT8 consumer, directly or after a Relu/Clip
    /// ORT removes. Its inputs are dequantized (they come from INT8 producers), so DQ -> op -> Q would become the INT8
    /// kernel; the writer puts Max(y, y), an exact identity ORT does not remove, between the op and the Q.
    /// </summary>
    public bool NeedsFusionBarrier(int node)
    {
        var n = Index.Node(node);
        if (!_floatNodes.Contains(n.Name) || _layerAt.ContainsKey(node) || _biasAdds.Contains(node)) return false;
        if (QdqOpKinds.Of(n) is not (QdqOpKind.Binary or QdqOpKind.Variadic or QdqOpKind.Unary)) return false;
        string output = n.Output[0];
        if (_root.ContainsKey(output)) return true;
        var consumers = Index.Consumers(output);
        return consumers.Count == 1 && IsRemovableClip(Index.Node(consumers[0].Node)) && _root.ContainsKey(Index.Node(consumers[0].Node).Output[0]);
    }

    /// <summary>
    /// True for the Relu or Clip(0, m) right after an INT8 MatMul or Gemm (or its bias Add) when no quantizer follows it:
    /// its consumers are float. ONNX Runtime 1.31 does not fuse DQ -> MatMul -> Relu -> float op (nor Clip, nor Gemm,
    /// which it fuses with the Relu in float): the layer would run on dequantized weights, slower than float. Written as
    /// Max(x, 0), and Min(Max(x, 0), m) for the Clip, the same values, it stays MatMulIntegerToFloat or QGemm
    /// (QdqEmitterReluTests shows both forms).
    /// </summary>
    public bool NeedsMaxForm(int node) => _maxForm.Contains(node);

    /// <summary>Roots to calibrate, each once, in emission order.</summary>
    public List<string> Roots() => Quantized.Select(Root).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>The tensor a producer's quantizer goes on: its output, or the output of an absorbable Relu/Clip after it.</summary>
    public string ChainEnd(int node, out int clip)
    {
        clip = -1;
        // A MatMul's bias Add belongs to the layer: the quantizer goes after it.
        int last = _layerAt.TryGetValue(node, out var layer) && layer.BiasAdd >= 0 ? layer.BiasAdd : node;
        string output = Index.Node(last).Output[0];
        if (Index.GraphOutputs.Contains(output)) return output;
        var consumers = Index.Consumers(output);
        if (consumers.Count == 1 && consumers[0].Input == 0 && IsRemovableClip(Index.Node(consumers[0].Node)))
        {
            clip = consumers[0].Node;
            return Index.Node(clip).Output[0];
        }
        return output;
    }

    /// <summary>Relu, or Clip with a constant min of exactly 0 and a finite constant max (then ORT's redundancy check passes).</summary>
    public bool IsRemovableClip(NodeProto node)
    {
        if (!OpCatalog.IsDefaultDomain(node.Domain) || node.Output.Count != 1) return false;
        if (node.OpType == "Relu") return true;
        if (node.OpType != "Clip") return false;
        var (min, max) = ClipBounds(node);
        return min == 0f && max is > 0f && float.IsFinite(max.Value);
    }

    /// <summary>Constant Clip bounds (opset 11+ inputs); null when absent or not constant.</summary>
    public (float? Min, float? Max) ClipBounds(NodeProto node)
    {
        float? Read(int k)
        {
            if (node.Input.Count <= k || node.Input[k].Length == 0) return null;
            if (!Index.Initializers.TryGetValue(node.Input[k], out var t) || TensorProtos.ElementCount(t) != 1) return null;
            return TensorProtos.ToFloats(t)[0];
        }
        return (Read(1), Read(2));
    }

    private bool[] Forward(IReadOnlySet<string> floatLayers)
    {
        int n = Index.Graph.Node.Count;
        var candidate = new bool[n];
        var available = new HashSet<string>(StringComparer.Ordinal);
        bool Available(string t) => t.Length > 0 && available.Contains(t) && Index.IsFloat(t);
        for (int i = 0; i < n; i++)
        {
            var node = Index.Node(i);
            if (_biasAdds.Contains(i)) continue;
            if (_layerAt.TryGetValue(i, out _))
            {
                candidate[i] = !floatLayers.Contains(node.Name);
                if (candidate[i]) available.Add(ChainEnd(i, out _));
                continue;
            }
            // The ignored scope keeps any quantizable op in float, not only weighted layers.
            if (floatLayers.Contains(node.Name)) continue;
            switch (QdqOpKinds.Of(node))
            {
                case QdqOpKind.Binary or QdqOpKind.Variadic:
                    candidate[i] = node.Input.Count > 0 && node.Input.All(Available);
                    if (candidate[i]) available.Add(ChainEnd(i, out _));
                    break;
                case QdqOpKind.Unary:
                    candidate[i] = Available(node.Input[0]);
                    if (candidate[i]) available.Add(ChainEnd(i, out _));
                    break;
                case QdqOpKind.Shared:
                    // Data movement can also be INT8 after a float producer (backward); here it only passes availability on.
                    candidate[i] = node.Input[0].Length > 0 && !Index.IsInitializer(node.Input[0]) && Index.IsFloat(node.Input[0]);
                    if (candidate[i] && Available(node.Input[0])) available.UnionWith(DataOutputs(node));
                    break;
            }
        }
        return candidate;
    }

    private void Backward(bool[] candidate)
    {
        for (int i = Index.Graph.Node.Count - 1; i >= 0; i--)
        {
            if (!candidate[i]) continue;
            var node = Index.Node(i);
            bool consumed = QdqOpKinds.Of(node) == QdqOpKind.Shared
                ? DataOutputs(node).Any(HasInt8Consumer)
                : HasInt8Consumer(ChainEnd(i, out _));
            if (_layerAt.ContainsKey(i))
            {
                _int8[i] = true;
                _emitsQ[i] = node.OpType is "Conv" or "ConvTranspose" || consumed || FeedsOnlyAnAdd(i);
            }
            else
            {
                _int8[i] = consumed;
                _emitsQ[i] = consumed;
            }
        }
    }

    /// <summary>
    /// A MatMul whose output goes only into an Add (not its own bias Add): ORT's MatMulAddFusion would turn the pair
    /// into a Gemm with a float C input, which no INT8 kernel accepts, so the MatMul would run in float. Quantizing
    /// the MatMul's output gives it a Q consumer instead and keeps it INT8.
    /// </summary>
    private bool FeedsOnlyAnAdd(int node)
    {
        var n = Index.Node(node);
        if (n.OpType != "MatMul" || _layerAt[node].BiasAdd >= 0 || Index.GraphOutputs.Contains(n.Output[0])) return false;
        var consumers = Index.Consumers(n.Output[0]);
        return consumers.Count == 1 && Index.Node(consumers[0].Node).OpType == "Add";
    }

    private static string[] DataOutputs(NodeProto node) => node.Output.Where(o => o.Length > 0).ToArray();

    private bool HasInt8Consumer(string tensor) =>
        Index.Consumers(tensor).Any(c => IsQuantizedSlot(c.Node, c.Input));

    private void CollectQuantizers()
    {
        var needed = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < _int8.Length; i++)
        {
            if (_emitsQ[i])
            {
                var node = Index.Node(i);
                var outputs = QdqOpKinds.Of(node) == QdqOpKind.Shared ? DataOutputs(node) : new[] { ChainEnd(i, out _) };
                needed.UnionWith(outputs);
                _fused.UnionWith(outputs);
            }
            if (!_int8[i]) continue;
            var inputs = Index.Node(i).Input;
            for (int k = 0; k < inputs.Count; k++)
                if (inputs[k].Length > 0 && IsQuantizedSlot(i, k)) needed.Add(inputs[k]);
        }
        // Emission order: graph inputs in declaration order, then tensors in the order their producers appear.
        foreach (var input in Index.Graph.Input)
            if (needed.Contains(input.Name) && Index.GraphInputs.Contains(input.Name)) Quantized.Add(input.Name);
        for (int i = 0; i < _int8.Length; i++)
            foreach (var o in Index.Node(i).Output)
                if (o.Length > 0 && needed.Contains(o)) Quantized.Add(o);
        if (Quantized.Count != needed.Count)
        {
            var orphan = needed.Except(Quantized).OrderBy(s => s, StringComparer.Ordinal).First();
            throw new PotException("GraphInvalid", PotErrorCategory.InvalidData,
                $"Tensor '{orphan}' is consumed by a node but neither produced by any node nor declared as a graph input.", orphan);
        }
        foreach (var t in Quantized)
        {
            int p = Index.Producer(t);
            _root[t] = p >= 0 && _int8[p] && QdqOpKinds.Of(Index.Node(p)) == QdqOpKind.Shared
                ? _root[Index.Node(p).Input[0]]
                : t;
        }
    }
}
