using Onnx;

namespace PotPowerShell.Core.Quantization.AccuracyAware;

/// <summary>
/// How much error one quantized layer carries, from the instrumented pass (means over the ranking subset of the
/// per-item normalized squared error ||c - r||² / ||r||²).
/// </summary>
/// <param name="Accumulated">Error of the layer's output against the FP32 model: its own error plus what reaches it from upstream.</param>
/// <param name="Local">Error the layer makes on its own: its output against a float copy of the layer fed the same input.</param>
public readonly record struct LayerError(double Accumulated, double Local)
{
    /// <summary>
    /// The OutputError ranking score. Neither part alone predicts well which revert helps the metric most: the local
    /// error ignores where the layer sits, the accumulated error ignores what the layer itself adds. Measured against
    /// the real per-layer metric gains, their sum put the best layer first on each model we tried (the digits sample, a
    /// 2-block transformer stack, a model with one outlier layer); the accumulated error alone missed it on the
    /// outlier model, the local error alone on the transformer, and "output minus input error" on the transformer too.
    /// </summary>
    public double Score => Accumulated + (double.IsNaN(Local) ? 0 : Local);
}

/// <summary>
/// Runs a quantized candidate and the FP32 model on the same items with intermediate tensors exposed: the
/// instrumented pass behind OutputError ranking.
/// </summary>
public interface ILayerOutputProbe
{
    /// <summary>
    /// For each tensor in <paramref name="tensors"/>, the per-item normalized squared error ||c - r||² / ||r||² between
    /// the reference and the candidate model (aligned with <paramref name="items"/>). Tensors missing from either model
    /// are left out of the result.
    /// </summary>
    IReadOnlyDictionary<string, double[]> Compare(byte[] reference, byte[] candidate, IReadOnlyList<string> tensors, IReadOnlyList<int> items, CancellationToken cancellationToken);

    /// <summary>
    /// The <see cref="LayerError"/> of each of <paramref name="layers"/> in <paramref name="candidate"/>, with
    /// <paramref name="reference"/> the serialized <paramref name="floatModel"/>. Layers the candidate does not expose
    /// are left out.
    /// </summary>
    IReadOnlyDictionary<string, LayerError> MeasureLayers(byte[] reference, byte[] candidate, ModelProto floatModel, IReadOnlyList<QuantizableLayer> layers,
        IReadOnlyList<int> items, CancellationToken cancellationToken);

    /// <summary>Items inferred per compared item (2: reference and candidate).</summary>
    int InferencesPerItem => 2;
}
