using PotPowerShell.Core.Config;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.TestSupport;

/// <summary>How an INT8 model scores on held-out items: against labels where they exist, and against its FP32 model.</summary>
/// <param name="Top1">Top-1 accuracy against the items' integer labels, or null without labels or class scores.</param>
/// <param name="Top1Agreement">Share of items whose top-1 class equals FP32's, or null when the output is not class scores.</param>
/// <param name="Cosine">Mean over items of the cosine similarity of the output to FP32's.</param>
/// <param name="SqnrDb">10·log10(Σ fp32² / Σ (int8 - fp32)²) over all items.</param>
public sealed record HeldOutScore(double? Top1, double? Top1Agreement, double Cosine, double SqnrDb, int Items);

/// <summary>The columns of bench/Bench-Quality.ps1 as options (PowerShell cannot set init-only properties), and its scoring.</summary>
public static class QualityBench
{
    /// <summary>
    /// The table's columns: naive, pot-performance, pot-mixed and new (our defaults), all with every layer INT8
    /// (-Precision AllInt8) so that they compare quantizers; and default, Invoke-DefaultQuantization's defaults as a
    /// user gets them (latency-aware precision may keep slow layers float).
    /// </summary>
    public static IReadOnlyList<string> Columns { get; } = new[] { "naive", "pot-performance", "pot-mixed", "new", "default" };

    /// <summary>
    /// Options of a column. naive: asymmetric activations with min/max ranges, per-tensor weights, no bias correction
    /// (ORT's quantizer with QUInt8 activations). pot-performance and pot-mixed: POT's presets with POT's estimators
    /// (mean of per-item min/max), POT's bias-correction rule, no equalization and no model type (POT's default), symmetric activations for
    /// performance. new: our defaults with AllInt8. default: our defaults. Measurement columns (what the defaults
    /// were chosen by, see docs/en-US/about_PotPowerShell.md): new-minmax, new-mean-minmax, new-auto (range estimators), new-no-cle
    /// (no equalization), new-bias-pot (POT's threshold rule, unverified), new-bias-full (full bias correction), new-no-bias,
    /// new-no-sq (SmoothQuant off) and new-sq-A (SmoothQuant with alpha A, unverified, e.g. new-sq-0.5).
    /// </summary>
    public static DefaultQuantizationOptions Options(string column, int threads)
    {
        var pot = new DefaultQuantizationOptions { Threads = threads, Precision = PrecisionMode.AllInt8, SkipLatencyCheck = true, BiasCorrectionThreshold = 2.0, Equalization = EqualizationScope.None, ModelType = "none" };
        var ours = new DefaultQuantizationOptions { Threads = threads, Precision = PrecisionMode.AllInt8, SkipLatencyCheck = true };
        return column switch
        {
            "naive" => pot with
            {
                Preset = QuantizationPreset.Mixed, SymmetricActivations = false, PerChannelWeights = false, BiasCorrection = false,
                ActivationRange = new RangeEstimatorOptions { Kind = RangeEstimatorKind.MinMax },
            },
            "pot-performance" => pot with
            {
                Preset = QuantizationPreset.Performance, SymmetricActivations = true,
                ActivationRange = new RangeEstimatorOptions { Kind = RangeEstimatorKind.MeanMinMax },
            },
            "pot-mixed" => pot with { Preset = QuantizationPreset.Mixed, ActivationRange = new RangeEstimatorOptions { Kind = RangeEstimatorKind.MeanMinMax } },
            "new" => ours,
            "new-minmax" => ours with { ActivationRange = new RangeEstimatorOptions { Kind = RangeEstimatorKind.MinMax } },
            "new-mean-minmax" => ours with { ActivationRange = new RangeEstimatorOptions { Kind = RangeEstimatorKind.MeanMinMax } },
            "new-no-transformer" => ours with { ModelType = "none" },
            "new-auto" => ours with { ActivationRange = new RangeEstimatorOptions { Kind = RangeEstimatorKind.Auto } },
            "new-no-cle" => ours with { Equalization = EqualizationScope.None },
            "new-cle-depthwise" => ours with { Equalization = EqualizationScope.Depthwise },
            "new-bias-pot" => ours with { BiasCorrectionThreshold = 2.0 },
            "new-bias-full" => ours with { UseFastBiasCorrection = false },
            "new-no-bias" => ours with { BiasCorrection = false },
            "default" => new() { Threads = threads },
            "new-no-sq" => ours with { SmoothQuantAlpha = -1 },
            _ when column.StartsWith("new-sq-", StringComparison.Ordinal)
                && double.TryParse(column["new-sq-".Length..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double alpha)
                => ours with { SmoothQuantAlpha = alpha },
            _ => throw new ArgumentException($"Unknown column '{column}'.", nameof(column)),
        };
    }

    /// <summary>Scores <paramref name="int8"/> against <paramref name="fp32"/> (and the labels) on every item of <paramref name="data"/>.</summary>
    public static HeldOutScore Score(string fp32, string int8, IDataset data, string? output = null, int threads = 1)
    {
        using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, threads);
        using var a = OrtSessions.Create(File.ReadAllBytes(fp32), options, fp32);
        using var b = OrtSessions.Create(File.ReadAllBytes(int8), options, int8);
        string name = !string.IsNullOrEmpty(output) ? output : a.OutputMetadata.First(kv => FloatOutputs.IsFloat(kv.Value)).Key;
        var binderA = ModelInputBinder.Bind(a, data, fp32);
        var binderB = ModelInputBinder.Bind(b, data, int8);
        using var run = new RunOptions();
        double signal = 0, noise = 0, cosines = 0;
        int correct = 0, agree = 0, labelled = 0;
        bool classes = true;
        for (int i = 0; i < data.Count; i++)
        {
            var item = new[] { data.Get(i) };
            var f = Output(a, binderA, run, item, name, out var shape);
            var q = Output(b, binderB, run, item, name, out _);
            cosines += Compare(f, q, ref signal, ref noise);
            classes &= shape[^1] >= 2 && shape.Take(shape.Length - 1).All(d => d == 1);
            if (!classes) continue;
            int top = ArgMax(q);
            if (top == ArgMax(f)) agree++;
            if (item[0].Annotation is long label) { labelled++; if (top == label) correct++; }
        }
        int n = data.Count;
        return new HeldOutScore(classes && labelled == n ? (double)correct / n : null, classes ? (double)agree / n : null, cosines / n,
            noise == 0 ? 200 : 10 * Math.Log10(signal / noise), n);
    }

    /// <summary>
    /// Scores a CTC sequence recognizer (output [N, T, classes], class 0 the blank): each item's greedy decoding (argmax
    /// per step, repeats merged, blanks dropped). Top1 = share of items whose INT8 decoding is the expected text
    /// (<paramref name="expected"/> indexes the classes with <paramref name="vocabulary"/>: class k is vocabulary[k - 1]);
    /// Top1Agreement = share of items decoded exactly as FP32 decodes them; Cosine and SqnrDb over the step scores.
    /// <paramref name="fp32Accuracy"/> gets FP32's share of expected texts.
    /// </summary>
    public static HeldOutScore ScoreSequences(string fp32, string int8, IDataset data, string[] vocabulary, string[] expected, out double fp32Accuracy, int threads = 1)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(expected);
        using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, threads);
        using var a = OrtSessions.Create(File.ReadAllBytes(fp32), options, fp32);
        using var b = OrtSessions.Create(File.ReadAllBytes(int8), options, int8);
        string name = a.OutputMetadata.First(kv => FloatOutputs.IsFloat(kv.Value)).Key;
        var binderA = ModelInputBinder.Bind(a, data, fp32);
        var binderB = ModelInputBinder.Bind(b, data, int8);
        using var run = new RunOptions();
        double signal = 0, noise = 0, cosines = 0;
        int correct = 0, fpCorrect = 0, agree = 0;
        for (int i = 0; i < data.Count; i++)
        {
            var item = new[] { data.Get(i) };
            var f = Output(a, binderA, run, item, name, out var shape);
            var q = Output(b, binderB, run, item, name, out _);
            cosines += Compare(f, q, ref signal, ref noise);
            int classes = checked((int)shape[^1]);
            string textF = Decode(f, classes, vocabulary), textQ = Decode(q, classes, vocabulary);
            if (textQ == textF) agree++;
            if (textQ == expected[i]) correct++;
            if (textF == expected[i]) fpCorrect++;
        }
        int n = data.Count;
        fp32Accuracy = (double)fpCorrect / n;
        return new HeldOutScore((double)correct / n, (double)agree / n, cosines / n, noise == 0 ? 200 : 10 * Math.Log10(signal / noise), n);
    }

    /// <summary>Adds Σf² and Σ(q - f)² to <paramref name="signal"/> and <paramref name="noise"/>; returns the cosine of f and q.</summary>
    private static double Compare(float[] f, float[] q, ref double signal, ref double noise)
    {
        double dot = 0, ff = 0, qq = 0;
        for (int k = 0; k < f.Length; k++)
        {
            signal += (double)f[k] * f[k];
            noise += ((double)q[k] - f[k]) * ((double)q[k] - f[k]);
            dot += (double)f[k] * q[k]; ff += (double)f[k] * f[k]; qq += (double)q[k] * q[k];
        }
        return ff == 0 || qq == 0 ? 0 : dot / Math.Sqrt(ff * qq);
    }

    private static string Decode(float[] scores, int classes, string[] vocabulary)
    {
        var text = new System.Text.StringBuilder();
        int previous = 0;
        for (int t = 0; t < scores.Length / classes; t++)
        {
            int best = ArgMax(scores.AsSpan(t * classes, classes));
            if (best != 0 && best != previous && best - 1 < vocabulary.Length) text.Append(vocabulary[best - 1]);
            previous = best;
        }
        return text.ToString();
    }

    /// <summary>Top-1 accuracy of a float model against the items' labels (null without labels).</summary>
    public static double? LabelAccuracy(string model, IDataset data, int threads = 1)
    {
        using var options = OrtSessions.Options(GraphOptimizationLevel.ORT_ENABLE_ALL, threads);
        using var session = OrtSessions.Create(File.ReadAllBytes(model), options, model);
        string name = session.OutputMetadata.First(kv => FloatOutputs.IsFloat(kv.Value)).Key;
        var binder = ModelInputBinder.Bind(session, data, model);
        using var run = new RunOptions();
        int correct = 0;
        for (int i = 0; i < data.Count; i++)
        {
            var item = new[] { data.Get(i) };
            if (item[0].Annotation is not long label) return null;
            if (ArgMax(Output(session, binder, run, item, name, out _)) == label) correct++;
        }
        return (double)correct / data.Count;
    }

    private static float[] Output(InferenceSession session, ModelInputBinder binder, RunOptions run, DataItem[] item, string name, out long[] shape)
    {
        var values = binder.Bind(item);
        try
        {
            using var results = session.Run(run, binder.ModelInputs, values, new[] { name });
            shape = results[0].GetTensorTypeAndShape().Shape;
            return FloatOutputs.ToArray(results[0]);
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    private static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }
}
