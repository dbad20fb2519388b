using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// POT's model_type transformer. POT does two things: it adds Add, Power, Squeeze, Multiply, Subtract, ReduceMean and
/// SquaredDifference to the ignored operations, so that no quantizer is placed on their inputs; and on target devices
/// ANY, CPU and GPU it quantizes the inputs of MatMuls of two activations (attention scores, attention times values)
/// symmetrically whatever the preset says. The first needs nothing here: the emitter never adds a quantizer for an
/// Add, Mul or other non-weighted op; such an op runs INT8 only when its inputs are already quantized for INT8
/// layers and an INT8 layer reads its output. The second is <see cref="QuantizationPlan.SymmetricActivationProducts"/>.
/// </summary>
public static class TransformerModelType
{
    public const string Name = "transformer";

    /// <summary>True when activation-times-activation MatMuls get symmetric input quantizers.</summary>
    public static bool SymmetricProducts(DefaultQuantizationOptions options) =>
        string.Equals(options.ModelType, Name, StringComparison.OrdinalIgnoreCase)
        && options.TargetDevice is TargetDevice.Any or TargetDevice.Cpu or TargetDevice.Gpu;
}
