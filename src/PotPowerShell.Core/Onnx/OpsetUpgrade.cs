using Onnx;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// Upgrades the default-domain nodes of an opset 7-12 graph to opset 13, only where the meaning is preserved (the ops
/// that changed between 7 and 8 - Max, Min, Mean, Sum broadcasting, MaxPool's indices output - only gained features):
/// <list type="bullet">
/// <item>Softmax/LogSoftmax/Hardmax: before 13 they coerce the input to 2-D at <c>axis</c>; kept as-is when the axis is
/// the last one, otherwise rewritten as Flatten(axis) -> op(axis=-1) -> Reshape(Shape(x)), which is equivalent for any shape;</item>
/// <item>Squeeze/Unsqueeze/ReduceSum axes, Split split: attribute -> int64 input;</item>
/// <item>Clip (&lt; 11) min/max, Slice (&lt; 10) starts/ends/axes, Pad (&lt; 11) pads/value, TopK (&lt; 10) k: attributes -> inputs;</item>
/// <item>Upsample (7, 9) and Resize-10 -> Resize-13 with coordinate_transformation_mode asymmetric and nearest_mode floor
/// (the old semantics); nearest downsampling with Resize-10 is refused (its rounding differs);</item>
/// <item>BatchNormalization (&lt; 9) spatial=1 dropped (spatial=0 is refused); Dropout with an unused mask -> Identity,
/// else its ratio attribute -> input; Scatter -> ScatterElements (same semantics).</item>
/// </list>
/// Every other op must be in <see cref="Unchanged"/> (ops whose defaults and semantics did not change up to 13);
/// anything else, and Loop/If/Scan (their bodies would need upgrading too), is refused with OpsetUnsupported naming
/// the op and node.
/// </summary>
public static class OpsetUpgrade
{
    /// <summary>
    /// Default-domain ops whose semantics are the same up to opset 13 (only types or negative axes added). Clip, Pad,
    /// Slice, TopK and Resize are listed for the opsets after their last breaking change; older forms are converted first.
    /// </summary>
    public static readonly IReadOnlySet<string> Unchanged = new HashSet<string>(StringComparer.Ordinal)
    {
        "Abs", "Acos", "Acosh", "Add", "And", "ArgMax", "ArgMin", "Asin", "Asinh", "Atan", "Atanh", "AveragePool",
        "BitShift", "Cast", "Ceil", "Celu", "Clip", "Compress", "Concat", "Constant", "ConstantOfShape", "Conv", "ConvInteger",
        "ConvTranspose", "Cos", "Cosh", "CumSum", "DepthToSpace", "DequantizeLinear", "Det", "Div", "DynamicQuantizeLinear",
        "Einsum", "Elu", "Equal", "Erf", "Exp", "Expand", "EyeLike", "Flatten", "Floor", "GRU", "Gather", "GatherElements",
        "GatherND", "Gemm", "GlobalAveragePool", "GlobalLpPool", "GlobalMaxPool", "Greater", "GreaterOrEqual", "HardSigmoid",
        "Identity", "InstanceNormalization", "IsInf", "IsNaN", "LRN", "LSTM", "LeakyRelu", "Less", "LessOrEqual", "Log",
        "LpNormalization", "LpPool", "MatMul", "MatMulInteger", "Max", "MaxPool", "MaxRoiPool", "MaxUnpool", "Mean",
        "MeanVarianceNormalization", "Min", "Mod", "Mul", "Neg", "NonMaxSuppression", "NonZero", "Not", "OneHot", "Or",
        "PRelu", "Pad", "Pow", "QLinearConv", "QLinearMatMul", "QuantizeLinear", "RNN", "Range", "Reciprocal", "ReduceL1", "ReduceL2",
        "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare", "Relu",
        "Reshape", "Resize", "ReverseSequence", "RoiAlign", "Round", "ScatterElements", "ScatterND", "Selu", "Shape", "Shrink",
        "Sigmoid", "Sign", "Sin", "Sinh", "Size", "Slice", "Softplus", "Softsign", "SpaceToDepth", "Sqrt", "Sub", "Sum", "Tan", "Tanh",
        "ThresholdedRelu", "Tile", "TopK", "Transpose", "Unique", "Where", "Xor",
    };

    /// <summary>
    /// Ops whose opset-7 definition broke with their older forms, and why (ONNX's Changelog). ONNX Runtime implements
    /// opset 7 and later only, so a model below 7 that uses one of them cannot even be checked after an upgrade.
    /// </summary>
    private static readonly IReadOnlyDictionary<string, string> ChangedAtOpset7 = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["Add"] = "broadcasting changed at opset 7 (the broadcast and axis attributes gave way to NumPy rules)",
        ["Sub"] = "broadcasting changed at opset 7 (the broadcast and axis attributes gave way to NumPy rules)",
        ["Mul"] = "broadcasting changed at opset 7 (the broadcast and axis attributes gave way to NumPy rules)",
        ["Div"] = "broadcasting changed at opset 7 (the broadcast and axis attributes gave way to NumPy rules)",
        ["Pow"] = "broadcasting changed at opset 7 (the broadcast and axis attributes gave way to NumPy rules)",
        ["PRelu"] = "broadcasting of the slope changed at opset 7",
        ["And"] = "broadcasting changed at opset 7", ["Or"] = "broadcasting changed at opset 7", ["Xor"] = "broadcasting changed at opset 7",
        ["Equal"] = "broadcasting changed at opset 7", ["Greater"] = "broadcasting changed at opset 7", ["Less"] = "broadcasting changed at opset 7",
        ["Gemm"] = "the broadcast attribute for C was replaced by unidirectional broadcasting at opset 7",
        ["BatchNormalization"] = "its is_test and consumed_inputs attributes were removed at opset 6 and 7",
        ["Dropout"] = "its is_test attribute was removed at opset 7",
        ["LSTM"] = "its inputs and outputs changed at opset 7", ["GRU"] = "its inputs and outputs changed at opset 7", ["RNN"] = "its inputs and outputs changed at opset 7",
        ["Reshape"] = "its shape moved from an attribute to an input at opset 5",
        ["Upsample"] = "it was experimental before opset 7",
    };

    /// <summary>
    /// The refusal for a model below <paramref name="minimum"/>: names the first node whose op changed meaning at
    /// opset 7 or earlier (or that carries the consumed_inputs attribute of opsets before 6), else the first node.
    /// </summary>
    public static PotException BelowMinimum(GraphProto graph, long opset, long minimum)
    {
        var nodes = graph.Node.Where(n => OpCatalog.IsDefaultDomain(n.Domain)).ToList();
        var legacy = nodes.Select(n => (Node: n, Why: n.Attribute.Any(a => a.Name == "consumed_inputs")
                ? "it carries the consumed_inputs attribute of opsets before 6"
                : ChangedAtOpset7.GetValueOrDefault(n.OpType)))
            .FirstOrDefault(x => x.Why != null);
        var (node, why) = legacy.Node != null ? legacy
            : nodes.Count > 0 ? (nodes[0], $"it is defined by opset {opset}, which ONNX Runtime does not implement")
            : (null, null);
        string blocker = node == null ? "" : $" op {node.OpType} (node '{node.Name}') blocks an upgrade because {why}.";
        return new PotException("OpsetUnsupported", PotErrorCategory.InvalidData,
            $"The model uses ONNX opset {opset}; opsets below {minimum} cannot be quantized.{blocker} Re-export the model with opset 13 or later.",
            node?.Name ?? "opset");
    }

    /// <summary>Upgrades <paramref name="graph"/> in place (callers pass a clone) from <paramref name="opset"/> to 13.</summary>
    public static void Upgrade(GraphProto graph, long opset)
    {
        var index = new GraphIndex(graph);
        var names = new UniqueNames(index.AllNames());
        var rewriter = new Rewriter(graph, index, names, opset);
        var nodes = new List<NodeProto>();
        foreach (var node in graph.Node)
        {
            if (!OpCatalog.IsDefaultDomain(node.Domain)) { nodes.Add(node); continue; }
            nodes.AddRange(rewriter.Rewrite(node));
        }
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        graph.Initializer.AddRange(rewriter.NewInitializers);
    }

    private sealed class Rewriter
    {
        private readonly GraphProto _graph;
        private readonly GraphIndex _index;
        private readonly UniqueNames _names;
        private readonly long _opset;

        public Rewriter(GraphProto graph, GraphIndex index, UniqueNames names, long opset)
        {
            _graph = graph;
            _index = index;
            _names = names;
            _opset = opset;
        }

        public List<TensorProto> NewInitializers { get; } = new();

        public IEnumerable<NodeProto> Rewrite(NodeProto node)
        {
            switch (node.OpType)
            {
                case "Softmax" or "LogSoftmax" or "Hardmax":
                    return Coerced2D(node);
                case "Squeeze" or "Unsqueeze" or "ReduceSum":
                    MoveIntsToInput(node, "axes", 1);
                    return new[] { node };
                case "Split":
                    MoveIntsToInput(node, "split", 1);
                    return new[] { node };
                case "Clip" when _opset < 11:
                    MoveFloatToInput(node, "min", 1);
                    MoveFloatToInput(node, "max", 2);
                    TrimTrailingEmptyInputs(node);
                    return new[] { node };
                case "Slice" when _opset < 10:
                    var axes = TakeInts(node, "axes");
                    MoveIntsToInput(node, "starts", 1);
                    MoveIntsToInput(node, "ends", 2);
                    if (axes != null) SetInput(node, 3, Int64Initializer(node.Name + "_axes", axes));
                    return new[] { node };
                case "Pad" when _opset < 11:
                    MoveIntsToInput(node, "pads", 1);
                    var value = node.Attribute.FirstOrDefault(a => a.Name == "value");
                    if (value != null)
                    {
                        node.Attribute.Remove(value);
                        if (value.F != 0f) SetInput(node, 2, FloatInitializer(node.Name + "_constant_value", value.F, scalar: true));
                    }
                    return new[] { node };
                case "TopK" when _opset < 10:
                    var k = TakeInt(node, "k") ?? throw Unsupported(node, "it has no k attribute");
                    SetInput(node, 1, Int64Initializer(node.Name + "_k", new[] { k }));
                    return new[] { node };
                case "Upsample":
                    return new[] { UpsampleToResize(node) };
                case "Resize" when _opset < 11:
                    return new[] { Resize10To13(node) };
                case "BatchNormalization":
                    if (_opset < 9)
                    {
                        var spatial = node.Attribute.FirstOrDefault(a => a.Name == "spatial");
                        if (spatial != null && spatial.I == 0) throw Unsupported(node, "spatial=0 (per-activation statistics) has no opset-13 equivalent");
                        if (spatial != null) node.Attribute.Remove(spatial);
                    }
                    foreach (var a in node.Attribute.Where(a => a.Name == "is_test").ToList()) node.Attribute.Remove(a);
                    return new[] { node };
                case "Dropout":
                    return new[] { Dropout(node) };
                case "Scatter" when _opset < 11:
                    node.OpType = "ScatterElements";
                    return new[] { node };
                case "Loop" or "If" or "Scan":
                    throw Unsupported(node, "its subgraph would need upgrading as well");
                default:
                    if (Unchanged.Contains(node.OpType)) return new[] { node };
                    throw Unsupported(node, "its opset-13 semantics are not known to match");
            }
        }

        private PotException Unsupported(NodeProto node, string why) =>
            new("OpsetUnsupported", PotErrorCategory.InvalidData,
                $"The model uses opset {_opset} and cannot be upgraded to opset 13: op {node.OpType} (node '{node.Name}') blocks it because {why}. " +
                "Re-export the model with opset 13 or later.", node.Name);

        // Before opset 13 these ops flatten the input to 2-D at 'axis' and normalize over the second dimension.
        private IEnumerable<NodeProto> Coerced2D(NodeProto node)
        {
            long axis = TakeInt(node, "axis") ?? 1;
            int rank = Rank(node.Input[0]);
            if (axis == -1 || (rank > 0 && (axis == rank - 1 || axis == -1)))
            {
                node.Attribute.Add(GraphBuilder.Attribute("axis", -1L));
                return new[] { node };
            }
            string x = node.Input[0], y = node.Output[0];
            string flat = _names.Next(node.Name + "_flat");
            string shape = _names.Next(node.Name + "_shape");
            string normalized = _names.Next(node.Name + "_2d");
            var flatten = Make("Flatten", _names.Next(node.Name + "_Flatten"), new[] { x }, flat);
            flatten.Attribute.Add(GraphBuilder.Attribute("axis", axis));
            node.Input[0] = flat;
            node.Output[0] = normalized;
            node.Attribute.Add(GraphBuilder.Attribute("axis", -1L));
            var shapeOf = Make("Shape", _names.Next(node.Name + "_Shape"), new[] { x }, shape);
            var reshape = Make("Reshape", _names.Next(node.Name + "_Reshape"), new[] { normalized, shape }, y);
            return new[] { flatten, node, shapeOf, reshape };
        }

        /// <summary>Rank from declared shapes, or 2 for producers that always give 2-D; 0 when unknown.</summary>
        private int Rank(string tensor)
        {
            var declared = _graph.Input.Concat(_graph.ValueInfo).Concat(_graph.Output).FirstOrDefault(v => v.Name == tensor);
            if (declared?.Type?.TensorType?.Shape != null) return declared.Type.TensorType.Shape.Dim.Count;
            int p = _index.Producer(tensor);
            return p >= 0 && _index.Node(p).OpType is "Gemm" or "Flatten" ? 2 : 0;
        }

        private NodeProto UpsampleToResize(NodeProto node)
        {
            string mode = TakeString(node, "mode") ?? "nearest";
            string scales;
            if (node.Input.Count > 1 && node.Input[1].Length > 0) scales = node.Input[1];
            else
            {
                var attr = node.Attribute.FirstOrDefault(a => a.Name == "scales") ?? throw Unsupported(node, "it has no scales");
                node.Attribute.Remove(attr);
                scales = FloatsInitializer(node.Name + "_scales", attr.Floats.ToArray());
            }
            return ResizeNode(node, node.Input[0], scales, mode, "floor");
        }

        private NodeProto Resize10To13(NodeProto node)
        {
            string mode = TakeString(node, "mode") ?? "nearest";
            string scales = node.Input[1];
            if (mode == "nearest")
            {
                // Opset-10 nearest rounds like Upsample for enlarging; refuse what we cannot prove equal.
                if (!_index.Initializers.TryGetValue(scales, out var s) || TensorProtos.ToFloats(s).Any(v => v < 1f))
                    throw Unsupported(node, "nearest resizing with non-constant or downsampling scales rounds differently in opset 13");
            }
            return ResizeNode(node, node.Input[0], scales, mode, "floor");
        }

        private NodeProto ResizeNode(NodeProto old, string x, string scales, string mode, string nearestMode)
        {
            var resize = Make("Resize", old.Name, new[] { x, "", scales }, old.Output[0]);
            resize.Attribute.Add(GraphBuilder.Attribute("mode", mode));
            resize.Attribute.Add(GraphBuilder.Attribute("coordinate_transformation_mode", "asymmetric"));
            if (mode == "nearest") resize.Attribute.Add(GraphBuilder.Attribute("nearest_mode", nearestMode));
            return resize;
        }

        private NodeProto Dropout(NodeProto node)
        {
            float ratio = node.Attribute.FirstOrDefault(a => a.Name == "ratio")?.F ?? 0.5f;
            foreach (var a in node.Attribute.Where(a => a.Name is "ratio" or "is_test").ToList()) node.Attribute.Remove(a);
            bool maskUsed = node.Output.Count > 1 && node.Output[1].Length > 0
                && (_index.Consumers(node.Output[1]).Count > 0 || _index.GraphOutputs.Contains(node.Output[1]));
            if (!maskUsed)
            {
                var identity = Make("Identity", node.Name, new[] { node.Input[0] }, node.Output[0]);
                return identity;
            }
            if (node.Input.Count < 2) SetInput(node, 1, FloatInitializer(node.Name + "_ratio", ratio, scalar: true));
            return node;
        }

        private void MoveIntsToInput(NodeProto node, string attr, int slot)
        {
            var values = TakeInts(node, attr);
            if (values != null) SetInput(node, slot, Int64Initializer(node.Name + "_" + attr, values));
        }

        private void MoveFloatToInput(NodeProto node, string attr, int slot)
        {
            var a = node.Attribute.FirstOrDefault(x => x.Name == attr);
            if (a == null) return;
            node.Attribute.Remove(a);
            SetInput(node, slot, FloatInitializer(node.Name + "_" + attr, a.F, scalar: true));
        }

        private static void SetInput(NodeProto node, int slot, string name)
        {
            while (node.Input.Count <= slot) node.Input.Add("");
            node.Input[slot] = name;
        }

        private static void TrimTrailingEmptyInputs(NodeProto node)
        {
            while (node.Input.Count > 0 && node.Input[^1].Length == 0) node.Input.RemoveAt(node.Input.Count - 1);
        }

        private static long[]? TakeInts(NodeProto node, string name)
        {
            var a = node.Attribute.FirstOrDefault(x => x.Name == name);
            if (a == null) return null;
            node.Attribute.Remove(a);
            return a.Ints.ToArray();
        }

        private static long? TakeInt(NodeProto node, string name)
        {
            var a = node.Attribute.FirstOrDefault(x => x.Name == name);
            if (a == null) return null;
            node.Attribute.Remove(a);
            return a.I;
        }

        private static string? TakeString(NodeProto node, string name)
        {
            var a = node.Attribute.FirstOrDefault(x => x.Name == name);
            if (a == null) return null;
            node.Attribute.Remove(a);
            return a.S.ToStringUtf8();
        }

        private string Int64Initializer(string name, long[] values)
        {
            var t = TensorProtos.FromInt64(_names.Next(name), values, values.Length);
            NewInitializers.Add(t);
            return t.Name;
        }

        private string FloatInitializer(string name, float value, bool scalar)
        {
            var t = scalar ? TensorProtos.FromFloats(_names.Next(name), new[] { value }) : TensorProtos.FromFloats(_names.Next(name), new[] { value }, 1);
            NewInitializers.Add(t);
            return t.Name;
        }

        private string FloatsInitializer(string name, float[] values)
        {
            var t = TensorProtos.FromFloats(_names.Next(name), values, values.Length);
            NewInitializers.Add(t);
            return t.Name;
        }

        private static NodeProto Make(string op, string name, string[] inputs, string output)
        {
            var n = new NodeProto { OpType = op, Name = name };
            n.Input.AddRange(inputs);
            n.Output.Add(output);
            return n;
        }
    }
}
