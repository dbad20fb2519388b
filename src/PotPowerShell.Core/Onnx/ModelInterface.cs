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
