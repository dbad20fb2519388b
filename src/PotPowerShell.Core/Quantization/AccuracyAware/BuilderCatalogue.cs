using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// Every DefaultQuantization setting a run may quantize with besides its base one, in one place: the mixed preset
/// (convert_to_mixed_preset) and POT's tuning grid (tune_hyperparams) on top of the base or the mixed settings. The
/// pipeline's one calibration pass measures what all of them need (<see cref="All"/>, see
/// <see cref="QuantizedModelBuilder.Variant"/>), and the mixed-preset stage and <see cref="HyperparameterTuner"/> take
/// their settings from here, so calibration never has to predict what they will ask for.
/// </summary>
internal sealed class BuilderCatalogue
{
    private readonly AccuracyAwareOptions _options;

    public BuilderCatalogue(AccuracyAwareOptions options) => _options = options;

    public DefaultQuantizationOptions Base => _options.Quantization;

    /// <summary>convert_to_mixed_preset's settings (asymmetric activations, everything else kept); null when it is off or the base preset is not performance.</summary>
    public DefaultQuantizationOptions? Mixed =>
        _options.ConvertToMixedPreset && AppliesMixed ? Base with { Preset = QuantizationPreset.Mixed, SymmetricActivations = null } : null;

    /// <summary>convert_to_mixed_preset applies to the performance preset (symmetric activations) only.</summary>
    public bool AppliesMixed => Base.Preset == QuantizationPreset.Performance && Base.SymmetricActivations != false;

    /// <summary>
    /// The tuning grid's activation range estimators around <paramref name="source"/>, as POT's (global min/max, mean
    /// of per-sample min/max, quantiles 1e-3 and 1e-4), without the one <paramref name="source"/> already uses.
    /// </summary>
    public IReadOnlyList<DefaultQuantizationOptions> RangeCandidates(DefaultQuantizationOptions source)
    {
        var current = source.ActivationRange;
        var grid = new[]
        {
            current with { Kind = RangeEstimatorKind.MinMax },
            current with { Kind = RangeEstimatorKind.MeanMinMax },
            current with { Kind = RangeEstimatorKind.Quantile, OutlierProbability = 1e-3 },
            current with { Kind = RangeEstimatorKind.Quantile, OutlierProbability = 1e-4 },
        };
        return grid.Where(r => !SameRange(r, current)).Select(r => source with { ActivationRange = r }).ToList();
    }

    /// <summary>The tuning grid's second step: full bias correction for fast, fast for full; null without bias correction.</summary>
    public static DefaultQuantizationOptions? BiasAlternative(DefaultQuantizationOptions source) =>
        source.BiasCorrection ? source with { UseFastBiasCorrection = !source.UseFastBiasCorrection } : null;

    /// <summary>Every setting besides <see cref="Base"/> the run may build: what the calibration pass measures for.</summary>
    public IReadOnlyList<DefaultQuantizationOptions> All
    {
        get
        {
            var result = new List<DefaultQuantizationOptions>();
            var sources = Mixed is { } mixed ? new[] { Base, mixed } : new[] { Base };
            result.AddRange(sources.Skip(1));
            if (_options.TuneHyperparameters)
                foreach (var source in sources)
                    foreach (var tuned in RangeCandidates(source).Prepend(source))
                    {
                        result.Add(tuned);
                        if (BiasAlternative(tuned) is { } other) result.Add(other);
                    }
            return result.Where(o => o != Base).Distinct().ToList();
        }
    }

    private static bool SameRange(RangeEstimatorOptions a, RangeEstimatorOptions b) =>
        a.EffectiveKind == b.EffectiveKind
        && (a.Kind is not (RangeEstimatorKind.Quantile or RangeEstimatorKind.AbsQuantile) || a.OutlierProbability == b.OutlierProbability);
}
