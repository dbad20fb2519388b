using Onnx;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// Copies of a model that share its nodes and tensors instead of cloning them: cheap even for large weights. The
/// copy's top-level lists (nodes, initializers, inputs, outputs) are its own, so adding to them leaves the source
/// unchanged; the shared elements themselves must not be edited.
/// </summary>
public static class ShallowCopy
{
    public static ModelProto Of(ModelProto model)
    {
        var graph = model.Graph;
        ModelProto copy;
        // Clone everything but the graph (metadata, opsets, functions are small), then rebuild the graph's lists.
        model.Graph = null;
        try { copy = model.Clone(); }
        finally { model.Graph = graph; }
        copy.Graph = Of(graph);
        return copy;
    }

    public static GraphProto Of(GraphProto graph)
    {
        var copy = new GraphProto { Name = graph.Name, DocString = graph.DocString };
        copy.Node.Add(graph.Node);
        copy.Initializer.Add(graph.Initializer);
        copy.SparseInitializer.Add(graph.SparseInitializer);
        copy.Input.Add(graph.Input);
        copy.Output.Add(graph.Output);
        copy.ValueInfo.Add(graph.ValueInfo);
        copy.QuantizationAnnotation.Add(graph.QuantizationAnnotation);
        copy.MetadataProps.Add(graph.MetadataProps);
        return copy;
    }
}
