using System.Runtime.CompilerServices;
namespace PotPowerShell.Core.Calibration;

/// <summary>
/// Per-channel mean of a tensor over every item and every other axis (what bias correction compares). Holds one
/// double per channel; the shape of one item is kept so that bias correction can build a blob of the same shape.
/// </summary>
public sealed class ChannelMeanStatistic
{
    private double[] _sums = Array.Empty<double>();
    private long _perChannel;
    private float[] _rows = Array.Empty<float>();

    /// <param name="axis">The channel axis; negative counts from the end (-1 = last).</param>
    public ChannelMeanStatistic(int axis) => Axis = axis;

    public int Axis { get; }

    /// <summary>Shape of one item (leading batch dimension divided by the items of the batch).</summary>
    public long[]? ItemShape { get; private set; }

    public long Items { get; private set; }

    public long StateBytes => (long)_sums.Length * sizeof(double) + (long)_rows.Length * sizeof(float) + 64;

    /// <summary>Adds a batch of <paramref name="items"/> items whose full shape is <paramref name="shape"/>.</summary>
    public void Add(ReadOnlySpan<float> values, long[] shape, int items) => Add(values, shape, items, relu: false);

    /// <summary>Adds max(x, 0) of a batch, computed on the fly (the same sums as adding the Relu'd batch).</summary>
    internal void AddRelu(ReadOnlySpan<float> values, long[] shape, int items) => Add(values, shape, items, relu: true);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Add(ReadOnlySpan<float> values, long[] shape, int items, bool relu)
    {
        if (shape.Length == 0) return;
        int axis = Axis < 0 ? shape.Length + Axis : Axis;
        if (axis < 0 || axis >= shape.Length) return;
        int channels = checked((int)shape[axis]);
        long inner = 1;
        for (int d = axis + 1; d < shape.Length; d++) inner *= shape[d];
        long outer = 1;
        for (int d = 0; d < axis; d++) outer *= shape[d];
        if (_sums.Length == 0) _sums = new double[channels];
        else if (_sums.Length != channels) return; // a differently shaped item: its channels do not line up
        if (ItemShape == null)
        {
            var itemShape = (long[])shape.Clone();
            if (items > 0 && itemShape[0] % items == 0) itemShape[0] /= items;
            ItemShape = itemShape;
        }
        int innerLength = checked((int)inner);
        if (innerLength == 1)
        {
            // Channels on the last axis (Gemm, MatMul): add whole rows at once instead of one value at a time. The float
            // row sums go into the double totals after every item, so a batch adds exactly what its items would alone.
            long rowsPerItem = items > 0 && outer % items == 0 ? outer / items : outer;
            if (rowsPerItem == 1)
            {
                // One row per item (Gemm): its float sum would be the row itself.
                for (long o = 0; o < outer; o++)
                {
                    var row = values.Slice(checked((int)(o * channels)), channels);
                    if (relu) SpanMath.ReluAddTo(_sums.AsSpan(), row);
                    else SpanMath.AddTo(_sums.AsSpan(), row);
                }
                _perChannel += outer;
                Items += items;
                return;
            }
            if (_rows.Length != channels) _rows = new float[channels];
            for (long o = 0; o < outer; o++)
            {
                var row = values.Slice(checked((int)(o * channels)), channels);
                if (relu) SpanMath.ReluAddTo(_rows, row);
                else SpanMath.AddTo(_rows, row);
                if ((o + 1) % rowsPerItem == 0 || o == outer - 1) Flush();
            }
        }
        else
        {
            for (long o = 0; o < outer; o++)
                for (int c = 0; c < channels; c++)
                {
                    var block = values.Slice(checked((int)((o * channels + c) * inner)), innerLength);
                    _sums[c] += relu ? SpanMath.ReluSum(block) : SpanMath.Sum(block);
                }
        }
        _perChannel += outer * inner;
        Items += items;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Flush()
    {
        SpanMath.AddTo(_sums.AsSpan(), _rows);
        Array.Clear(_rows);
    }

    /// <summary>Mean per channel (empty when nothing was added).</summary>
    public float[] Means => _perChannel == 0 ? Array.Empty<float>() : _sums.Select(s => (float)(s / _perChannel)).ToArray();
}
