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

    // GraphProto.node 1, NodeProto.attribute 5, AttributeProto.t 5 (messages); TensorProto.data_type 2 (a varint).
    private const uint NodeTag = (1 << 3) | 2, AttributeTag = (5 << 3) | 2, TensorTag = (5 << 3) | 2, DataTypeTag = 2 << 3;

    /// <summary>
    /// True when the model's main graph holds a float16 or bfloat16 weight: an initializer, or a tensor attribute of a
    /// node (a Constant). Reads only the tensors' types, skipping their data and every other field, so it costs little
    /// next to creating a session from the same bytes; false for bytes that are not a model.
    /// </summary>
    public static bool HoldsHalfWeights(byte[] model)
    {
        try
        {
            var input = new CodedInputStream(model);
            for (uint tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
            {
                if (tag != GraphTag) { input.SkipLastField(); continue; }
                var graph = new Scan(child => child == InitializerTag ? new TensorType() : child == NodeTag ? new Scan(NodeChild) : null);
                input.ReadMessage(graph);
                return graph.Found;
            }
            return false;
        }
        catch (InvalidProtocolBufferException)
        {
            return false;
        }
    }

    private static Scan? NodeChild(uint tag) => tag == AttributeTag ? new Scan(t => t == TensorTag ? new TensorType() : null) : null;

    /// <summary>Reads the fields <c>child</c> gives a scan for (null: skipped) until one of them finds a 16-bit float type.</summary>
    private class Scan(Func<uint, Scan?> child) : Partial
    {
        public bool Found { get; protected set; }

        public override void MergeFrom(CodedInputStream input)
        {
            // A message is read to its end (the stream checks that), the rest skipped once found.
            for (uint tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
            {
                if (!Found && Read(input, tag)) continue;
                if (Found || child(tag) is not { } inner) { input.SkipLastField(); continue; }
                input.ReadMessage(inner);
                Found = inner.Found;
            }
        }

        /// <summary>Reads a field of the message itself; false when it is not one.</summary>
        protected virtual bool Read(CodedInputStream input, uint tag) => false;
    }

    /// <summary>A tensor's data type; its data skipped.</summary>
    private sealed class TensorType() : Scan(_ => null)
    {
        protected override bool Read(CodedInputStream input, uint tag)
        {
            if (tag != DataTypeTag) return false;
            Found = HalfPrecision.IsHalf(input.ReadInt32());
            return true;
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
