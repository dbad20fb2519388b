namespace PotPowerShell.Core.Data;

/// <summary>
/// The arrays a BERT-style model is fed for one item of token ids (the SQuAD and CoNLL readers' items): by the names
/// Accuracy Checker's features give them, then by the names Hugging Face models give their inputs.
/// </summary>
public static class BertInputs
{
    /// <summary>input_ids, input_mask, segment_ids, position_ids (0, 1, 2 ...), attention_mask (= input_mask), token_type_ids (= segment_ids).</summary>
    public static readonly IReadOnlyList<string> Names = new[] { "input_ids", "input_mask", "segment_ids", "position_ids", "attention_mask", "token_type_ids" };

    /// <summary>The item's arrays as int64 [1, n]; <paramref name="inputs"/> maps model inputs named apart to the array each takes.</summary>
    public static Dictionary<string, TensorData> Arrays(int n, Func<int, long> ids, Func<int, long> mask, Func<int, long> segments, IReadOnlyDictionary<string, string> inputs)
    {
        long[] shape = { 1, n };
        TensorData Array(Func<int, long> value) => new(TensorElementKind.Int64, shape, Enumerable.Range(0, n).Select(value).ToArray());
        var maskArray = Array(mask);
        var segmentArray = Array(segments);
        var arrays = new Dictionary<string, TensorData>(StringComparer.Ordinal)
        {
            ["input_ids"] = Array(ids), ["input_mask"] = maskArray, ["segment_ids"] = segmentArray, ["position_ids"] = Array(i => i),
            ["attention_mask"] = maskArray, ["token_type_ids"] = segmentArray,
        };
        foreach (var (input, array) in inputs) arrays[input] = arrays[array];
        return arrays;
    }
}
