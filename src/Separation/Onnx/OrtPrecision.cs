using System.Diagnostics.CodeAnalysis;

namespace MSaaS.Separation.Onnx;

/// <summary>The arithmetic the model's weight matrix products run in.</summary>
public enum OrtPrecision
{
    /// <summary>The model as it is: every weight float32.</summary>
    Fp32,

    /// <summary>
    /// Weight matrix products (MatMul and Gemm with a constant weight) on int8 weights quantized at prepare time and
    /// activations quantized at run time (<see cref="OnnxWeightQuantizer"/>); Conv and the rest stay float32. CPU only.
    /// </summary>
    [SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "int8 is the precision's name, as --precision and Separation:Precision take it")]
    Int8,
}

/// <summary>
/// Whether this CPU has the int8 dot-product instructions (x86 VNNI: AVX-VNNI or AVX512-VNNI) that ONNX Runtime's
/// u8 x s8 kernels use for int8, which is where int8 was measured to cost nothing. Without them, on x86, the AVX2
/// kernel adds pairs of products in 16 bits with saturation, which full-range int8 weights can reach; on Arm int8 has
/// not been measured. So the CPU default is int8 only where this is true.
/// </summary>
public static class Int8Hardware
{
    private static readonly Lazy<bool> Detected = new(() => HasVnni(System.Runtime.Intrinsics.X86.AvxVnni.IsSupported, ReadCpuInfo()));

    /// <summary>Whether this machine's CPU has VNNI (read once).</summary>
    public static bool HasDotProduct => Detected.Value;

    /// <summary>
    /// VNNI: .NET reports AVX-VNNI; AVX512-VNNI (Cascade Lake, Ice Lake and Zen 4 have only that one) is read from the
    /// kernel's CPU flags, when there are any.
    /// </summary>
    internal static bool HasVnni(bool avxVnni, string? cpuInfo) =>
        avxVnni || (cpuInfo ?? "").Split('\n').Any(line => line.StartsWith("flags", StringComparison.Ordinal) &&
            line.Split([' ', '\t', ':'], StringSplitOptions.RemoveEmptyEntries).Contains("avx512_vnni", StringComparer.Ordinal));

    private static string? ReadCpuInfo()
    {
        try
        {
            return File.Exists("/proc/cpuinfo") ? File.ReadAllText("/proc/cpuinfo") : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
