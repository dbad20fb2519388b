namespace PotPowerShell.Core.Results;

/// <summary>How closely one output of the INT8 model follows the FP32 model on the checked items.</summary>
public sealed record OutputAgreement
{
    public required string Output { get; init; }
    /// <summary>Signal-to-quantization-noise ratio: 10·log10(Σ fp32² / Σ (int8 - fp32)²), capped at <see cref="QuantizationCheck.IdenticalDb"/>.</summary>
    public required double SqnrDb { get; init; }
    /// <summary>Cosine similarity of the INT8 and FP32 values (all checked items together).</summary>
    public required double Cosine { get; init; }
    /// <summary>For class scores (one score vector per item): the share of items whose top-1 class agrees; else null.</summary>
    public double? Top1Agreement { get; init; }
    /// <summary>
    /// Set when <see cref="Output"/> is not a model output but the float tensor that outputs which are not float (an
    /// ArgMax's labels, ZipMap's probabilities, NonMaxSuppression's indices) are computed from: those outputs.
    /// </summary>
    public string? Feeds { get; init; }
}

/// <summary>The SQNR of one INT8 layer's output against FP32 on the checked items (errors of the layers before it included).</summary>
public sealed record LayerAgreement(string Node, double SqnrDb);

/// <summary>
/// The check every DefaultQuantization result makes of itself: the emitted INT8 model and the FP32 model run on a few
/// calibration items and their outputs are compared. Below <see cref="ThresholdDb"/> the result warns and names the
/// layers with the lowest SQNR.
/// </summary>
public sealed record QuantizationCheck
{
    /// <summary>An output SQNR below this many dB (cosine about 0.97) fails the check.</summary>
    public const double DefaultThresholdDb = 12;

    /// <summary>The SQNR reported when the INT8 output equals the FP32 one exactly.</summary>
    public const double IdenticalDb = 200;

    /// <summary>Calibration items both models ran on.</summary>
    public required int Items { get; init; }
    public required double ThresholdDb { get; init; }
    public required IReadOnlyList<OutputAgreement> Outputs { get; init; }
    /// <summary>True when every output's SQNR reaches <see cref="ThresholdDb"/>.</summary>
    public bool Passed => Outputs.All(o => o.SqnrDb >= ThresholdDb);
    /// <summary>The lowest output SQNR.</summary>
    public double SqnrDb => Outputs.Count == 0 ? IdenticalDb : Outputs.Min(o => o.SqnrDb);
    /// <summary>When the check failed: the INT8 layers with the lowest output SQNR, worst first (at most five); else empty.</summary>
    public IReadOnlyList<LayerAgreement> WorstLayers { get; init; } = Array.Empty<LayerAgreement>();

    /// <summary>"passed on 8 items: logits 47.19 dB, cosine 0.999991": how a result's Check reads where only text goes (Export-Csv).</summary>
    public override string ToString()
    {
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        string outputs = string.Join("; ", Outputs.Select(o => string.Create(culture, $"{o.Output}{(o.Feeds != null ? $" (computes {o.Feeds})" : "")} {o.SqnrDb} dB, cosine {o.Cosine}")));
        string worst = WorstLayers.Count == 0 ? "" : "; worst layers " + string.Join(", ", WorstLayers.Select(l => string.Create(culture, $"{l.Node} {l.SqnrDb:0.#} dB")));
        return $"{(Passed ? "passed" : "failed")} on {Items} items: {outputs}{worst}";
    }
}
