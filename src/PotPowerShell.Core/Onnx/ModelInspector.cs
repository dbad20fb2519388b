using Onnx;

namespace PotPowerShell.Core.Onnx;

/// <summary>Facts about a model that the graph passes need: its default-domain opset, element type names.</summary>
public static class ModelInspector
{
    /// <summary>The opset of the default domain (1 when the model does not say, as the ONNX spec implies).</summary>
    public static long DefaultOpset(ModelProto model) =>
        model.OpsetImport.Where(o => OpCatalog.IsDefaultDomain(o.Domain)).Select(o => o.Version).DefaultIfEmpty(1).Max();

    /// <summary>The inputs a caller feeds: graph inputs that are not initializers (ONNX before IR 4 listed initializers as inputs too).</summary>
    public static IReadOnlyList<ValueInfoProto> DataInputs(GraphProto graph)
    {
        var initializers = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        return graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
    }

    public static string ElementTypeName(int elemType) =>
        Enum.IsDefined(typeof(TensorProto.Types.DataType), elemType)
            ? ((TensorProto.Types.DataType)elemType).ToString().ToLowerInvariant()
            : $"type{elemType}";
}
