using System.Collections.Immutable;
using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// A quantization of the model the search can build: which DefaultQuantization settings (the base preset, the mixed
/// preset, tuned settings) and which builder realises them.
/// </summary>
internal sealed record QuantizationSource(string Tag, DefaultQuantizationOptions Options, IQuantizedModelBuilder Builder, string? TunedSettings = null);

/// <summary>
/// A candidate model: a source plus the layers it reverts, float unless they are in <see cref="Dynamic"/> (INT8 weights
/// with activations quantized at run time; restore_mode only_activations, see <see cref="DynamicPass"/>). Equal
/// candidates build equal bytes.
/// </summary>
internal sealed record ModelCandidate(QuantizationSource Source, ImmutableSortedSet<string> Reverted)
{
    public static ModelCandidate FullyQuantized(QuantizationSource source) => new(source, ImmutableSortedSet.Create<string>(StringComparer.Ordinal));

    /// <summary>Reverted layers that run in their dynamic form instead of float.</summary>
    public ImmutableSortedSet<string> Dynamic { get; init; } = ImmutableSortedSet.Create<string>(StringComparer.Ordinal);

    /// <summary>Reverted layers that run in float.</summary>
    public int FloatCount => Reverted.Count - Dynamic.Count;

    public ModelCandidate With(string layer) => this with { Reverted = Reverted.Add(layer) };

    public ModelCandidate Without(string layer) => this with { Reverted = Reverted.Remove(layer), Dynamic = Dynamic.Remove(layer) };

    /// <summary>This model with the reverted <paramref name="layer"/> in its dynamic form.</summary>
    public ModelCandidate WithDynamic(string layer) => this with { Dynamic = Dynamic.Add(layer) };

    /// <summary>Identifies the model for caching evaluations.</summary>
    public string Key => Source.Tag + "|" + string.Join("\u001f", Reverted) + (Dynamic.Count == 0 ? "" : "|dynamic|" + string.Join("\u001f", Dynamic));

    public ModelProto Build() => Source.Builder.Build(Reverted, Dynamic);

    public byte[] BuildBytes() => Build().ToByteArray();
}
