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

/// <summary>A candidate model: a source plus the layers it keeps in float. Equal candidates build equal bytes.</summary>
internal sealed record ModelCandidate(QuantizationSource Source, ImmutableSortedSet<string> Reverted)
{
    public static ModelCandidate FullyQuantized(QuantizationSource source) => new(source, ImmutableSortedSet.Create<string>(StringComparer.Ordinal));

    public ModelCandidate With(string layer) => this with { Reverted = Reverted.Add(layer) };

    public ModelCandidate Without(string layer) => this with { Reverted = Reverted.Remove(layer) };

    /// <summary>Identifies the model for caching evaluations.</summary>
    public string Key => Source.Tag + "|" + string.Join("\u001f", Reverted);

    public ModelProto Build() => Source.Builder.Build(Reverted);

    public byte[] BuildBytes() => Build().ToByteArray();
}
