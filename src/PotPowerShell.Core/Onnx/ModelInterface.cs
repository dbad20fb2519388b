using Google.Protobuf;
using Google.Protobuf.Reflection;
using Onnx;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// What a model file takes as data, read without its tensors: the main graph's inputs that are not initializers
/// (<see cref="ModelInspector.DataInputs"/>). Weights are most of a model's bytes: ArcticXs's 90 MB
/// (bench/Bench-AccuracyAware.ps1) gives its inputs in 22 ms this way and in 83-143 ms read whole, 270 ms in the first
/// read of a run (a trace of one AccuracyAware run).
/// </summary>
public static class ModelInterface
{
    // Field numbers of onnx.proto: ModelProto.graph 7, GraphProto.initializer 5 and input 11, TensorProto.name 8; all
    // length-delimited (wire type 2).
    private const uint GraphTag = (7 << 3) | 2, InitializerTag = (5 << 3) | 2, InputTag = (11 << 3) | 2, NameTag = (8 << 3) | 2;

    /// <summary>
    /// The data inputs of the model in <paramref name="path"/>: read without the weights, or from the whole model when
    /// that fails, whose read then says why the model is unreadable (ModelNotFound, ModelCorrupt ...).
    /// </summary>
    public static IReadOnlyList<ValueInfoProto> DataInputsOf(string path) =>
        DataInputs(path) ?? ModelInspector.DataInputs(OnnxModelFile.Load(path).Graph);

    /// <summary>The data inputs of the model in <paramref name="path"/>; null when it cannot be read this way (<see cref="OnnxModelFile.Load"/> says why).</summary>
    public static IReadOnlyList<ValueInfoProto>? DataInputs(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            var input = new CodedInputStream(stream);
            var graph = new GraphInterface();
            bool found = false;
            for (uint tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
            {
                if (tag != GraphTag || found) input.SkipLastField();
                else
                {
                    input.ReadMessage(graph);
                    found = true;
                }
            }
            return found ? graph.Inputs.Where(i => !graph.Initializers.Contains(i.Name)).ToList() : null;
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // GraphProto.node 1; NodeProto.input 1, output 2, op_type 4, attribute 5; AttributeProto.name 1, i 3 (a varint),
    // t 5, tensors 10; TensorProto.data_type 2 (a varint).
    private const uint NodeTag = (1 << 3) | 2, NodeInputTag = (1 << 3) | 2, NodeOutputTag = (2 << 3) | 2, OpTypeTag = (4 << 3) | 2, AttributeTag = (5 << 3) | 2,
        AttributeNameTag = (1 << 3) | 2, AttributeIntTag = 3 << 3, AttributeTensorTag = (5 << 3) | 2, AttributeTensorsTag = (10 << 3) | 2, DataTypeTag = 2 << 3;

    /// <summary>
    /// True when ONNX Runtime (1.31.1 and 1.32.0) may crash creating an ORT_ENABLE_ALL session of the model (see
    /// <see cref="Runtime.OrtSessions.Create"/>): its main graph holds a float16 or bfloat16 weight (an initializer, or a
    /// node's tensor attribute such as a Constant's), or a Transpose reads a 16-bit tensor that Casts or generators make
    /// inside it (or a 16-bit graph input), as mixed-precision exports do. ONNX Runtime crashed on a float16 Transpose
    /// before a MatMul by a weight, directly or through a Cast to float, and loaded a float16 Transpose before a Relu or
    /// a MatMul of two activations, and a float Transpose cast to float16 for a MatMul; every 16-bit Transpose is
    /// flagged, as the crash's exact pattern is ONNX Runtime's own (tests/PotPowerShell.Core.Tests/Runtime/HalfSessionTests.cs).
    /// A 16-bit interface behind Casts, as a widened export keeps it, is not flagged. Reads the tensors' types only,
    /// skipping their data, so it costs little next to creating a session from the same bytes; false for bytes that are
    /// not a model.
    /// </summary>
    public static bool MayCrashOptimized(byte[] model)
    {
        try
        {
            var input = new CodedInputStream(model);
            for (uint tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
            {
                if (tag != GraphTag) { input.SkipLastField(); continue; }
                var graph = new HalfScan();
                input.ReadMessage(graph);
                return graph.MayCrash();
            }
            return false;
        }
        catch (InvalidProtocolBufferException)
        {
            return false;
        }
    }

    /// <summary>A graph's nodes, its 16-bit inputs and whether a weight is 16-bit; tensors' data skipped.</summary>
    private sealed class HalfScan : Partial
    {
        private bool _halfWeight;
        private readonly HashSet<string> _half = new(StringComparer.Ordinal);
        private readonly List<NodeInfo> _nodes = new();

        public bool MayCrash() => _halfWeight || HalfTranspose();

        /// <summary>
        /// Follows 16-bit tensors through the nodes in order (ONNX keeps a graph's nodes sorted): a Cast makes its
        /// output 16-bit or not by its type, any other node reading one (or whose <c>to</c> or <c>dtype</c> names a
        /// 16-bit type) passes it on, except those that give shapes or sizes.
        /// </summary>
        private bool HalfTranspose()
        {
            foreach (var node in _nodes)
            {
                bool reads = node.Inputs.Any(_half.Contains);
                if (reads && node.OpType == "Transpose") return true;
                bool makes = node.OpType == "Cast" ? node.Names16Bit : (reads || node.Names16Bit) && node.OpType is not ("Shape" or "Size");
                if (makes) _half.UnionWith(node.Outputs);
            }
            return false;
        }

        public override void MergeFrom(CodedInputStream input)
        {
            for (uint tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
            {
                if (tag == InitializerTag)
                {
                    var type = new TensorType();
                    input.ReadMessage(type);
                    _halfWeight |= type.Half;
                }
                else if (tag == NodeTag)
                {
                    var node = new NodeInfo();
                    input.ReadMessage(node);
                    _nodes.Add(node);
                    _halfWeight |= node.HalfTensor;
                }
                else if (tag == InputTag)
                {
                    var value = new ValueInfoProto();
                    input.ReadMessage(value);
                    if (value.Type?.TensorType is { } t && HalfPrecision.IsHalf(t.ElemType)) _half.Add(value.Name);
                }
                else input.SkipLastField();
            }
        }
    }

    /// <summary>
    /// A node's inputs, outputs and op type, whether a <c>to</c> or <c>dtype</c> attribute names a 16-bit float type, and
    /// whether a tensor attribute is one; the tensors' data and subgraphs skipped.
    /// </summary>
    private sealed class NodeInfo : Partial
    {
        public List<string> Inputs { get; } = new();
        public List<string> Outputs { get; } = new();
        public string OpType { get; private set; } = "";
        public bool Names16Bit { get; private set; }
        public bool HalfTensor { get; private set; }

        public override void MergeFrom(CodedInputStream input)
        {
            for (uint tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
            {
                if (tag == NodeInputTag) Inputs.Add(input.ReadString());
                else if (tag == NodeOutputTag) Outputs.Add(input.ReadString());
                else if (tag == OpTypeTag) OpType = input.ReadString();
                else if (tag == AttributeTag)
                {
                    var attribute = new AttributeInfo();
                    input.ReadMessage(attribute);
                    Names16Bit |= attribute.Name is "to" or "dtype" && attribute.Int is long type && HalfPrecision.IsHalf((int)type);
                    HalfTensor |= attribute.HalfTensor;
                }
                else input.SkipLastField();
            }
        }
    }

    /// <summary>An attribute's name, its integer, and whether one of its tensors is 16-bit; everything else skipped.</summary>
    private sealed class AttributeInfo : Partial
    {
        public string Name { get; private set; } = "";
        public long? Int { get; private set; }
        public bool HalfTensor { get; private set; }

        public override void MergeFrom(CodedInputStream input)
        {
            for (uint tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
            {
                if (tag == AttributeNameTag) Name = input.ReadString();
                else if (tag == AttributeIntTag) Int = input.ReadInt64();
                else if (tag is AttributeTensorTag or AttributeTensorsTag)
                {
                    var type = new TensorType();
                    input.ReadMessage(type);
                    HalfTensor |= type.Half;
                }
                else input.SkipLastField();
            }
        }
    }

    /// <summary>A tensor's data type; its data skipped.</summary>
    private sealed class TensorType : Partial
    {
        public bool Half { get; private set; }

        public override void MergeFrom(CodedInputStream input)
        {
            for (uint tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
                if (tag == DataTypeTag) Half = HalfPrecision.IsHalf(input.ReadInt32());
                else input.SkipLastField();
        }
    }

    /// <summary>A graph's inputs and initializer names; every other field skipped.</summary>
    private sealed class GraphInterface : Partial
    {
        public List<ValueInfoProto> Inputs { get; } = new();
        public HashSet<string> Initializers { get; } = new(StringComparer.Ordinal);

        public override void MergeFrom(CodedInputStream input)
        {
            for (uint tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
            {
                if (tag == InputTag)
                {
                    var value = new ValueInfoProto();
                    input.ReadMessage(value);
                    Inputs.Add(value);
                }
                else if (tag == InitializerTag)
                {
                    var tensor = new TensorName();
                    input.ReadMessage(tensor);
                    Initializers.Add(tensor.Name);
                }
                else input.SkipLastField();
            }
        }
    }

    /// <summary>A tensor's name; its data skipped.</summary>
    private sealed class TensorName : Partial
    {
        public string Name { get; private set; } = "";

        public override void MergeFrom(CodedInputStream input)
        {
            for (uint tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
                if (tag == NameTag) Name = input.ReadString();
                else input.SkipLastField();
        }
    }

    /// <summary>A message read in part: only parsed, never written.</summary>
    private abstract class Partial : IMessage
    {
        public abstract void MergeFrom(CodedInputStream input);
        public void WriteTo(CodedOutputStream output) => throw new NotSupportedException();
        public int CalculateSize() => throw new NotSupportedException();
        public MessageDescriptor Descriptor => throw new NotSupportedException();
    }
}
