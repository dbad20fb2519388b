using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// POT's preset semantics and what the target device changes:
/// <list type="bullet">
/// <item>performance: symmetric weights and activations; mixed: symmetric weights, asymmetric activations;
/// accuracy: asymmetric both, aliased to mixed on ANY, CPU and GPU as POT does (kept on NPU).</item>
/// <item>Types (unless given): ANY and CPU use what this CPU runs fastest without saturation (HardwareProfile:
/// U8S8 with VNNI, U8S7 without, S8S8 on ARM); GPU uses S8S8, the signed int8 that ONNX Runtime's GPU execution
/// providers (TensorRT, CUDA, DirectML) consume; NPU uses U8S8 (8-bit weights: NPUs do not have the x86 int16
/// saturation that 7-bit weights avoid).</item>
/// </list>
/// With symmetric activations and uint8 codes a tensor that is never negative (after Relu) is quantized over
/// [0, max] with zero point 0, as POT's unsigned symmetric quantizer; a signed tensor gets zero point 128 over
/// [-a, a]. Both are valid for ONNX Runtime's x86 kernels, which take any uint8 zero point for activations, and zero
/// point 0 (= qmin) is what lets ORT absorb a Relu into QLinearConv.
/// </summary>
public sealed record PresetResolution
{
    public required QuantizationPreset Requested { get; init; }
    public required QuantizationPreset Effective { get; init; }
    public required bool SymmetricWeights { get; init; }
    public required bool SymmetricActivations { get; init; }
    public required QuantizationTypes Types { get; init; }
    public required string TypesReason { get; init; }

    public static PresetResolution Resolve(DefaultQuantizationOptions options, HardwareProfile hardware)
    {
        var effective = options.Preset == QuantizationPreset.Accuracy && options.TargetDevice != TargetDevice.Npu
            ? QuantizationPreset.Mixed
            : options.Preset;
        var (symmetricWeights, symmetricActivations) = effective switch
        {
            QuantizationPreset.Performance => (true, true),
            QuantizationPreset.Mixed => (true, false),
            _ => (false, false),
        };
        var (types, reason) = options.Types != QuantizationTypes.Auto
            ? hardware.Resolve(options.Types)
            : options.TargetDevice switch
            {
                TargetDevice.Gpu => (QuantizationTypes.S8S8, "target device GPU: signed int8 activations and weights, as ONNX Runtime's GPU execution providers take them"),
                TargetDevice.Npu => (QuantizationTypes.U8S8, "target device NPU: uint8 activations with full 8-bit int8 weights"),
                _ => hardware.Resolve(QuantizationTypes.Auto),
            };
        return new PresetResolution
        {
            Requested = options.Preset,
            Effective = effective,
            SymmetricWeights = options.SymmetricWeights ?? symmetricWeights,
            SymmetricActivations = options.SymmetricActivations ?? symmetricActivations,
            Types = types,
            TypesReason = reason,
        };
    }
}
