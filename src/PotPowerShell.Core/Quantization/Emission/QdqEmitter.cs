using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// Turns a prepared float model (see <c>ModelPreparation.Prepare</c>) and a <see cref="QuantizationPlan"/> into a QDQ
/// model that ONNX Runtime's CPU EP fuses into INT8 kernels. <see cref="Emit"/> is a pure function: the same inputs give
/// the same bytes, and the prepared model is never modified. What goes where is decided by <see cref="QdqTopology"/>;
/// see the docs there and ARCHITECTURE.md (DefaultQuantization, step 6).
/// </summary>
public static class QdqEmitter
{
    /// <summary>Weighted layers (Conv, ConvTranspose, Gemm, MatMul) that can be INT8, except <paramref name="ignored"/> node names, in graph order.</summary>
    public static IReadOnlyList<QuantizableLayer> Layers(ModelProto prepared, IReadOnlySet<string> ignored)
    {
        RequirePrepared(prepared);
        return QdqLayerInfo.Find(new GraphIndex(prepared.Graph)).Select(l => l.Layer).Where(l => !ignored.Contains(l.Node)).ToList();
    }

    /// <summary>
    /// Every activation tensor whose range the plan must hold when the layers in <paramref name="floatLayers"/> stay float:
    /// the tensors that get a quantizer (graph inputs included), except those that share another tensor's quantizer
    /// through data movement. Reverting more layers later never needs a tensor outside this list.
    /// </summary>
    public static IReadOnlyList<string> TensorsToCalibrate(ModelProto prepared, IReadOnlySet<string> floatLayers)
    {
        RequirePrepared(prepared);
        return new QdqTopology(new GraphIndex(prepared.Graph), floatLayers).Roots();
    }

    /// <summary>Builds the QDQ model. Pure and deterministic.</summary>
    public static ModelProto Emit(ModelProto prepared, QuantizationPlan plan) => EmitWithRecord(prepared, plan).Model;

    /// <summary>Builds the QDQ model and the record of each weighted layer: precision, reason and quantizer parameters. Pure and deterministic.</summary>
    public static Emission EmitWithRecord(ModelProto prepared, QuantizationPlan plan) => EmitWithRecord(prepared, plan, null);

    /// <summary>As <see cref="EmitWithRecord(ModelProto, QuantizationPlan)"/>, reusing the quantized weights <paramref name="weights"/> holds (same bytes).</summary>
    internal static Emission EmitWithRecord(ModelProto prepared, QuantizationPlan plan, QdqWeightCache? weights)
    {
        RequirePrepared(prepared);
        if (plan.Types == QuantizationTypes.Auto)
            throw new PotException("QuantizationTypesUnresolved", PotErrorCategory.InvalidArgument,
                "The quantization plan has Types = Auto; resolve it with HardwareProfile.Current.Resolve before emitting.");
        var index = new GraphIndex(prepared.Graph);
        var topology = new QdqTopology(index, plan.FloatLayers);
        CheckCorrectedBiases(topology, plan);
        var graph = new QdqGraphWriter(topology, plan, weights).Write();
        var model = prepared.Clone();
        model.Graph = graph;
        return new Emission(model, Record(index, topology, plan, graph));
    }

    private static List<LayerEmission> Record(GraphIndex index, QdqTopology topology, QuantizationPlan plan, GraphProto emitted)
    {
        var quantizable = topology.Layers.ToDictionary(l => l.NodeIndex);
        var emittedNodes = emitted.Node.Where(n => n.Name.Length > 0).GroupBy(n => n.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var reader = new QdqGraphReader(emitted);
        var records = new List<LayerEmission>();
        for (int i = 0; i < index.Graph.Node.Count; i++)
        {
            var node = index.Graph.Node[i];
            if (!OpCatalog.IsDefaultDomain(node.Domain) || !OpCatalog.WeightedLayers.Contains(node.OpType)) continue;
            bool int8 = quantizable.ContainsKey(i) && topology.IsInt8(i);
            if (!int8 && plan.DynamicLayers.Contains(node.Name))
            {
                records.Add(new LayerEmission(node.Name, node.OpType, false, LayerReason.RevertedDynamic,
                    "reverted: INT8 weights, activations quantized at run time (restore_mode only_activations)")
                {
                    Dynamic = true,
                    WeightBits = plan.SevenBitLayers.Contains(node.Name) || plan.Types == QuantizationTypes.U8S7 ? 7 : 8,
                });
                continue;
            }
            if (!int8)
            {
                var why = plan.FloatReasons.GetValueOrDefault(node.Name)
                    ?? (quantizable.ContainsKey(i) ? new FloatReason(LayerReason.Reverted, "reverted to float")
                        : new FloatReason(LayerReason.NotQuantizable, QdqLayerInfo.WhyNot(index, node)));
                records.Add(new LayerEmission(node.Name, node.OpType, false, why.Code, why.Text));
                continue;
            }
            bool sevenBit = plan.SevenBitLayers.Contains(node.Name) || plan.Types == QuantizationTypes.U8S7;
            var code = plan.SevenBitLayers.Contains(node.Name) ? LayerReason.QuantizedSevenBit : LayerReason.Quantized;
            var input = emittedNodes.TryGetValue(node.Name, out var e) ? reader.InputQuantizer(e, 0) : null;
            var weight = e != null ? reader.InputQuantizer(e, 1) : null;
            records.Add(new LayerEmission(node.Name, node.OpType, true, code,
                code == LayerReason.QuantizedSevenBit ? "quantized, 7-bit weights (saturation fix of the first layers)" : "quantized")
            {
                InputScales = input?.Scales,
                InputZeroPoints = input?.ZeroPoints,
                WeightScales = weight?.Scales,
                WeightBits = sevenBit ? 7 : 8,
            });
        }
        return records;
    }

    // A corrected bias must name a layer that has a bias slot (Conv, ConvTranspose, Gemm, MatMul with a bias Add).
    private static void CheckCorrectedBiases(QdqTopology topology, QuantizationPlan plan)
    {
        foreach (var name in plan.CorrectedBiases.Keys.OrderBy(k => k, StringComparer.Ordinal))
        {
            var layer = topology.Layers.FirstOrDefault(l => l.Layer.Node == name)
                ?? throw new PotException("LayerNotFound", PotErrorCategory.InvalidArgument,
                    $"The plan has a corrected bias for '{name}', which is not a quantizable layer of the prepared model.", name);
            if (layer.Layer.OpType == "MatMul" && layer.BiasAdd < 0)
                throw new PotException("BiasCorrectionUnsupported", PotErrorCategory.InvalidArgument,
                    $"Layer '{name}' is a MatMul without a bias Add; do not pass a corrected bias for it.", name);
        }
    }

    private static void RequirePrepared(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Graph == null)
            throw new PotException("GraphInvalid", PotErrorCategory.InvalidData, "The model holds no graph.");
        long opset = ModelInspector.DefaultOpset(model);
        if (opset < 13)
            throw new PotException("ModelNotPrepared", PotErrorCategory.InvalidArgument,
                $"The model has opset {opset}; the emitter needs opset 13 or later (per-axis QuantizeLinear). Run ModelPreparation.Prepare on it first.");
    }
}
