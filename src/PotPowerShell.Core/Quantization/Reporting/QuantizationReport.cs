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

    /// <summary>The result of <paramref name="builder"/>'s model as emitted (<paramref name="emission"/>: the model and the emitter's record of each layer).</summary>
    public static QuantizationResult Create(QuantizedModelBuilder builder, Emission emission, FusionReport fusion, string outputPath, long outputSize,
        TimeSpan emitTime, TimeSpan saveTime, TimeSpan totalTime)
    {
        var setup = builder.Setup;
        var options = setup.Options;
        var quantized = emission.Model;
        var precision = setup.Precision;
        var nodes = builder.FloatModel.Graph.Node.Where(n => n.Name.Length > 0).GroupBy(n => n.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var bias = setup.BiasCorrection;
        string biasMode = !options.BiasCorrection ? "None" : options.UseFastBiasCorrection ? "FastBiasCorrection" : "BiasCorrection";

        var rows = new List<QuantizedLayerInfo>();
        foreach (var emitted in emission.Layers)
        {
            var node = nodes[emitted.Node];
            bool isInt8 = emitted.Int8;
            string input = node.Input.Count > 0 ? node.Input[0] : "";
            string? root = CalibratedRoot(builder.FloatModel.Graph, setup.Statistics.Ranges, input);
            ActivationRange? range = root != null ? setup.Statistics.Ranges[root] : null;
            bool corrected = isInt8 && bias != null && bias.Corrected.ContainsKey(node.Name);
            string? note = !isInt8 || bias == null ? null : corrected ? null : bias.Notes.GetValueOrDefault(node.Name);
            rows.Add(new QuantizedLayerInfo
            {
                Node = node.Name,
                OpType = node.OpType,
                Precision = emitted.Precision,
                Reason = emitted.Reason,
                ReasonCode = emitted.Code.ToString(),
                Input = input,
                InputMin = range?.Min,
                InputMax = range?.Max,
                InputScale = emitted.InputScales?.Min(),
                InputZeroPoint = emitted.InputZeroPoints?.FirstOrDefault(),
                WeightScaleMin = emitted.WeightScales?.Min(),
                WeightScaleMax = emitted.WeightScales?.Max(),
                WeightScaleCount = emitted.WeightScales?.Length ?? 0,
                WeightBits = emitted.WeightBits,
                Estimator = isInt8 ? setup.Estimator.ToString() : "",
                // auto says per tensor why; any other estimator is the run's (with auto chosen against it: ActivationEstimatorReason).
                RangeChoice = !isInt8 || root == null || range is not { } r ? null
                    : setup.Statistics.RangeChoices.GetValueOrDefault(root)
                      ?? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{setup.Estimator} [{r.Min:G4}, {r.Max:G4}]: the run's range estimator"),
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
            BiasCorrectionRule = !options.BiasCorrection ? "" : setup.BiasCorrectionVerdict ?? string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"max |shift/bias| < {options.BiasCorrectionThreshold ?? BiasCorrection.PotThreshold:G3} (POT)"),
            ModelType = setup.ModelType.Name,
            ModelTypeReason = setup.ModelType.Reason,
            EqualizedPairs = setup.Equalized.Select(p => p.Between == null ? $"{p.First} -> {p.Second}" : $"{p.First} -> {p.Between} -> {p.Second}").ToList(),
            SmoothQuant = setup.SmoothQuantVerdict,
            SmoothedLayers = setup.Smoothed.Select(g => $"{g.Input} -> {string.Join(", ", g.Layers)} ({g.How})").ToList(),
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
