namespace PotPowerShell.Core.Evaluation;

/// <summary>The outputs of one inference, converted to float32, with helpers to view one item's row.</summary>
internal sealed class BatchOutputs
{
    public BatchOutputs(string[] names)
    {
        Names = names;
        Data = new float[names.Length][];
        Shapes = new long[names.Length][];
        for (int i = 0; i < names.Length; i++) Data[i] = Array.Empty<float>();
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

    public long Length(int output) => Shapes[output].Aggregate(1L, (a, b) => a * b);

    /// <summary>One item's part of a batch-first output (the whole tensor when the batch holds one row).</summary>
    public ReadOnlySpan<float> Row(int output, int row)
    {
        long length = Length(output);
        if (Rows == 1) return Data[output].AsSpan(0, (int)length);
        int rowLength = (int)(length / Rows);
        return Data[output].AsSpan(row * rowLength, rowLength);
    }

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
    public void RequireBatchFirst(int output, string usedBy)
    {
        if (Rows == 1) return;
        var shape = Shapes[output];
        if (shape.Length == 0 || shape[0] != Rows)
            throw new PotException("EngineOutputNotBatched", PotErrorCategory.InvalidData,
                $"The output '{Names[output]}' (used by {usedBy}) has shape [{string.Join(",", shape)}], whose first axis is not the batch of {Rows} items. Set batch_size: 1 in the engine (or -BatchSize 1).", Names[output]);
    }
}
