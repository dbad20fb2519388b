using DataType = Onnx.TensorProto.Types.DataType;

using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Quantization;

/// <summary>A scale and zero point of one quantizer (or one channel of a per-axis quantizer).</summary>
public readonly record struct QuantParameters(float Scale, int ZeroPoint);

/// <summary>Per-channel (or per-tensor when <see cref="Axis"/> is -1) weight quantization parameters.</summary>
/// <param name="Axis">The channel axis of the weight tensor, or -1 for one scale for the whole tensor.</param>
public sealed record WeightParameters(int Axis, float[] Scales, int[] ZeroPoints);

/// <summary>
/// Scale and zero point from ranges, as ORT's quantizer computes them (compute_scale_zp): the range always includes
/// 0; scale = (rmax - rmin) / (qmax - qmin) in float64, stored as float32; symmetric zp = the middle of the range
/// (0 for int8, 128 for uint8); asymmetric zp = round(qmin - rmin / scale). Unlike ORT, degenerate and non-finite
/// ranges never give a NaN, infinite or zero scale: NaN bounds count as 0, infinite ones as ±float.MaxValue, and a
/// scale below float32's smallest normal becomes 1 (all codes then sit on the zero point, which is exact for the
/// all-zero data such a range describes).
/// </summary>
public static class QuantParams
{
    /// <summary>The smallest normal float32 (numpy's finfo(float32).tiny); scales below it are treated as degenerate.</summary>
    public const float MinNormal = 1.17549435E-38f;

    /// <summary>Element type of activations for the given (concrete) types.</summary>
    public static DataType ActivationType(QuantizationTypes types) =>
        Concrete(types) == QuantizationTypes.S8S8 ? DataType.Int8 : DataType.Uint8;

    /// <summary>Activation code range: uint8 [0,255]; int8 [-128,127], or [-127,127] when symmetric (as ORT).</summary>
    public static IntRange ActivationRange(QuantizationTypes types, bool symmetric) =>
        ActivationType(types) == DataType.Uint8 ? IntRange.UInt8 : symmetric ? new IntRange(-127, 127) : IntRange.Int8;

    /// <summary>
    /// Weight code range (weights are always int8): symmetric = narrow [-127,127] ([-63,63] for 7-bit U8S7);
    /// asymmetric = [-128,127] ([-64,63] for U8S7).
    /// </summary>
    public static IntRange WeightRange(QuantizationTypes types, bool symmetric) => (Concrete(types), symmetric) switch
    {
        (QuantizationTypes.U8S7, true) => new IntRange(-63, 63),
        (QuantizationTypes.U8S7, false) => new IntRange(-64, 63),
        (_, true) => new IntRange(-127, 127),
        _ => IntRange.Int8,
    };

    private static QuantizationTypes Concrete(QuantizationTypes types) =>
        types == QuantizationTypes.Auto
            ? throw new ArgumentException("Quantization types must be concrete here; resolve Auto with HardwareProfile first.", nameof(types))
            : types;

    /// <summary>
    /// Activation parameters. Symmetric activations use zp = the middle of the range, except for a non-negative
    /// range (e.g. after Relu), which uses the whole range from 0 with zp = qmin, as POT's unsigned symmetric
    /// quantizer does; that zp also lets ORT absorb a Relu/Clip into the producing kernel.
    /// </summary>
    public static QuantParameters ForActivation(float min, float max, QuantizationTypes types, bool symmetric)
    {
        var range = ActivationRange(types, symmetric);
        var (rmin, rmax) = Sanitize(min, max);
        if (symmetric && rmin >= 0)
            return FromRange(0, rmax, range.Min == -127 ? IntRange.Int8 : range, symmetric: false);
        return FromRange(rmin, rmax, range, symmetric);
    }

    /// <summary>Scale and zero point for a real range and an integer range.</summary>
    public static QuantParameters FromRange(double min, double max, IntRange range, bool symmetric)
    {
        var (rmin, rmax) = Sanitize(min, max);
        rmin = Math.Min(rmin, 0);
        rmax = Math.Max(rmax, 0);
        double scale64;
        if (symmetric)
        {
            double absMax = Math.Max(Math.Abs(rmin), Math.Abs(rmax));
            scale64 = 2 * absMax / range.Levels;
        }
        else
        {
            scale64 = (rmax - rmin) / range.Levels;
        }
        float scale = SafeScale(scale64);
        int zp = symmetric
            ? (int)Math.Round((range.Min + range.Max) / 2.0, MidpointRounding.ToEven)
            : (int)Math.Clamp(Math.Round(range.Min - rmin / scale, MidpointRounding.ToEven), range.Min, range.Max);
        return new QuantParameters(scale, zp);
    }

    /// <summary>
    /// Weight parameters per channel along <paramref name="axis"/> (or per tensor when axis is -1). Symmetric weights
    /// have zp 0 in every channel (CPU QLinearConv needs one zp for all channels, and zp 0 enables its fast path).
    /// </summary>
    /// <param name="outlierProbability">
    /// Null: each channel's range is its minimum and maximum (POT's default weight estimators). Otherwise POT's quantile
    /// estimators: the (1 - p) quantile of |w| for symmetric weights, the p and 1 - p quantiles of w for asymmetric ones
    /// (NumPy's linear interpolation); weights beyond are clipped.
    /// </param>
    public static WeightParameters ForWeights(ReadOnlySpan<float> values, ReadOnlySpan<long> dims, int axis, IntRange range, bool symmetric,
        double? outlierProbability = null)
    {
        long channels = 1, inner = values.Length;
        if (axis >= 0) (channels, inner) = QuantMath.AxisLayout(dims, axis, values.Length);
        var mins = new double[channels];
        var maxs = new double[channels];
        if (outlierProbability is double p)
            WeightQuantiles(values, channels, inner, axis < 0, symmetric, p, mins, maxs);
        else
        {
            var cursor = new QuantMath.ChannelCursor(channels, inner);
            for (int i = 0; i < values.Length; i++, cursor.Next())
            {
                int c = cursor.Channel;
                double v = values[i];
                if (double.IsNaN(v)) continue;
                if (v < mins[c]) mins[c] = v;
                if (v > maxs[c]) maxs[c] = v;
            }
        }
        var scales = new float[channels];
        var zps = new int[channels];
        for (long c = 0; c < channels; c++)
        {
            var q = FromRange(mins[c], maxs[c], range, symmetric);
            if (symmetric) q = q with { ZeroPoint = 0 };
            scales[c] = q.Scale;
            zps[c] = q.ZeroPoint;
        }
        return new WeightParameters(axis, scales, zps);
    }

    /// <summary>Per-channel quantile ranges (0 always inside, as with min/max). NaN weights are left out.</summary>
    private static void WeightQuantiles(ReadOnlySpan<float> values, long channels, long inner, bool perTensor, bool symmetric, double p,
        double[] mins, double[] maxs)
    {
        for (long c = 0; c < channels; c++)
        {
            var channel = new List<double>();
            if (perTensor)
                foreach (float v in values) { if (!float.IsNaN(v)) channel.Add(symmetric ? Math.Abs(v) : v); }
            else
                for (long o = 0; o < values.Length / (channels * inner); o++)
                    for (long k = 0; k < inner; k++)
                    {
                        float v = values[(int)((o * channels + c) * inner + k)];
                        if (!float.IsNaN(v)) channel.Add(symmetric ? Math.Abs(v) : v);
                    }
            if (channel.Count == 0) continue;
            channel.Sort();
            if (symmetric)
            {
                maxs[c] = Quantile(channel, 1 - p);
                mins[c] = -maxs[c];
            }
            else
            {
                mins[c] = Math.Min(0, Quantile(channel, p));
                maxs[c] = Math.Max(0, Quantile(channel, 1 - p));
            }
        }
    }

    /// <summary>NumPy's default (linear) quantile of sorted values.</summary>
    private static double Quantile(List<double> sorted, double q)
    {
        double position = q * (sorted.Count - 1);
        int low = (int)Math.Floor(position);
        int high = Math.Min(low + 1, sorted.Count - 1);
        return sorted[low] + (position - low) * (sorted[high] - sorted[low]);
    }

    /// <summary>Quantizes weights with given parameters, clamping to <paramref name="range"/>.</summary>
    public static sbyte[] QuantizeWeights(ReadOnlySpan<float> values, ReadOnlySpan<long> dims, WeightParameters p, IntRange range)
    {
        var q = new sbyte[values.Length];
        if (p.Axis < 0)
        {
            for (int i = 0; i < values.Length; i++) q[i] = (sbyte)QuantMath.Quantize(values[i], p.Scales[0], p.ZeroPoints[0], range);
            return q;
        }
        var (channels, inner) = QuantMath.AxisLayout(dims, p.Axis, values.Length);
        var cursor = new QuantMath.ChannelCursor(channels, inner);
        for (int i = 0; i < values.Length; i++, cursor.Next())
            q[i] = (sbyte)QuantMath.Quantize(values[i], p.Scales[cursor.Channel], p.ZeroPoints[cursor.Channel], range);
        return q;
    }

    /// <summary>
    /// The int32 bias scale for each output channel (input scale x weight scale of that channel, a float32 product as
    /// ORT computes it) and the bias codes round(bias / scale) (float64, half to even, clamped to int32).
    /// <paramref name="weightChannelOf"/> maps an output channel to its weight-scale index.
    /// </summary>
    public static (int[] Codes, float[] Scales) QuantizeBias(ReadOnlySpan<float> bias, float inputScale, float[] weightScales, Func<int, int> weightChannelOf)
    {
        var codes = new int[bias.Length];
        var scales = new float[bias.Length];
        for (int c = 0; c < bias.Length; c++)
        {
            float s = inputScale * weightScales[weightChannelOf(c)];
            scales[c] = s;
            double q = Math.Round(bias[c] / (double)s, MidpointRounding.ToEven);
            codes[c] = double.IsNaN(q) ? 0 : (int)Math.Clamp(q, int.MinValue, int.MaxValue);
        }
        return (codes, scales);
    }

    /// <summary>
    /// The bias overflow remedy: where input scale x weight scale is so small that the int32 bias code would overflow
    /// (or the bias scale would underflow float32), enlarge that weight channel's scale until the bias fits with a
    /// small margin, as newer ORT quantizers do. Returns new parameters (zero points recomputed for asymmetric weights)
    /// and whether anything changed.
    /// </summary>
    public static (WeightParameters Params, bool Changed) AdjustForInt32Bias(WeightParameters p, ReadOnlySpan<float> bias,
        float inputScale, Func<int, int> weightChannelOf, ReadOnlySpan<float> weights, ReadOnlySpan<long> dims, IntRange range, bool symmetric)
    {
        // Largest |bias| per weight channel.
        var need = new double[p.Scales.Length];
        for (int c = 0; c < bias.Length; c++)
        {
            double b = double.IsNaN(bias[c]) ? 0 : Math.Min(Math.Abs((double)bias[c]), float.MaxValue);
            int w = weightChannelOf(c);
            need[w] = Math.Max(need[w], b);
        }
        const double margin = 1.0001;
        var scales = (float[])p.Scales.Clone();
        bool changed = false;
        for (int w = 0; w < scales.Length; w++)
        {
            // Smallest bias scale that keeps |code| below 2^31 - 1, and never below float32's smallest normal.
            double minBiasScale = Math.Max(need[w] * margin / int.MaxValue, MinNormal);
            if ((double)(inputScale * scales[w]) >= minBiasScale && inputScale * scales[w] >= MinNormal) continue;
            float enlarged = SafeScale(minBiasScale / inputScale);
            while (inputScale * enlarged < minBiasScale && float.IsFinite(enlarged)) enlarged = MathF.BitIncrement(enlarged);
            if (enlarged > scales[w]) { scales[w] = enlarged; changed = true; }
        }
        if (!changed) return (p, false);
        var zps = (int[])p.ZeroPoints.Clone();
        if (!symmetric)
        {
            // Keep the channel's own minimum representable: recompute zp for the new scale.
            long channels = 1, inner = weights.Length;
            if (p.Axis >= 0) (channels, inner) = QuantMath.AxisLayout(dims, p.Axis, weights.Length);
            var mins = new double[channels];
            var cursor = new QuantMath.ChannelCursor(channels, inner);
            for (int i = 0; i < weights.Length; i++, cursor.Next())
                if (weights[i] < mins[cursor.Channel]) mins[cursor.Channel] = weights[i];
            for (int w = 0; w < scales.Length; w++)
                zps[w] = (int)Math.Clamp(Math.Round(range.Min - mins[w] / scales[w], MidpointRounding.ToEven), range.Min, range.Max);
        }
        return (p with { Scales = scales, ZeroPoints = zps }, true);
    }

    private static (double Min, double Max) Sanitize(double min, double max)
    {
        static double Clean(double v) => double.IsNaN(v) ? 0 : Math.Clamp(v, float.MinValue, float.MaxValue);
        double a = Clean(min), b = Clean(max);
        return a <= b ? (a, b) : (b, a);
    }

    // float64 scale stored as float32; never 0, subnormal, infinite or NaN.
    private static float SafeScale(double scale64)
    {
        float s = (float)scale64;
        if (float.IsNaN(s) || s < MinNormal) return 1f;
        if (float.IsInfinity(s)) return float.MaxValue;
        return s;
    }
}
