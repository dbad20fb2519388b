using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Runtime;

/// <summary>
/// Data items to feed every timed model (stacked into one batch), bound to inputs as calibration binds them, and the
/// models' names in order for errors (a model ONNX Runtime refuses is ModelNotLoadable naming it; null: "timed model").
/// </summary>
public sealed record ModelInput(IDataset Data, IReadOnlyList<DataItem> Items, IReadOnlyList<string>? Sources = null);

/// <summary>Times ONNX models side by side. The real one is <see cref="OrtModelTimer"/>; tests give fakes (no timing in tests).</summary>
public interface IModelTimer
{
    /// <summary>
    /// Runs <paramref name="models"/> interleaved (round-robin, alternating direction) after a warm-up and returns the
    /// timing of each, in order. <paramref name="input"/> null: each model gets deterministic synthetic inputs of its
    /// declared (fixed) shapes. Stops after <paramref name="budget"/> of timed rounds (with at least a few rounds), or
    /// with <paramref name="untilDecided"/> once more rounds would not change which model is fastest
    /// (<see cref="InterleavedRounds.Decided"/>).
    /// </summary>
    IReadOnlyList<Timing> Time(IReadOnlyList<byte[]> models, ModelInput? input, TimeSpan budget, CancellationToken cancellationToken, bool untilDecided = false);
}
