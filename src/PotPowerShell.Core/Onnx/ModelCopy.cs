using Onnx;

namespace PotPowerShell.Core.Onnx;

/// <summary>
/// A deep copy of a model whose float/int64 initializers held in the typed repeated fields come out in raw_data
/// instead (same values). Copying a 45 MB float_data model with <c>Clone()</c> and converting afterwards costs two
/// element-by-element copies; this costs one, and every later clone of the result shares the raw bytes.
/// </summary>
internal static class ModelCopy
{
    public static ModelProto WithRawInitializers(ModelProto model)
    {
        var copy = new ModelProto();
        if (model.HasIrVersion) copy.IrVersion = model.IrVersion;
        if (model.HasProducerName) copy.ProducerName = model.ProducerName;
        if (model.HasProducerVersion) copy.ProducerVersion = model.ProducerVersion;
        if (model.HasDomain) copy.Domain = model.Domain;
        if (model.HasModelVersion) copy.ModelVersion = model.ModelVersion;
        if (model.HasDocString) copy.DocString = model.DocString;
        copy.OpsetImport.AddRange(model.OpsetImport.Select(o => o.Clone()));
        copy.MetadataProps.AddRange(model.MetadataProps.Select(p => p.Clone()));
        copy.TrainingInfo.AddRange(model.TrainingInfo.Select(t => t.Clone()));
        copy.Functions.AddRange(model.Functions.Select(f => f.Clone()));
        copy.Configuration.AddRange(model.Configuration.Select(c => c.Clone()));
        if (model.Graph != null) copy.Graph = Graph(model.Graph);
        return copy;
    }

    private static GraphProto Graph(GraphProto graph)
    {
        var g = new GraphProto();
        if (graph.HasName) g.Name = graph.Name;
        if (graph.HasDocString) g.DocString = graph.DocString;
        g.Node.AddRange(graph.Node.Select(n => n.Clone()));
        g.Initializer.AddRange(graph.Initializer.Select(Raw));
        g.SparseInitializer.AddRange(graph.SparseInitializer.Select(t => t.Clone()));
        g.Input.AddRange(graph.Input.Select(v => v.Clone()));
        g.Output.AddRange(graph.Output.Select(v => v.Clone()));
        g.ValueInfo.AddRange(graph.ValueInfo.Select(v => v.Clone()));
        g.QuantizationAnnotation.AddRange(graph.QuantizationAnnotation.Select(a => a.Clone()));
        g.MetadataProps.AddRange(graph.MetadataProps.Select(p => p.Clone()));
        return g;
    }

    private static TensorProto Raw(TensorProto t)
    {
        if (!t.RawData.IsEmpty || t.DataLocation == TensorProto.Types.DataLocation.External) return t.Clone();
        TensorProto? raw = t.DataType switch
        {
            (int)TensorProto.Types.DataType.Float when t.FloatData.Count > 0 => TensorProtos.FromFloats(t.Name, t.FloatData.ToArray(), t.Dims.ToArray()),
            (int)TensorProto.Types.DataType.Int64 when t.Int64Data.Count > 0 => TensorProtos.FromInt64(t.Name, t.Int64Data.ToArray(), t.Dims.ToArray()),
            _ => null,
        };
        if (raw == null) return t.Clone();
        if (t.HasDocString) raw.DocString = t.DocString;
        return raw;
    }
}
