using System.Text.Json;
using Onnx;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Reports;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization;

/// <summary>Builds the <see cref="QuantizationResult"/> from a builder, the emitted model and ORT's fusion report.</summary>
public static class QuantizationReport
{
    /// <summary>ORT kernels that run a weighted layer in INT8.</summary>
    private static readonly HashSet<string> LayerKernels = new(StringComparer.Ordinal)
    {
        "QLinearConv", "QLinearConvTranspose", "QLinearMatMul", "MatMulIntegerToFloat", "QGemm", "ConvInteger", "MatMulInteger", "DynamicQuantizeMatMul",
    };

    public static QuantizationResult Create(QuantizedModelBuilder builder, ModelProto quantized, FusionReport fusion, string outputPath, long outputSize,
        TimeSpan emitTime, TimeSpan saveTime, TimeSpan totalTime)
    {
        var setup = builder.Setup;
        var options = setup.Options;
        var all = QdqEmitter.Layers(builder.FloatModel, new HashSet<string>());
        var int8 = builder.Layers.Select(l => l.Node).ToHashSet(StringComparer.Ordinal);
        var ignored = setup.IgnoredNodes.ToHashSet(StringComparer.Ordinal);
        var precision = setup.Precision;
        var faster = precision.FloatLayers.ToHashSet(StringComparer.Ordinal);
        var weighted = builder.FloatModel.Graph.Node.Where(n => OpCatalog.IsDefaultDomain(n.Domain) && OpCatalog.WeightedLayers.Contains(n.OpType)).ToList();
        var quantizedNodes = quantized.Graph.Node.Where(n => n.Name.Length > 0).ToDictionary(n => n.Name, StringComparer.Ordinal);
        var graph = new QdqGraphReader(quantized.Graph);
        var bias = setup.BiasCorrection;
        string biasMode = !options.BiasCorrection ? "None" : options.UseFastBiasCorrection ? "FastBiasCorrection" : "BiasCorrection";
        var quantizable = all.ToDictionary(l => l.Node, StringComparer.Ordinal);

        var rows = new List<QuantizedLayerInfo>();
        foreach (var node in weighted)
        {
            quantizable.TryGetValue(node.Name, out var layer);
            bool isInt8 = int8.Contains(node.Name);
            bool sevenBit = builder.Plan.SevenBitLayers.Contains(node.Name);
            string reason = isInt8 ? sevenBit ? "quantized, 7-bit weights (saturation fix of the first layers)" : "quantized"
                : ignored.Contains(node.Name) ? "ignored scope"
                : faster.Contains(node.Name) ? precision.FloatReasons[node.Name]
                : layer == null ? "not quantizable (weight is not a constant float initializer, or the input is not a float activation)"
                : "float";
            string input = node.Input.Count > 0 ? node.Input[0] : "";
            string? root = CalibratedRoot(builder.FloatModel.Graph, setup.Statistics.Ranges, input);
            ActivationRange? range = root != null ? setup.Statistics.Ranges[root] : null;
            QdqGraphReader.Quantizer? inputQ = null, weightQ = null;
            if (isInt8 && quantizedNodes.TryGetValue(node.Name, out var emitted))
            {
                inputQ = graph.InputQuantizer(emitted, 0);
                weightQ = graph.InputQuantizer(emitted, 1);
            }
            bool corrected = isInt8 && bias != null && bias.Corrected.ContainsKey(node.Name);
            string? note = !isInt8 || bias == null ? null : corrected ? null : bias.Notes.GetValueOrDefault(node.Name);
            rows.Add(new QuantizedLayerInfo
            {
                Node = node.Name,
                OpType = node.OpType,
                Precision = isInt8 ? "INT8" : "Float",
                Reason = reason,
                Input = input,
                InputMin = range?.Min,
                InputMax = range?.Max,
                InputScale = inputQ?.Scales.Min(),
                InputZeroPoint = inputQ?.ZeroPoints.FirstOrDefault(),
                WeightScaleMin = weightQ?.Scales.Min(),
                WeightScaleMax = weightQ?.Scales.Max(),
                WeightScaleCount = weightQ?.Scales.Length ?? 0,
                WeightBits = !isInt8 ? null : sevenBit || setup.Settings.Types == QuantizationTypes.U8S7 ? 7 : 8,
                Estimator = isInt8 ? setup.Estimator.ToString() : "",
                RangeChoice = isInt8 && root != null ? setup.Statistics.RangeChoices.GetValueOrDefault(root) : null,
                BiasCorrected = corrected,
                BiasNote = note,
                Int8Ms = precision.Timings.GetValueOrDefault(node.Name)?.Int8Ms,
                FloatMs = precision.Timings.GetValueOrDefault(node.Name)?.FloatMs,
            });
        }

        var kernels = fusion.FusedKernels.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new KernelCount(kv.Key, kv.Value)).ToList();
        return new QuantizationResult
        {
            ModelPath = Path.GetFullPath(setup.ModelPath),
            OutputPath = outputPath,
            CalibrationDataPath = setup.CalibrationSource,
            Options = options,
            Preset = setup.Settings.Requested,
            EffectivePreset = setup.Settings.Effective,
            SymmetricWeights = setup.Settings.SymmetricWeights,
            SymmetricActivations = setup.Settings.SymmetricActivations,
            ActivationsReason = setup.Settings.ActivationsReason,
            PerChannelWeights = options.PerChannelWeights,
            TargetDevice = options.TargetDevice,
            Types = setup.Settings.Types,
            TypesReason = setup.Settings.TypesReason,
            ActivationEstimator = setup.Estimator.ToString(),
            BiasCorrection = biasMode,
            Layers = rows,
            LayerCount = rows.Count,
            QuantizedLayerCount = rows.Count(r => r.Precision == "INT8"),
            BiasCorrectedLayerCount = rows.Count(r => r.BiasCorrected),
            FusedLayerCount = kernels.Where(k => LayerKernels.Contains(k.Kernel)).Sum(k => k.Count),
            FusedKernels = kernels,
            IgnoredNodes = setup.IgnoredNodes,
            Warnings = setup.Warnings,
            SourceOpset = setup.SourceOpset,
            Opset = ModelInspector.DefaultOpset(quantized),
            Seed = options.Seed,
            ShuffleData = options.ShuffleData,
            StatSubsetSize = setup.Statistics.Items.Count,
            StatBatchSize = setup.Statistics.BatchSize,
            PrepareTime = setup.PrepareTime,
            CalibrationTime = setup.CalibrationTime,
            BiasCorrectionTime = setup.BiasCorrectionTime,
            EmitTime = emitTime,
            SaveTime = saveTime,
            TotalTime = totalTime,
            OnnxRuntimeVersion = OnnxRuntimeLoader.Version,
            CpuFeatures = string.Join(", ", new[] { HardwareProfile.Current.Architecture }.Concat(HardwareProfile.Current.Features)),
            OutputFileSize = outputSize,
            Precision = precision.Mode,
            BatchSize = precision.BatchSize,
            LatencyCachePath = precision.CachePath,
            PrecisionCandidates = precision.Candidates,
        };
    }

    /// <summary>The JSON report of a result (<see cref="ReportJson"/>: enums as names, times in seconds).</summary>
    public static string ToJson(QuantizationResult result) => JsonSerializer.Serialize(result, ReportJson.Options);

    /// <summary>
    /// The tensor whose calibrated range a tensor's quantizer uses: itself, or (for the output of MaxPool, Flatten, Reshape and
    /// other data movement, which share their input's quantizer) that of the nearest calibrated tensor upstream.
    /// </summary>
    private static string? CalibratedRoot(GraphProto graph, IReadOnlyDictionary<string, ActivationRange> ranges, string tensor)
    {
        var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var n in graph.Node) foreach (var o in n.Output) if (o.Length > 0) producer[o] = n;
        for (int step = 0; step < 16 && tensor.Length > 0; step++)
        {
            if (ranges.ContainsKey(tensor)) return tensor;
            if (!producer.TryGetValue(tensor, out var node) || node.Input.Count == 0 || OpCatalog.WeightedLayers.Contains(node.OpType)) return null;
            tensor = node.Input[0];
        }
        return null;
    }
}

/// <summary>Reads the quantizer parameters feeding a node of a QDQ graph.</summary>
internal sealed class QdqGraphReader(GraphProto graph)
{
    private readonly Dictionary<string, NodeProto> _producer = graph.Node.SelectMany(n => n.Output.Select(o => (o, n)))
        .Where(p => p.o.Length > 0).GroupBy(p => p.o).ToDictionary(g => g.Key, g => g.First().n, StringComparer.Ordinal);
    private readonly Dictionary<string, TensorProto> _initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);

    public sealed record Quantizer(float[] Scales, int[] ZeroPoints);

    /// <summary>The DequantizeLinear parameters of input <paramref name="slot"/>, or null when it is not dequantized.</summary>
    public Quantizer? InputQuantizer(NodeProto node, int slot)
    {
        if (node.Input.Count <= slot || !_producer.TryGetValue(node.Input[slot], out var dq) || dq.OpType != "DequantizeLinear") return null;
        if (!_initializers.TryGetValue(dq.Input[1], out var scale)) return null;
        var scales = TensorProtos.ToFloats(scale);
        var zps = dq.Input.Count > 2 && _initializers.TryGetValue(dq.Input[2], out var zp)
            ? TensorProtos.ToFloats(zp).Select(v => (int)v).ToArray()
            : new int[scales.Length];
        return new Quantizer(scales, zps);
    }
}
