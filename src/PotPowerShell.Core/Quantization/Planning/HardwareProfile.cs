using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using PotPowerShell.Core.Config;

namespace PotPowerShell.Core.Quantization;

/// <summary>
/// What the CPU offers for INT8 inference and which <see cref="QuantizationTypes"/> suit it:
/// <list type="bullet">
/// <item>x86 with VNNI (AVX-VNNI or AVX512-VNNI): U8S8. VPDPBUSD accumulates u8 x s8 in int32 without saturation.</item>
/// <item>x86 without VNNI: U8S7. MLAS multiplies u8 x s8 pairs with VPMADDUBSW, whose int16 sums saturate with 8-bit
/// weights; 7-bit weights cannot saturate. (S8 activations are never chosen on x86: ORT does not fuse them there.)</item>
/// <item>ARM64: S8S8 (SDOT/I8MM kernels).</item>
/// </list>
/// </summary>
public sealed record HardwareProfile
{
    /// <summary>"X64", "Arm64", ... (RuntimeInformation.ProcessArchitecture).</summary>
    public required string Architecture { get; init; }
    /// <summary>Detected instruction-set features relevant to INT8, e.g. AVX2, AVX512F, AVX512BW, AVX-VNNI, AVX512-VNNI, AdvSimd, Dp.</summary>
    public required IReadOnlyList<string> Features { get; init; }
    /// <summary>The types Auto resolves to on this CPU.</summary>
    public required QuantizationTypes RecommendedTypes { get; init; }
    /// <summary>Why <see cref="RecommendedTypes"/> was chosen, in one sentence.</summary>
    public required string Reason { get; init; }

    public bool HasVnni => Features.Contains("AVX-VNNI") || Features.Contains("AVX512-VNNI");

    private static readonly Lazy<HardwareProfile> CurrentLazy = new(Detect);

    /// <summary>The profile of the machine this process runs on (detected once).</summary>
    public static HardwareProfile Current => CurrentLazy.Value;

    /// <summary>
    /// The concrete types to emit: <paramref name="requested"/> when it is not Auto (with the reason saying it was
    /// requested), otherwise this CPU's recommendation.
    /// </summary>
    public (QuantizationTypes Types, string Reason) Resolve(QuantizationTypes requested) =>
        requested == QuantizationTypes.Auto
            ? (RecommendedTypes, Reason)
            : (requested, $"{requested} was requested explicitly (this CPU would get {RecommendedTypes}: {Reason})");

    /// <summary>Builds a profile from an architecture and a feature list (used by <see cref="Current"/> and by tests).</summary>
    public static HardwareProfile FromFeatures(Architecture architecture, IReadOnlyList<string> features)
    {
        bool vnni = features.Contains("AVX-VNNI") || features.Contains("AVX512-VNNI");
        var (types, reason) = architecture switch
        {
            System.Runtime.InteropServices.Architecture.X64 or System.Runtime.InteropServices.Architecture.X86 when vnni =>
                (QuantizationTypes.U8S8, "x86 CPU with VNNI: uint8 activations with full 8-bit int8 weights run without saturation"),
            System.Runtime.InteropServices.Architecture.X64 or System.Runtime.InteropServices.Architecture.X86 =>
                (QuantizationTypes.U8S7, "x86 CPU without VNNI: 7-bit weights avoid the int16 saturation of VPMADDUBSW in u8 x s8 kernels"),
            System.Runtime.InteropServices.Architecture.Arm64 or System.Runtime.InteropServices.Architecture.Arm =>
                (QuantizationTypes.S8S8, "ARM CPU: ONNX Runtime fuses int8 activations with int8 weights (SDOT kernels)"),
            _ => (QuantizationTypes.U8S7, $"unrecognized architecture {architecture}: the conservative uint8 activations with 7-bit weights"),
        };
        return new HardwareProfile { Architecture = architecture.ToString(), Features = features, RecommendedTypes = types, Reason = reason };
    }

    private static HardwareProfile Detect()
    {
        var arch = RuntimeInformation.ProcessArchitecture;
        var features = new List<string>();
        if (arch is System.Runtime.InteropServices.Architecture.X64 or System.Runtime.InteropServices.Architecture.X86)
        {
            if (Sse41.IsSupported) features.Add("SSE4.1");
            if (Avx2.IsSupported) features.Add("AVX2");
            if (Avx512F.IsSupported) features.Add("AVX512F");
            if (Avx512BW.IsSupported) features.Add("AVX512BW");
            if (HasAvxVnni()) features.Add("AVX-VNNI");
            if (HasAvx512Vnni()) features.Add("AVX512-VNNI");
        }
        else if (arch == System.Runtime.InteropServices.Architecture.Arm64)
        {
            if (AdvSimd.IsSupported) features.Add("AdvSimd");
            if (Dp.IsSupported) features.Add("Dp");
        }
        return FromFeatures(arch, features);
    }

    // AvxVnni.IsSupported is a preview API on net8.0 (CA2252), so read the bit ourselves: CPUID leaf 7, sub-leaf 1,
    // EAX bit 4 = AVX-VNNI (VEX-encoded VPDPBUSD). It needs the OS to save YMM state, which Avx2.IsSupported checks.
    private static bool HasAvxVnni()
    {
        if (!X86Base.IsSupported || !Avx2.IsSupported) return false;
        var (maxLeaf, _, _, _) = X86Base.CpuId(0, 0);
        if (maxLeaf < 7) return false;
        var (eax, _, _, _) = X86Base.CpuId(7, 1);
        return (eax & (1 << 4)) != 0;
    }

    // CPUID leaf 7, sub-leaf 0: ECX bit 11 = AVX512_VNNI. Only meaningful when the OS enabled AVX-512 state,
    // which Avx512F.IsSupported already checks.
    private static bool HasAvx512Vnni()
    {
        if (!X86Base.IsSupported || !Avx512F.IsSupported) return false;
        var (_, _, ecx, _) = X86Base.CpuId(7, 0);
        return (ecx & (1 << 11)) != 0;
    }
}
