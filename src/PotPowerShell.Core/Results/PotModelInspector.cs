using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Results;

/// <summary>Builds the <see cref="PotModel"/> summary of a model file (what Import-PotModel returns).</summary>
public static class PotModelInspector
{
    /// <summary>Reads the model and checks that ONNX Runtime can load it, so a broken model is reported here and not mid-way through quantization.</summary>
    public static PotModel Inspect(string path)
    {
        var model = OnnxModelFile.Load(path);
        using (var options = OrtSessions.Options(Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_DISABLE_ALL, threads: 1))
        using (OrtSessions.Create(model.ToByteArray(), options, path)) { }
        return Describe(model, path);
    }

    public static PotModel Describe(ModelProto model, string path)
    {
        var graph = AsQuantized(model);
        int constants = graph.Node.Count(n => n.OpType == "Constant" && OpCatalog.IsDefaultDomain(n.Domain));
        int initializers = graph.Initializer.Count;
        var storage = (initializers > 0, constants > 0) switch
        {
            (true, true) => WeightStorage.Mixed,
            (true, false) => WeightStorage.Initializers,
            (false, true) => WeightStorage.ConstantNodes,
            _ => WeightStorage.None,
        };
        return new PotModel
        {
            Path = path,
            Name = graph.Name.Length > 0 ? graph.Name : System.IO.Path.GetFileNameWithoutExtension(path),
            Opset = ModelInspector.DefaultOpset(model),
            IrVersion = model.IrVersion,
            Producer = (model.ProducerName + " " + model.ProducerVersion).Trim(),
            Inputs = ModelInspector.DataInputs(graph).Select(Describe).ToList(),
            Outputs = graph.Output.Select(Describe).ToList(),
            NodeCount = graph.Node.Count,
            OpTypes = graph.Node.GroupBy(n => n.OpType).Select(g => new OpTypeCount(g.Key, g.Count()))
                .OrderByDescending(c => c.Count).ThenBy(c => c.OpType, StringComparer.Ordinal).ToList(),
            QuantizableLayerCount = graph.Node.Count(n => OpCatalog.IsDefaultDomain(n.Domain) && OpCatalog.WeightedLayers.Contains(n.OpType)),
            SubgraphLayerCount = SubgraphLayers.Find(graph).Count,
            WeightStorage = storage,
            InitializerCount = initializers,
            ConstantNodeCount = constants,
            FileSize = File.Exists(path) ? new FileInfo(path).Length : model.CalculateSize(),
            IsQuantized = graph.Node.Any(n => OpCatalog.IsQuantizationOp(n.OpType)),
            Nodes = Nodes(graph),
        };
    }

    /// <summary>Every node with the name quantization gives it; Quantizable as <see cref="PotModel.QuantizableLayerCount"/> counts.</summary>
    public static IReadOnlyList<NodeDescription> Nodes(ModelProto model) => Nodes(AsQuantized(model));

    /// <summary>
    /// The main graph as quantization sees it: calls of model-local functions replaced by their bodies
    /// (<see cref="FunctionInlining"/>, after naming the calls as <see cref="ModelPreparation"/> does). The model is not changed.
    /// </summary>
    private static GraphProto AsQuantized(ModelProto model)
    {
        if (model.Functions.Count == 0) return model.Graph;
        var copy = ShallowCopy.Of(model);
        var nodes = copy.Graph.Node.Select(n => n.Clone()).ToList();
        copy.Graph.Node.Clear();
        copy.Graph.Node.AddRange(nodes);
        NodeNaming.NameNodes(copy.Graph);
        FunctionInlining.Inline(copy);
        return copy.Graph;
    }

    private static IReadOnlyList<NodeDescription> Nodes(GraphProto graph)
    {
        var names = NodeNaming.Names(graph);
        return graph.Node.Select((n, i) => new NodeDescription(names[i], n.OpType,
            OpCatalog.IsDefaultDomain(n.Domain) && OpCatalog.WeightedLayers.Contains(n.OpType))).ToList();
    }

    public static TensorDescription Describe(ValueInfoProto value)
    {
        var tensor = value.Type?.TensorType;
        string type = tensor == null ? "unknown" : ModelInspector.ElementTypeName(tensor.ElemType);
        var shape = tensor?.Shape?.Dim.Select(d => d.ValueCase switch
        {
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => d.DimValue.ToString(),
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => d.DimParam,
            _ => "?",
        }).ToList() ?? new List<string>();
        return new TensorDescription(value.Name, type, shape);
    }
}
