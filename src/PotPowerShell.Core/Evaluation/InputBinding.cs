namespace PotPowerShell.Core.Evaluation;

/// <summary>Matches the inputs a data set provides to a model's inputs.</summary>
public static class InputBinding
{
    /// <summary>
    /// Model input name to data input name: by equal names; or, when the model has one input and the data provides
    /// one, those two whatever their names. Anything else is an EngineInputMismatch naming both sides.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Bind(IReadOnlyList<string> dataInputs, IReadOnlyList<string> modelInputs, string dataSource)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        if (modelInputs.Count == 1 && dataInputs.Count == 1)
        {
            map[modelInputs[0]] = dataInputs[0];
            return map;
        }
        var missing = modelInputs.Where(m => !dataInputs.Contains(m)).ToList();
        var extra = dataInputs.Where(d => !modelInputs.Contains(d)).ToList();
        if (missing.Count > 0 || extra.Count > 0)
            throw new PotException("EngineInputMismatch", PotErrorCategory.InvalidData,
                $"The data '{dataSource}' provides {string.Join(", ", dataInputs.Select(d => "'" + d + "'"))} but the model's inputs are {string.Join(", ", modelInputs.Select(m => "'" + m + "'"))}" +
                $"{(missing.Count > 0 ? $"; nothing feeds {string.Join(", ", missing)}" : "")}. Name each .npy file after a model input, or map them in the engine (dataset: inputs: {{model_input: file.npy}}).", dataSource);
        foreach (var m in modelInputs) map[m] = m;
        return map;
    }
}
