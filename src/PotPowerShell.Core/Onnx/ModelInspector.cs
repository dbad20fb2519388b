using Onnx;

namespace PotPowerShell.Core.Onnx;

/// <summary>Facts about a model that the graph passes need: its default-domain opset, element type names.</summary>
public static class ModelInspector
{
    /// <summary>The opset of the default domain (1 when the model does not say, as the ONNX spec implies).</summary>
    public static long DefaultOpset(ModelProto model) =>
        model.OpsetImport.Where(o => OpCatalog.IsDefaultDomain(o.Domain)).Select(o => o.Version).DefaultIfEmpty(1).Max();

    public static string ElementTypeName(int elemType) =>
        Enum.IsDefined(typeof(TensorProto.Types.DataType), elemType)
            ? ((TensorProto.Types.DataType)elemType).ToString().ToLowerInvariant()
            : $"type{elemType}";
}
