using System.Runtime.CompilerServices;

namespace PotPowerShell.Core.Runtime;

/// <summary>The outputs of one inference, converted to float32, with helpers to view one item's row.</summary>
internal sealed class BatchOutputs
{
    public BatchOutputs(string[] names)
    {
        Names = names;
        Data = new float[names.Length][];
        Shapes = new long[names.Length][];
        _lengths = new long[names.Length];
        _rowLengths = new int[names.Length];
        _batchFirst = new bool[names.Length];
        for (int i = 0; i < names.Length; i++) Data[i] = Array.Empty<float>();
    }

    private readonly long[] _lengths;
    private readonly int[] _rowLengths;
    private readonly bool[] _batchFirst;

    /// <summary>Records an output's shape for this batch (after <see cref="Rows"/> is set).</summary>
    public void SetShape(int output, long[] shape)
    {
        Shapes[output] = shape;
        long length = 1;
        foreach (long d in shape) length *= d;
        _lengths[output] = length;
        _batchFirst[output] = Rows == 1 || (shape.Length > 0 && shape[0] == Rows);
        _rowLengths[output] = (int)(Rows == 1 ? length : length / Math.Max(1, Rows));
    }

    public string[] Names { get; }
    /// <summary>Per output: its values (the buffer may be longer than the tensor; see <see cref="Length"/>).</summary>
    public float[][] Data { get; }
    public long[][] Shapes { get; }
    /// <summary>Items in the batch that are real (a fixed-size batch may be padded after them).</summary>
    public int Items { get; set; }
    /// <summary>The batch size the model ran with (rows along the first axis).</summary>
    public int Rows { get; set; }

    public int IndexOf(string name) => Array.IndexOf(Names, name);

    /// <summary>True when the output's first axis is the batch (or the batch holds one row), so each item has its own row.</summary>
    public bool BatchFirst(int output) => _batchFirst[output];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Length(int output) => _lengths[output];

    /// <summary>One item's part of a batch-first output (the whole tensor when the batch holds one row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<float> Row(int output, int row)
    {
        int rowLength = _rowLengths[output];
        return Data[output].AsSpan(Rows == 1 ? 0 : row * rowLength, rowLength);
    }

    /// <summary>
    /// The values of output <paramref name="output"/> that item <paramref name="row"/> sees: its row of a batch-first
    /// output, or the whole of any other output (which every item shares).
    /// </summary>
    public ReadOnlySpan<float> ItemValues(int output, int row) => _batchFirst[output] ? Row(output, row) : Data[output].AsSpan(0, (int)_lengths[output]);

    /// <summary>Shape of one item's row, with a leading 1.</summary>
    public long[] RowShape(int output)
    {
        var shape = Shapes[output];
        if (Rows == 1 && (shape.Length == 0 || shape[0] != 1)) return new long[] { 1 }.Concat(shape).ToArray();
        var row = (long[])shape.Clone();
        row[0] = 1;
        return row;
    }

    /// <summary>Checks that an output consumed per item has the batch as its first axis.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RequireBatchFirst(int output, string usedBy)
    {
        if (_batchFirst[output]) return;
        var shape = Shapes[output];
            throw new PotException("EngineOutputNotBatched", PotErrorCategory.InvalidData,
                $"The output '{Names[output]}' (used by {usedBy}) has shape [{string.Join(",", shape)}], whose first axis is not the batch of {Rows} items. Set batch_size: 1 in the engine (or -BatchSize 1).", Names[output]);
    }
}
