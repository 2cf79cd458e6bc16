using System.Reflection;
using Microsoft.ML.OnnxRuntime;

namespace MSaaS.Separation.Onnx;

/// <summary>
/// The process's ONNX Runtime: its one environment (its own log silenced: every failure reaches the caller as an
/// exception with ONNX Runtime's message, and the command line shows one line), the native build this program
/// carries (<see cref="Flavor"/>), and the CPU memory arena that every session of the process shares.
/// </summary>
public static class OrtRuntime
{
    public const string CudaProvider = "CUDAExecutionProvider";

    private static readonly Lock Gate = new();
    private static bool _arenaRegistered;

    /// <summary>"cpu" or "gpu": the native package this program was built with (-p:OrtFlavor=...).</summary>
    public static string Flavor { get; } =
        typeof(OrtRuntime).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "OrtFlavor")?.Value ?? "cpu";

    /// <summary>The environment, created at first use; ONNX Runtime wants one per process, kept for its lifetime.</summary>
    public static OrtEnv Environment
    {
        get
        {
            lock (Gate)
            {
                if (!OrtEnv.IsCreated)
                {
                    var options = new EnvironmentCreationOptions { logId = "msaas", logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
                    return OrtEnv.CreateInstanceWithOptions(ref options);
                }
                return OrtEnv.Instance();
            }
        }
    }

    /// <summary>The runtime's own version string, e.g. "1.31.0".</summary>
    public static string Version => Environment.GetVersionString();

    /// <summary>The execution providers compiled into the native library, e.g. CPUExecutionProvider.</summary>
    public static IReadOnlyList<string> AvailableProviders => Environment.GetAvailableProviders();

    /// <summary>
    /// Registers one CPU arena on the environment, once per process; sessions opened with
    /// <c>session.use_env_allocators</c> then allocate from it instead of an arena of their own.
    /// </summary>
    public static void EnsureSharedCpuArena()
    {
        lock (Gate)
        {
            if (_arenaRegistered) return;
            using var memory = new OrtMemoryInfo(OrtMemoryInfo.allocatorCPU, OrtAllocatorType.ArenaAllocator, 0, OrtMemType.Default);
            // Defaults (grow by powers of two, no limit): measured the lowest peak for htdemucs (docs/benchmarks.md).
            using var config = new OrtArenaCfg(0, -1, -1, -1);
            Environment.CreateAndRegisterAllocator(memory, config);
            _arenaRegistered = true;
        }
    }
}
