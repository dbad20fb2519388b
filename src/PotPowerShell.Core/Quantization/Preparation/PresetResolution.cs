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
/// <para>Deviation from POT: on ANY and CPU, performance uses asymmetric activations as mixed does. ONNX Runtime's CPU
/// kernels take a zero point for every activation whatever its value (QLinearConv, QLinearMatMul and QGemm subtract it
/// in the same instructions), so symmetric activations buy no speed there and only waste codes; see
/// <see cref="ActivationsReason"/>. GPU (TensorRT wants zero point 0) and NPU keep POT's symmetric activations, and
/// activations.mode symmetric (<see cref="DefaultQuantizationOptions.SymmetricActivations"/>) is always honoured.</para>
/// </summary>
public sealed record PresetResolution
{
    public required QuantizationPreset Requested { get; init; }
    public required QuantizationPreset Effective { get; init; }
    public required bool SymmetricWeights { get; init; }
    public required bool SymmetricActivations { get; init; }
    public required QuantizationTypes Types { get; init; }
    public required string TypesReason { get; init; }
    /// <summary>Why the activations are symmetric or asymmetric, in one sentence.</summary>
    public required string ActivationsReason { get; init; }

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
        var (activations, activationsReason) = ActivationSymmetry(options, effective, symmetricActivations);
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
            SymmetricActivations = activations,
            Types = types,
            TypesReason = reason,
            ActivationsReason = activationsReason,
        };
    }

    /// <summary>Whether activations are symmetric, and why: the config's mode, else the preset as it runs on the target.</summary>
    private static (bool Symmetric, string Reason) ActivationSymmetry(DefaultQuantizationOptions options, QuantizationPreset effective, bool presetSymmetric)
    {
        if (options.SymmetricActivations is bool given)
            return (given, $"activations.mode {(given ? "symmetric" : "asymmetric")} was requested explicitly");
        string preset = effective.ToString().ToLowerInvariant();
        if (!presetSymmetric) return (false, $"preset {preset}: asymmetric activations");
        return options.TargetDevice switch
        {
            TargetDevice.Gpu or TargetDevice.Npu => (true, $"preset {preset} on target device {options.TargetDevice.ToString().ToUpperInvariant()}: symmetric activations, as the device's integer kernels expect"),
            _ => (false, $"preset {preset} on target device {options.TargetDevice.ToString().ToUpperInvariant()}: asymmetric activations, because ONNX Runtime's CPU kernels take an activation zero point at no cost (symmetric ones would only waste codes); activations.mode symmetric restores POT's symmetric activations"),
        };
    }
}
