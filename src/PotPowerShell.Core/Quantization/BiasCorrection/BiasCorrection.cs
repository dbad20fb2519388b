using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Quantization;

/// <summary>Bias correction results: the corrected effective biases, and why the other layers were left alone.</summary>
/// <param name="Corrected">Corrected bias per layer node (Gemm: the effective bias, beta folded in, one value per output).</param>
/// <param name="Notes">Per layer that was not corrected: the reason.</param>
/// <param name="Magnitudes">Per examined layer: max |shift / bias|.</param>
public sealed record BiasCorrectionOutcome(
    IReadOnlyDictionary<string, float[]> Corrected,
    IReadOnlyDictionary<string, string> Notes,
    IReadOnlyDictionary<string, double> Magnitudes)
{
    /// <summary>Inferences run over the calibration data: full bias correction's pass of the quantized model (0 for fast, which runs once on channel means).</summary>
    public int DataInferences { get; init; }
}

/// <summary>
/// POT's FastBiasCorrection and BiasCorrection for ONNX. Both compare per-channel output means of the FP32 layer
/// (collected during calibration) with those of the quantized layer and shift the bias by the difference:
/// <list type="bullet">
/// <item>Fast: the quantized layer alone (input Q/DQ, Q/DQ weights, bias; a MatMul with the Add holding its bias), cut out of the emitted model, runs once on
/// a constant input that holds the FP32 per-channel input means.</item>
/// <item>Full: the whole emitted model runs over the calibration subset and its layer outputs are averaged.</item>
/// </list>
/// The new bias is applied only when max |shift / bias| is below the threshold (2.0 by default); a layer without a
/// bias, or with a zero bias element (the ratio is infinite), is skipped, as in POT. Prepared models keep their
/// float biases: corrections travel in <see cref="QuantizationPlan.CorrectedBiases"/>, so a reverted layer gets its
/// original bias back.
/// </summary>
public static class BiasCorrection
{
    /// <summary>POT's threshold, used when the options set none (DefaultQuantization then verifies the corrections, see BiasCorrectionVerification).</summary>
    public const double PotThreshold = 2.0;

    /// <summary>A layer bias correction can examine: its node, bias and channel axes.</summary>
    internal sealed record Candidate(QuantizableLayer Layer, float[] Bias, int InputAxis, int OutputAxis);

    /// <summary>Channel-mean tensors the FP32 calibration pass must collect for bias correction (tensor -> channel axis).</summary>
    public static IReadOnlyDictionary<string, int> StatisticsNeeded(ModelProto prepared, IEnumerable<QuantizableLayer> layers, bool fast)
    {
        var result = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var c in Candidates(prepared, layers, out _))
        {
            if (fast) result[c.Layer.Input] = c.InputAxis;
            result[c.Layer.Output] = c.OutputAxis;
        }
        return result;
    }

    internal static List<Candidate> Candidates(ModelProto prepared, IEnumerable<QuantizableLayer> layers, out Dictionary<string, string> notes)
    {
        notes = new Dictionary<string, string>(StringComparer.Ordinal);
        var nodes = prepared.Graph.Node.Where(n => n.Name.Length > 0).ToDictionary(n => n.Name, StringComparer.Ordinal);
        var initializers = prepared.Graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var result = new List<Candidate>();
        foreach (var layer in layers)
        {
            if (!nodes.TryGetValue(layer.Node, out var node)) continue;
            string? why = null;
            float[]? bias = null;
            int inputAxis = 1, outputAxis = 1;
            if (node.OpType is "Conv" or "ConvTranspose")
            {
                if (node.Input.Count < 3 || node.Input[2].Length == 0 || !initializers.TryGetValue(node.Input[2], out var b)) why = "no bias";
                else bias = TensorProtos.ToFloats(b);
            }
            else if (node.OpType == "Gemm")
            {
                inputAxis = outputAxis = -1;
                if (Attribute(node, "transA") != 0) why = "Gemm with transA: its input channels are not on the last axis";
                else if (node.Input.Count < 3 || node.Input[2].Length == 0 || !initializers.TryGetValue(node.Input[2], out var c)) why = "no bias";
                else
                {
                    var w = initializers.GetValueOrDefault(node.Input[1]);
                    long n = w == null || w.Dims.Count != 2 ? 0 : Attribute(node, "transB") != 0 ? w.Dims[0] : w.Dims[1];
                    var values = TensorProtos.ToFloats(c);
                    float beta = node.Attribute.FirstOrDefault(a => a.Name == "beta")?.F ?? 1f;
                    if (values.Length == 1 && n > 0) values = Enumerable.Repeat(values[0], (int)n).ToArray();
                    if (values.Length != n) why = "the Gemm bias is not one value per output";
                    else bias = values.Select(v => v * beta).ToArray();
                }
            }
            else if (node.OpType == "MatMul" && layer.BiasNode != null && nodes.TryGetValue(layer.BiasNode, out var add))
            {
                // MatMul followed by an Add of a constant [N] vector: the Add holds the bias, features on the last axis.
                inputAxis = outputAxis = -1;
                string? constant = add.Input.FirstOrDefault(i => initializers.ContainsKey(i));
                if (constant == null) why = "no bias";
                else bias = TensorProtos.ToFloats(initializers[constant]);
            }
            else
            {
                why = "no bias";
            }
            if (why == null && bias!.Any(v => v == 0)) why = "a bias element is 0 (POT skips such layers)";
            if (why != null) { notes[layer.Node] = why; continue; }
            result.Add(new Candidate(layer, bias!, inputAxis, outputAxis));
        }
        return result;
    }

    /// <summary>FastBiasCorrection: one inference of the cut-out quantized layers on constant mean inputs.</summary>
    public static BiasCorrectionOutcome Fast(ModelProto prepared, ModelProto emitted, IEnumerable<QuantizableLayer> layers,
        CalibrationStatistics fp32, double threshold, int threads, CancellationToken cancellationToken)
    {
        var candidates = Candidates(prepared, layers, out var notes);
        var usable = new List<Candidate>();
        foreach (var c in candidates)
        {
            if (!fp32.ChannelMeans.TryGetValue(c.Layer.Input, out var input) || input.ItemShape == null || input.Means.Length == 0
                || !fp32.ChannelMeans.TryGetValue(c.Layer.Output, out var output) || output.Means.Length != c.Bias.Length)
            {
                notes[c.Layer.Node] = "no FP32 channel statistics";
                continue;
            }
            usable.Add(c);
        }
        var shifts = new Dictionary<string, float[]>(StringComparer.Ordinal);
        if (usable.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var probe = LayerProbe.Build(emitted, usable.Select(c => (c.Layer.Node, c.Layer.BiasNode)).ToList(),
                usable.Select(c => fp32.ChannelMeans[c.Layer.Input].ItemShape!).ToList());
            var blobs = usable.Select(c => Blob(fp32.ChannelMeans[c.Layer.Input])).ToList();
            var quantizedMeans = probe.Run(blobs, usable.Select(c => c.OutputAxis).ToList(), threads, cancellationToken);
            for (int i = 0; i < usable.Count; i++)
            {
                var fpOut = fp32.ChannelMeans[usable[i].Layer.Output].Means;
                if (quantizedMeans[i].Length != fpOut.Length) { notes[usable[i].Layer.Node] = "the cut-out layer's output does not match"; continue; }
                shifts[usable[i].Layer.Node] = fpOut.Select((m, c) => m - quantizedMeans[i][c]).ToArray();
            }
        }
        return Apply(usable, shifts, threshold, notes);
    }

    /// <summary>BiasCorrection: the whole quantized model over the calibration items; its layer output means against FP32.</summary>
    public static BiasCorrectionOutcome Full(ModelProto prepared, ModelProto emitted, IEnumerable<QuantizableLayer> layers, IDataset data,
        CalibrationStatistics fp32, double threshold, int batchSize, int threads, IProgress<PotProgress>? progress, CancellationToken cancellationToken,
        bool skipNonFiniteValues = false)
    {
        var candidates = Candidates(prepared, layers, out var notes);
        var outputOf = emitted.Graph.Node.Where(n => n.Name.Length > 0 && n.Output.Count > 0).ToDictionary(n => n.Name, n => n.Output[0], StringComparer.Ordinal);
        string OutputNode(Candidate c) => c.Layer.BiasNode ?? c.Layer.Node;
        var usable = candidates.Where(c => outputOf.ContainsKey(OutputNode(c)) && fp32.ChannelMeans.ContainsKey(c.Layer.Output)).ToList();
        foreach (var c in candidates.Except(usable)) notes[c.Layer.Node] = "no FP32 channel statistics";
        var shifts = new Dictionary<string, float[]>(StringComparer.Ordinal);
        int inferences = 0;
        if (usable.Count > 0)
        {
            var request = new CalibrationRequest
            {
                ChannelMeanTensors = usable.ToDictionary(c => outputOf[OutputNode(c)], c => c.OutputAxis, StringComparer.Ordinal),
                BatchSize = batchSize,
                Threads = threads,
                // The same data as the FP32 pass: its non-finite values are skipped the same way (and were reported there).
                SkipNonFiniteValues = skipNonFiniteValues,
            };
            var quantized = ActivationCollector.Collect(emitted, data, fp32.Items, request, progress, cancellationToken, "quantized model", "Bias correction");
            inferences = quantized.Inferences;
            foreach (var c in usable)
            {
                var q = quantized.ChannelMeans[outputOf[OutputNode(c)]].Means;
                var fp = fp32.ChannelMeans[c.Layer.Output].Means;
                if (q.Length != fp.Length) { notes[c.Layer.Node] = "the quantized layer's output does not match"; continue; }
                shifts[c.Layer.Node] = fp.Select((m, i) => m - q[i]).ToArray();
            }
        }
        return Apply(usable, shifts, threshold, notes) with { DataInferences = inferences };
    }

    private static BiasCorrectionOutcome Apply(List<Candidate> candidates, Dictionary<string, float[]> shifts, double threshold, Dictionary<string, string> notes)
    {
        var corrected = new SortedDictionary<string, float[]>(StringComparer.Ordinal);
        var magnitudes = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var c in candidates)
        {
            if (!shifts.TryGetValue(c.Layer.Node, out var shift)) continue;
            double magnitude = Magnitude(c.Bias, shift);
            magnitudes[c.Layer.Node] = magnitude;
            if (magnitude < threshold) corrected[c.Layer.Node] = c.Bias.Select((b, i) => b + shift[i]).ToArray();
            else notes[c.Layer.Node] = $"shift too large: max |shift/bias| = {magnitude:G3} is not below the threshold {threshold:G3}";
        }
        return new BiasCorrectionOutcome(corrected, new SortedDictionary<string, string>(notes, StringComparer.Ordinal), magnitudes);
    }

    /// <summary>POT's threshold measure: max |shift / bias| (infinite when a bias element is 0).</summary>
    public static double Magnitude(float[] bias, float[] shift)
    {
        double max = 0;
        for (int i = 0; i < bias.Length; i++)
        {
            double ratio = bias[i] == 0 ? double.PositiveInfinity : Math.Abs((double)shift[i] / bias[i]);
            if (ratio > max) max = ratio;
        }
        return max;
    }

    /// <summary>A tensor of one item's input shape holding each channel's FP32 mean everywhere.</summary>
    internal static TensorData Blob(ChannelMeanStatistic statistic)
    {
        var shape = statistic.ItemShape!;
        var means = statistic.Means;
        int axis = statistic.Axis < 0 ? shape.Length + statistic.Axis : statistic.Axis;
        long inner = 1;
        for (int d = axis + 1; d < shape.Length; d++) inner *= shape[d];
        var data = new float[TensorData.ElementCount(shape)];
        for (long i = 0; i < data.LongLength; i++) data[i] = means[(int)(i / inner % means.Length)];
        return TensorData.FromFloats(data, shape);
    }

    private static long Attribute(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name)?.I ?? 0;
}
