using PotPowerShell.Core.Config;
using System.Runtime.InteropServices;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>Presets as they run on ONNX Runtime: performance is asymmetric where activation zero points cost nothing.</summary>
public class PresetActivationTests
{
    private static readonly HardwareProfile X86 = HardwareProfile.FromFeatures(Architecture.X64, new[] { "AVX2" });
    private static readonly HardwareProfile Arm = HardwareProfile.FromFeatures(Architecture.Arm64, new[] { "AdvSimd", "Dp" });

    [Theory]
    [InlineData(TargetDevice.Any)]
    [InlineData(TargetDevice.Cpu)]
    public void Performance_on_cpu_targets_uses_asymmetric_activations_and_says_why(TargetDevice device)
    {
        foreach (var hardware in new[] { X86, Arm })
        {
            var r = PresetResolution.Resolve(new DefaultQuantizationOptions { TargetDevice = device }, hardware);
            Assert.Equal(QuantizationPreset.Performance, r.Effective);
            Assert.True(r.SymmetricWeights);
            Assert.False(r.SymmetricActivations);
            Assert.Contains("zero point", r.ActivationsReason);
        }
    }

    [Theory]
    [InlineData(TargetDevice.Gpu)]
    [InlineData(TargetDevice.Npu)]
    public void Performance_keeps_symmetric_activations_where_the_device_needs_them(TargetDevice device)
    {
        var r = PresetResolution.Resolve(new DefaultQuantizationOptions { TargetDevice = device }, X86);
        Assert.True(r.SymmetricActivations);
        Assert.Contains(device.ToString().ToUpperInvariant(), r.ActivationsReason);
    }

    [Fact]
    public void Activations_mode_from_the_config_always_wins()
    {
        var symmetric = PresetResolution.Resolve(new DefaultQuantizationOptions { SymmetricActivations = true }, X86);
        Assert.True(symmetric.SymmetricActivations);
        Assert.Contains("requested explicitly", symmetric.ActivationsReason);
        var asymmetricOnNpu = PresetResolution.Resolve(new DefaultQuantizationOptions { TargetDevice = TargetDevice.Npu, SymmetricActivations = false }, X86);
        Assert.False(asymmetricOnNpu.SymmetricActivations);
        var mixed = PresetResolution.Resolve(new DefaultQuantizationOptions { Preset = QuantizationPreset.Mixed, TargetDevice = TargetDevice.Gpu }, X86);
        Assert.False(mixed.SymmetricActivations);
    }
}
