using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// An engine fitted to the model it serves (the fit rule, ARCHITECTURE.md "Errors"): POT's simplified engine over
/// images takes the model input's channels, layout and size (<see cref="SimplifiedImageFit"/>), and a data path
/// (-DataPath) folder of several .npy files of one length is read again for the model: as one item per file when the
/// files are a rank below its one input (or of its rank with a batch axis of 1), as -CalibrationDataPath reads them (<see cref="EngineDefinition.FromDataPath"/>),
/// and one without labels compared with a reference takes its metric from the model's outputs. Any other engine is
/// itself, and the model is not read.
/// </summary>
public static class EngineFit
{
    /// <summary>Whether <see cref="ToModel"/> reads the model for <paramref name="engine"/>: a model it cannot read is an error of that model.</summary>
    public static bool ReadsModel(EngineDefinition engine) => SimplifiedImageFit.ReadsModel(engine) || ModelDecidesItems(engine) || ModelDecidesMetric(engine);

    public static EngineDefinition ToModel(EngineDefinition engine, string modelPath)
    {
        if ((ModelDecidesItems(engine) || ModelDecidesMetric(engine)) && engine.DataPath is { } data)
            engine = EngineDefinition.FromDataPath(data.Path, data.AgainstReference, modelPath);
        return SimplifiedImageFit.ToModel(engine, modelPath);
    }

    /// <summary>
    /// A data path without labels compared with a reference: cosine similarity, or for a model that outputs each item's
    /// class, agreement with the reference's classes (<see cref="EngineDefinition.OutputsClassesOnly"/>).
    /// </summary>
    private static bool ModelDecidesMetric(EngineDefinition engine) =>
        engine.DataPath is { AgainstReference: true } && !engine.HasAnnotations;

    /// <summary>
    /// A data-path folder read as one array per input, with several .npy files besides labels.npy: without the model
    /// they could as well be items of one input (files of one length are not told apart by their first axes).
    /// </summary>
    private static bool ModelDecidesItems(EngineDefinition engine) =>
        engine.DataPath is { } data && Directory.Exists(data.Path) && engine.Datasets.All(d => d.Format == DatasetFormat.Npy)
        && Directory.EnumerateFiles(data.Path, "*.npy").Count(f => Path.GetFileNameWithoutExtension(f) != NpyDataset.LabelsName) > 1;
}
