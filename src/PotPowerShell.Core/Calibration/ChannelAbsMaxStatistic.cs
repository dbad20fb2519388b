using System.Runtime.CompilerServices;

namespace PotPowerShell.Core.Calibration;

/// <summary>
/// Per-channel maximum of |x| over every item and every other axis, with the channels on the last axis (the input
/// channels of a MatMul or Gemm): what SmoothQuant's scales are computed from (see Onnx/SmoothQuant.cs). One float per
/// channel; an item whose last axis differs from the first item's is left out, since its channels do not line up.
/// </summary>
public sealed class ChannelAbsMaxStatistic
{
    private float[] _max = Array.Empty<float>();

    public long Items { get; private set; }

    public long StateBytes => (long)_max.Length * sizeof(float) + 32;

    /// <summary>Adds a batch of <paramref name="items"/> items whose full shape is <paramref name="shape"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Add(ReadOnlySpan<float> values, long[] shape, int items)
    {
        if (shape.Length == 0 || values.Length == 0) return;
        int channels = checked((int)shape[^1]);
        if (channels == 0 || values.Length % channels != 0) return;
        if (_max.Length == 0) _max = new float[channels];
        else if (_max.Length != channels) return;
        for (int start = 0; start < values.Length; start += channels)
        {
            var row = values.Slice(start, channels);
            for (int c = 0; c < channels; c++)
            {
                float a = Math.Abs(row[c]);
                if (a > _max[c]) _max[c] = a;
            }
        }
        Items += items;
    }

    /// <summary>Max |x| per channel (empty when nothing was added).</summary>
    public float[] Maxima => (float[])_max.Clone();
}
